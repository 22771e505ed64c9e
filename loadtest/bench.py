"""`make bench`: how close the product listing comes to a trivial Falcon route, through the same
nginx and gunicorn, with the listing's caches off and on; and how a 100k-product catalogue
lists compared with the 50-product one (performance-ceiling.md's ratios), with the caches off
(the headline: what the listing's query costs) and, labelled apart, with them on.

Two shops the bench starts itself (loadtest/stacks.py), identical but for the catalogue: the
50 reference products, and ``--large`` products in all (the 50 and generated ones). Each
round restarts both shops' workers with the caches off, warms them up (unmeasured wrk runs),
runs wrk on the trivial route, the 50-product listing and the large listing (no think time,
200 connections; the order reversed every other round), then does the same with the caches
on: the settings and catalogues alternate within minutes of each other instead of in blocks.
Ratios are of medians over the rounds (the paired per-round ratios are kept too). Before each round the machine's state is recorded (load
average, CPU steal since the previous record from /proc/stat): absolute req/s move with it,
the ratios much less. Writes loadtest/results/bench-<UTC time>/bench.json and bench.md.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
from pathlib import Path

from loadtest import reference, stacks, wrk

RESULTS = Path(__file__).resolve().parent / "results"
TRIVIAL, LISTING = "/healthz", "/api/products"
# what each round measures: (name, shop, path); "small" is the 50-product shop
MEASURES = (("trivial", "small", TRIVIAL), ("listing", "small", LISTING),
            ("listing_large", "large", LISTING))
SETTINGS = (("uncached", "caches off"), ("cached", "caches on"))
STEAL_FIELD = 7  # /proc/stat "cpu" line: user nice system idle iowait irq softirq steal ...


def cpu_jiffies(proc_stat: str) -> list[int]:
    """The aggregate "cpu" line of /proc/stat: user, nice, system, idle, iowait, irq, softirq,
    steal (guest time is already counted in user)."""
    for line in proc_stat.splitlines():
        if line.startswith("cpu "):
            return [int(x) for x in line.split()[1:9]]
    raise ValueError("no aggregate cpu line in /proc/stat")


def machine_state(previous: dict | None = None, proc_stat: str | None = None,
                  loadavg: tuple[float, float, float] | None = None) -> dict:
    """Load average and /proc/stat's CPU counters now; with ``previous``, the share of CPU time
    stolen by the hypervisor (steal) between the two records."""
    if proc_stat is None:
        proc_stat = Path("/proc/stat").read_text()
    jiffies = cpu_jiffies(proc_stat)
    state = {"time": time.time(), "loadavg": list(loadavg or os.getloadavg()),
             "cpu_jiffies": jiffies, "steal_jiffies": jiffies[STEAL_FIELD],
             "steal_share_since_previous": None}
    if previous:
        total = sum(jiffies) - sum(previous["cpu_jiffies"])
        steal = jiffies[STEAL_FIELD] - previous["cpu_jiffies"][STEAL_FIELD]
        state["steal_share_since_previous"] = steal / total if total > 0 else None
    return state


def round_order(i: int) -> tuple:
    """The measures of round ``i``, reversed every other round (drift hits each alike)."""
    return MEASURES if i % 2 == 0 else MEASURES[::-1]


def ratios(rps: dict[str, float]) -> dict[str, float]:
    """listing / trivial and large / small listing of one set of req/s."""
    return {"listing_vs_trivial": rps["listing"] / rps["trivial"],
            "large_vs_small": rps["listing_large"] / rps["listing"]}


def summarize(rounds: list[dict]) -> dict:
    """Medians per setting over the rounds, the headline ratios (of medians) and the paired
    per-round ratios."""
    out: dict = {}
    for key, _ in SETTINGS:
        mine = [r for r in rounds if r["setting"] == key]
        med = {name: statistics.median(r["rps"][name] for r in mine) for name, _, _ in MEASURES}
        out[key] = {"median_rps": med, "paired_ratios": [ratios(r["rps"]) for r in mine]}
    u, c = out["uncached"]["median_rps"], out["cached"]["median_rps"]
    out.update(bench_ratio_uncached=ratios(u)["listing_vs_trivial"],
               bench_ratio_cached=ratios(c)["listing_vs_trivial"],
               large_catalogue_ratio=ratios(u)["large_vs_small"],
               large_catalogue_ratio_cached=ratios(c)["large_vs_small"],
               large_catalogue_caches="off")
    return out


def markdown(res: dict) -> str:
    a, t = res["args"], reference.TARGETS
    u, c = res["uncached"]["median_rps"], res["cached"]["median_rps"]
    states = [r["machine_before"] for r in res["rounds"]]
    loads = [s["loadavg"][0] for s in states]
    steal = [s["steal_share_since_previous"] for s in states
             if s["steal_share_since_previous"] is not None]
    return "\n".join([
        f"# Bench ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(res['started']))})", "",
        f"wrk -t2 -c{a['connections']} -d{a['seconds']:.0f}s, {a['rounds']} interleaved rounds "
        f"(caches off, then on, in each round; workers restarted and warmed up "
        f"{a['warmup']:.0f} s per path after every restart), medians; {a['workers']} gunicorn "
        f"workers x {a['threads']} threads; caches off = `{res['cache_off_env']}`; two shops, "
        f"50 and {a['large']} products.", "",
        f"Machine before each round: load average (1 min) {min(loads):.2f}-{max(loads):.2f}"
        + (f", CPU steal {100 * min(steal):.1f}-{100 * max(steal):.1f} %" if steal else "")
        + " (bench.json `rounds[].machine_before`).", "",
        f"| measure | req/s | ratio | target | {reference.CEILING_SOURCE} "
        "(not the reference system) |",
        "|---|---|---|---|---|",
        f"| trivial route, caches off / on | {u['trivial']:.0f} / {c['trivial']:.0f} | 1.00 | | |",
        f"| listing, caches off | {u['listing']:.0f} | {res['bench_ratio_uncached']:.2f} | "
        f">= {t['bench_ratio_uncached']} | {reference.CEILING['bench_ratio_uncached']} |",
        f"| listing, caches on | {c['listing']:.0f} | {res['bench_ratio_cached']:.2f} | "
        f">= {t['bench_ratio_cached']} | {reference.CEILING['bench_ratio_cached']} |",
        f"| listing, {a['large']} vs 50 products, caches off | {u['listing_large']:.0f} vs "
        f"{u['listing']:.0f} | {res['large_catalogue_ratio']:.2f} | "
        f">= {t['large_catalogue_ratio']} | {reference.CEILING['large_catalogue_ratio']} |",
        f"| listing, {a['large']} vs 50 products, caches on (cache hits) | "
        f"{c['listing_large']:.0f} vs {c['listing']:.0f} | "
        f"{res['large_catalogue_ratio_cached']:.2f} | | |", ""])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--warmup", type=float, default=5,
                   help="unmeasured seconds of wrk per path after every restart")
    p.add_argument("--connections", type=int, default=200)
    p.add_argument("--large", type=int, default=100_000, help="products in the large catalogue")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--quick", action="store_true", help="1 round of 5 s (pipeline check)")
    a = p.parse_args(argv)
    if a.quick:
        a.rounds, a.seconds, a.warmup = 1, 5, 2
    out = RESULTS / (f"bench-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
                     + ("-quick" if a.quick else ""))
    out.mkdir(parents=True)
    off = stacks.cache_off_env()
    print(f"[bench] caches off = {off}", flush=True)
    res: dict = {"started": time.time(), "args": vars(a), "cache_off_env": off, "rounds": []}
    state = None
    with contextlib.ExitStack() as es:
        shops = {"small": es.enter_context(stacks.shop("bench-50", 50, a.workers, a.threads)),
                 "large": es.enter_context(stacks.shop(f"bench-{a.large}", 50, a.workers,
                                                       a.threads))}
        res["seed_seconds"] = stacks.seed(shops["large"], a.large)
        for i in range(a.rounds):
            for key, label in SETTINGS:
                for shop in shops.values():   # fresh workers: nothing cached or counted
                    if key == "uncached":
                        shop.restart_app(**off)
                    else:
                        shop.restart_app(unset=off)
                for _, shop, path in MEASURES:  # warm-up after the restart, not kept
                    wrk.run(shops[shop].shop_url + path, a.connections, a.warmup)
                state = machine_state(state)
                rec = {"round": i, "setting": key, "machine_before": state, "rps": {}, "runs": {}}
                for name, shop, path in round_order(i):
                    r = wrk.run(shops[shop].shop_url + path, a.connections, a.seconds)
                    rec["rps"][name], rec["runs"][name] = r["rps"], r
                    print(f"[bench] round {i + 1}/{a.rounds} {label} {name}: {r['rps']:.0f} "
                          f"req/s p95 {r['p95_ms']:.1f} ms errors {r['error_rate']:.2%}",
                          flush=True)
                res["rounds"].append(rec)
    res.update(summarize(res["rounds"]))
    res["finished"] = time.time()
    (out / "bench.json").write_text(json.dumps(res, indent=2))
    md = markdown(res)
    (out / "bench.md").write_text(md)
    print(md)
    print(f"bench_ratio_uncached {res['bench_ratio_uncached']:.2f}  bench_ratio_cached "
          f"{res['bench_ratio_cached']:.2f}  large_catalogue_ratio (caches off) "
          f"{res['large_catalogue_ratio']:.2f}  (caches on) "
          f"{res['large_catalogue_ratio_cached']:.2f}\nresults: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
