"""`make bench`: how close the product listing comes to a trivial Falcon route, through the same
nginx and gunicorn in one run, with the listing's caches off and on; and how a 100k-product
catalogue lists compared with the 50-product one (performance-ceiling.md's ratios).

Alternating wrk rounds (no think time, 200 connections), medians. The stack is one the bench
starts itself (loadtest/stacks.py); absolute req/s move with the machine's load, the ratios
much less. Writes loadtest/results/bench-<UTC time>/bench.json and bench.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from loadtest import reference, stacks, wrk

RESULTS = Path(__file__).resolve().parent / "results"
TRIVIAL, LISTING = "/healthz", "/api/products"


def rounds(stack, paths: dict[str, str], n: int, seconds: float, conns: int, label: str) -> dict:
    """Alternating wrk runs over ``paths``; {name: median req/s} plus every run."""
    runs: dict[str, list[dict]] = {name: [] for name in paths}
    for i in range(n):
        for name, path in paths.items():
            r = wrk.run(stack.shop_url + path, conns, seconds)
            runs[name].append(r)
            print(f"[bench] {label} round {i + 1}/{n} {name}: {r['rps']:.0f} req/s "
                  f"p95 {r['p95_ms']:.1f} ms errors {r['error_rate']:.2%}", flush=True)
    return {"median_rps": {k: statistics.median(r["rps"] for r in v) for k, v in runs.items()},
            "runs": runs}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--connections", type=int, default=200)
    p.add_argument("--large", type=int, default=100_000, help="products in the large catalogue")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--quick", action="store_true", help="1 round of 5 s (pipeline check)")
    a = p.parse_args(argv)
    if a.quick:
        a.rounds, a.seconds = 1, 5
    out = RESULTS / (f"bench-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
                     + ("-quick" if a.quick else ""))
    out.mkdir(parents=True)
    off = stacks.cache_off_env()
    print(f"[bench] caches off = {off}", flush=True)
    res: dict = {"started": time.time(), "args": vars(a), "cache_off_env": off}
    paths = {"trivial": TRIVIAL, "listing": LISTING}
    with stacks.shop("bench", 50, a.workers, a.threads) as stack:
        stack.restart_app(**off)
        res["uncached"] = rounds(stack, paths, a.rounds, a.seconds, a.connections, "uncached")
        stack.restart_app(unset=off)
        res["cached"] = rounds(stack, paths, a.rounds, a.seconds, a.connections, "cached")
        # the large catalogue: the same listing, same stack, before and after seeding
        small = rounds(stack, {"listing": LISTING}, a.rounds, a.seconds, a.connections,
                       "50 products")
        res["seed_seconds"] = stacks.seed(stack, a.large)
        stack.restart_app()  # fresh workers: no count cached from the small catalogue
        wrk.run(stack.shop_url + LISTING, a.connections, min(a.seconds, 5))  # warm-up, not kept
        large = rounds(stack, {"listing": LISTING}, a.rounds, a.seconds, a.connections,
                       f"{a.large} products")
        res["catalogue"] = {"small": small, "large": large}
    u, c = res["uncached"]["median_rps"], res["cached"]["median_rps"]
    res["bench_ratio_uncached"] = u["listing"] / u["trivial"]
    res["bench_ratio_cached"] = c["listing"] / c["trivial"]
    res["large_catalogue_ratio"] = (large["median_rps"]["listing"]
                                    / small["median_rps"]["listing"])
    res["finished"] = time.time()
    (out / "bench.json").write_text(json.dumps(res, indent=2))
    t = reference.TARGETS
    md = [f"# Bench ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(res['started']))})", "",
          f"wrk -t2 -c{a.connections} -d{a.seconds:.0f}s, {a.rounds} alternating rounds, medians; "
          f"{a.workers} gunicorn workers x {a.threads} threads; caches off = `{off}`.", "",
          "| measure | req/s | ratio | target | naive (performance-ceiling.md) |",
          "|---|---|---|---|---|",
          f"| trivial route, caches off / on | {u['trivial']:.0f} / {c['trivial']:.0f} | 1.00 | | |",
          f"| listing, caches off | {u['listing']:.0f} | {res['bench_ratio_uncached']:.2f} | "
          f">= {t['bench_ratio_uncached']} | 0.29-0.35 |",
          f"| listing, caches on | {c['listing']:.0f} | {res['bench_ratio_cached']:.2f} | "
          f">= {t['bench_ratio_cached']} | 0.87-0.92 (1 s response cache) |",
          f"| listing, {a.large} vs 50 products | {large['median_rps']['listing']:.0f} vs "
          f"{small['median_rps']['listing']:.0f} | {res['large_catalogue_ratio']:.2f} | "
          f">= {t['large_catalogue_ratio']} | ~0.15 |", ""]
    (out / "bench.md").write_text("\n".join(md))
    print("\n".join(md))
    print(f"bench_ratio_uncached {res['bench_ratio_uncached']:.2f}  bench_ratio_cached "
          f"{res['bench_ratio_cached']:.2f}  large_catalogue_ratio {res['large_catalogue_ratio']:.2f}"
          f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
