"""Turn a run directory (meta.json, steps.jsonl, samples.jsonl) into steps.csv, summary.json,
summary.md and PNG plots. Pure file-in/file-out, so it is re-run on old results at will:

    python -m loadtest.report loadtest/results/1-20261126T090000Z
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

from loadtest import reference
from loadtest.breaking import Limits, aggregate, breaking_index, cause, error_cause, step_breaks

RESULTS = Path(__file__).resolve().parent / "results"
CSV_FIELDS = ["phase", "step", "route", "round", "users", "requests", "failures", "error_rate",
              "rps", "avg_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms",
              "generator_cpu", "generator_capacity", "machine_cpu", "app_cpu", "db_cpu",
              "redis_cpu", "proxy_cpu", "pool_size", "pool_available", "pool_waiting_mean",
              "pool_waiting_max", "pool_timeouts", "pool_wait_ms_per_request", "redis_errors", "broke", "t_start", "t_end"]


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def enrich(steps: list[dict], samples: list[dict]) -> list[dict]:
    """Each step with the resources sampled during it (flat keys, as in steps.csv)."""
    out = []
    for s in steps:
        res = aggregate(samples, s["t_start"], s["t_end"])
        roles = res.get("roles") or {}
        out.append({**s, "resources": res,
                    "generator_cpu": res.get("generator_cpu"),
                    "generator_capacity": res.get("generator_capacity"),
                    "machine_cpu": res.get("machine_cpu"),
                    "app_cpu": roles.get("app"), "db_cpu": roles.get("db"),
                    "redis_cpu": roles.get("redis"), "proxy_cpu": roles.get("proxy"),
                    "pool_size": res.get("pool_size_mean"),
                    "pool_available": res.get("pool_available_mean"),
                    "pool_waiting_mean": res.get("pool_waiting_mean"),
                    "pool_waiting_max": res.get("pool_waiting_max"),
                    "pool_timeouts": res.get("pool_timeouts"),
                    "pool_wait_ms_per_request": res.get("pool_wait_ms_per_request"),
                    "redis_errors": res.get("redis_errors")})
    return out


def _at(steps: list[dict], phase: str, users: int) -> dict | None:
    return next((s for s in steps if s["phase"] == phase and s["users"] == users), None)


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def latest_bench(results: Path = RESULTS) -> tuple[dict, str] | tuple[None, None]:
    """The newest `make bench` result (bench ratios need a stack the bench starts itself)."""
    runs = sorted(r for r in results.glob("bench-*/bench.json") if "-quick" not in r.parent.name)
    if not runs:
        return None, None
    return json.loads(runs[-1].read_text()), runs[-1].parent.name


def large_catalogue(bench: dict) -> dict:
    """The 100k-vs-50-product ratio with the caches off (the headline) and on. A bench from
    before ``large_catalogue_caches`` existed measured it with the listing cache on only: that
    figure is kept as the cached one and the caches-off one is None (to be re-measured)."""
    if bench.get("large_catalogue_caches") == "off":
        return {"large_catalogue_ratio": bench.get("large_catalogue_ratio"),
                "large_catalogue_ratio_cached": bench.get("large_catalogue_ratio_cached")}
    return {"large_catalogue_ratio": None,
            "large_catalogue_ratio_cached": bench.get("large_catalogue_ratio")}


def summarize(meta: dict, steps: list[dict], bench: dict | None = None,
              bench_source: str | None = None) -> dict:
    limits = Limits(**meta.get("limits", {})) if meta.get("limits") else Limits()
    ramp50, ramp200 = _at(steps, "ramp", 50), _at(steps, "ramp", 200)
    search = [s for s in steps if s["phase"] == "search"]
    i = breaking_index(search, limits)
    if i is not None:
        bp = search[i]
        why = error_cause(bp) or cause(bp.get("resources") or {})
        bp_users, bp_cause, evidence = bp["users"], why[0], f"{step_breaks(bp, limits)}; {why[1]}"
    else:
        held = max((s["users"] for s in search), default=None)
        bp_users, bp_cause = None, "not reached" if search else "not run"
        evidence = f"held every step up to {held} users" if search else "search phase not run"
    nothink = [s for s in steps if s["phase"] == "nothink"]
    listing = [s["rps"] for s in nothink if s.get("route") == "listing" and s["users"] == 200]
    trivial = [s["rps"] for s in nothink if s.get("route") == "trivial" and s["users"] == 200]
    listing_rps, trivial_rps = _median(listing), _median(trivial)
    bench = bench or {}
    gen = [s.get("generator_cpu") for s in steps if s.get("generator_cpu") is not None]
    return {
        "stage": meta.get("stage"), "target": meta.get("target"), "quick": meta.get("quick"),
        "p95_ms_at_50": ramp50 and ramp50["p95_ms"], "p95_ms_at_200": ramp200 and ramp200["p95_ms"],
        "avg_ms_at_50": ramp50 and ramp50["avg_ms"], "avg_ms_at_200": ramp200 and ramp200["avg_ms"],
        "p99_ms_at_200": ramp200 and ramp200["p99_ms"], "rps_at_200": ramp200 and ramp200["rps"],
        "error_rate_at_50": ramp50 and ramp50["error_rate"],
        "error_rate_at_200": ramp200 and ramp200["error_rate"],
        "breaking_point_users": bp_users, "breaking_point_cause": bp_cause,
        "breaking_point_evidence": evidence,
        "breaking_limits": {"p95_ms": limits.p95_ms, "error_rate": limits.error_rate},
        "listing_rps_no_think_200": listing_rps, "trivial_rps_no_think_200": trivial_rps,
        "bench_ratio_deployed": (listing_rps / trivial_rps) if listing_rps and trivial_rps else None,
        "bench_ratio_uncached": bench.get("bench_ratio_uncached"),
        "bench_ratio_cached": bench.get("bench_ratio_cached"),
        **large_catalogue(bench),
        "bench_source": bench_source,
        "generator_cpu_max": max(gen) if gen else None,
        "deploy_seconds": meta.get("deploy_seconds"),
        "load_average_before": (meta.get("machine") or {}).get("load_before"),
    }


def targets_met(summary: dict, held_users: int | None) -> dict[str, bool | None]:
    """Issue 7's targets, each True/False, or None when this run did not measure it."""
    t = reference.TARGETS

    def at_most(key, limit):
        return None if summary.get(key) is None else summary[key] <= limit

    def at_least(key, limit):
        return None if summary.get(key) is None else summary[key] >= limit

    errors = [summary.get("error_rate_at_50"), summary.get("error_rate_at_200")]
    if summary.get("breaking_point_users") is not None:
        breaking = summary["breaking_point_users"] >= t["breaking_point_users"]
    elif held_users is not None:  # never broke: met only if it held at the target's load
        breaking = held_users >= t["breaking_point_users"] or None
    else:
        breaking = None
    return {
        "p95_ms_at_50": at_most("p95_ms_at_50", t["p95_ms_at_50"]),
        "p95_ms_at_200": at_most("p95_ms_at_200", t["p95_ms_at_200"]),
        "errors": None if None in errors else all(e <= t["error_rate"] for e in errors),
        "breaking_point_users": breaking,
        "listing_rps_no_think_200": at_least("listing_rps_no_think_200",
                                             t["listing_rps_no_think_200"]),
        "bench_ratio_uncached": at_least("bench_ratio_uncached", t["bench_ratio_uncached"]),
        "bench_ratio_cached": at_least("bench_ratio_cached", t["bench_ratio_cached"]),
        "large_catalogue_ratio": at_least("large_catalogue_ratio", t["large_catalogue_ratio"]),
    }


# --- plots ------------------------------------------------------------------------------
def plot(steps: list[dict], out: Path) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    phases = [p for p in ("ramp", "search", "journey") if any(s["phase"] == p for s in steps)]
    if not phases:
        return made
    fig, axes = plt.subplots(1, len(phases), figsize=(5.5 * len(phases), 4), squeeze=False)
    for ax, phase in zip(axes[0], phases):
        ss = [s for s in steps if s["phase"] == phase]
        users = [s["users"] for s in ss]
        for key, style in (("p50_ms", "o-"), ("p95_ms", "s-"), ("p99_ms", "^-")):
            ax.plot(users, [s[key] for s in ss], style, label=key.replace("_ms", ""))
        ax.set(title=f"{phase}: latency", xlabel="concurrent users", ylabel="ms")
        ax.grid(alpha=0.3)
        ax2 = ax.twinx()
        ax2.bar(users, [s["rps"] for s in ss], width=max(users) * 0.04 + 1, alpha=0.25,
                color="tab:green", label="req/s")
        ax2.set_ylabel("req/s (bars)")
        ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "latency_throughput.png", dpi=100)
    plt.close(fig)
    made.append("latency_throughput.png")

    # pool and CPU, one column per phase: what the step's resources were doing
    fig, axes = plt.subplots(2, len(phases), figsize=(5.5 * len(phases), 7), squeeze=False)
    for col, phase in enumerate(phases):
        ss = [s for s in steps if s["phase"] == phase]
        users = [s["users"] for s in ss]
        ax = axes[0][col]
        ax.plot(users, [s.get("pool_waiting_mean") or 0 for s in ss], "o-", label="waiting (mean)")
        ax.plot(users, [s.get("pool_timeouts") or 0 for s in ss], "x--", color="tab:red",
                label="timeouts in step")
        ax.set(title=f"{phase}: DB pool", xlabel="concurrent users", ylabel="requests")
        ax2 = ax.twinx()
        ax2.plot(users, [s.get("pool_wait_ms_per_request") or 0 for s in ss], "s:",
                 color="tab:purple", label="wait per checkout (ms)")
        ax2.set_ylabel("ms waited per connection checkout")
        ax2.set_ylim(bottom=0)
        ax.legend(loc="upper left", fontsize=7)
        ax2.legend(loc="upper right", fontsize=7)
        ax = axes[1][col]
        for key, label in (("machine_cpu", "whole machine"), ("app_cpu", "app (gunicorn)"),
                           ("db_cpu", "postgres + pgbouncer"), ("proxy_cpu", "nginx"),
                           ("redis_cpu", "redis"), ("generator_cpu", "load generator")):
            if any(s.get(key) is not None for s in ss):
                ax.plot(users, [s.get(key) or 0 for s in ss], "o-", label=label)
        ax.set(title=f"{phase}: CPU (% of one core)", xlabel="concurrent users", ylabel="%")
        ax.legend(fontsize=7)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(out / "pool_cpu.png", dpi=100)
    plt.close(fig)
    made.append("pool_cpu.png")
    return made


# --- markdown ---------------------------------------------------------------------------
def _f(v, fmt="{:.0f}", none="-"):
    return none if v is None else fmt.format(v)


def _pct(v):
    return _f(v, "{:.2%}")


def _host_cpu(step: dict) -> dict:
    res = step.get("resources") or {}
    return res.get("containers") or res.get("hosts") or {}


def host_table(steps: list[dict]) -> list[str]:
    """CPU of every host (lab container, or `make run` process group) per step."""
    hosts = sorted({h for s in steps for h in _host_cpu(s)})
    if not hosts:
        return []
    out = ["", "CPU by host (% of one core):", "", "| users | " + " | ".join(hosts) + " |",
           "|---|" + "---|" * len(hosts)]
    for s in steps:
        users = f"{s['users']}" + (f" {s['route']}" if s.get("route") else "")
        out.append(f"| {users} | " + " | ".join(_f(_host_cpu(s).get(h)) for h in hosts) + " |")
    return out


RE_MEASURE = "to be re-measured with caches off (make bench)"


def _ceiling(key: str) -> str:
    """performance-ceiling.md's figure for a bench ratio: another study of a naive listing,
    not the reference system, so it says so in the reference column."""
    return (f"- (not measured by the reference; {reference.CEILING_SOURCE}: "
            f"{reference.CEILING[key]})")


def markdown(meta: dict, summary: dict, steps: list[dict], plots: list[str]) -> str:
    ref = reference.STAGES.get(int(summary["stage"])) if str(summary["stage"]).isdigit() else None
    r200 = reference.STAGE1_AT_200
    t = reference.TARGETS
    lines = [f"# Load test of stage {summary['stage']} ({meta.get('target')})", ""]
    if meta.get("quick"):
        lines += ["> **Pipeline check with short steps - these numbers are not a result.**", ""]
    limited = [f"{s['phase']} {s['users']}" for s in steps
               if s["phase"] != "nothink" and (error_cause(s) or ("",))[0] == "rate-limit"]
    limited += [f"nothink {s['route']}" for s in steps if s["phase"] == "nothink"
                and s.get("errors", {}).get("status", 0) > s.get("requests", 0) / 2]
    if limited:
        lines += [f"> **The target rate-limited the load generator** ({', '.join(limited)}): "
                  "most failures were HTTP 429 (non-2xx for wrk). Each simulated user sends its "
                  "own X-Forwarded-For address; a target that counts them as one client does "
                  "not trust the generator's hop (nginx `nginx_real_ip_from`, the app's "
                  "`TRUSTED_PROXY_HOPS`; roles/README.md) - fix that, or measure a stage "
                  "deployed with `RATE_LIMIT_IP_PER_MINUTE=0`.", ""]
    load = (meta.get("machine") or {}).get("load_before")
    lines += [f"Commit {meta.get('commit')}, {(meta.get('machine') or {}).get('cpus')} CPUs, "
              f"load average before the run {_f(load and load[0], '{:.2f}')} "
              "(load generator on the same machine).", "",
              "## Headline", "",
              "| measure | Shoplab | reference | target | met |", "|---|---|---|---|---|"]
    met = summary.get("targets_met") or {}
    yes = {True: "yes", False: "**no**", None: "-"}
    rows = [
        ("p95 at 50 users (ms)", _f(summary["p95_ms_at_50"]), "-", f"<= {t['p95_ms_at_50']}",
         "p95_ms_at_50"),
        ("avg at 50 users (ms)", _f(summary["avg_ms_at_50"]), _f(ref and ref["avg_ms_50"]), "", ""),
        ("p95 at 200 users (ms)", _f(summary["p95_ms_at_200"]), f"{r200['p95_ms']} (stage 1)",
         f"<= {t['p95_ms_at_200']}", "p95_ms_at_200"),
        ("avg at 200 users (ms)", _f(summary["avg_ms_at_200"]), _f(ref and ref["avg_ms_200"]), "", ""),
        ("p99 at 200 users (ms)", _f(summary["p99_ms_at_200"]), f"{r200['p99_ms']} (stage 1)", "", ""),
        ("req/s at 200 users, 1 s think", _f(summary["rps_at_200"]),
         f"{r200['rps']} (stage 1; 1 s think caps 200 users near 200 req/s)", "", ""),
        ("errors at 50 / 200 users", f"{_pct(summary['error_rate_at_50'])} / "
         f"{_pct(summary['error_rate_at_200'])}", "0%", "0%", "errors"),
        ("breaking point (users, stage-3 mix)", f"{_f(summary['breaking_point_users'])} "
         f"({summary['breaking_point_cause']})", _f(ref and ref["breaking_users"]),
         f">= {t['breaking_point_users']}", "breaking_point_users"),
        ("listing req/s, 200 conns, no think", _f(summary["listing_rps_no_think_200"]),
         str(r200["rps"]), f">= {t['listing_rps_no_think_200']}", "listing_rps_no_think_200"),
        ("listing / trivial route, as deployed", _f(summary["bench_ratio_deployed"], "{:.2f}"),
         "-", "", ""),
        ("bench ratio, listing caches off", _f(summary["bench_ratio_uncached"], "{:.2f}"),
         _ceiling("bench_ratio_uncached"), f">= {t['bench_ratio_uncached']}",
         "bench_ratio_uncached"),
        ("bench ratio, listing caches on", _f(summary["bench_ratio_cached"], "{:.2f}"),
         _ceiling("bench_ratio_cached"), f">= {t['bench_ratio_cached']}", "bench_ratio_cached"),
        ("100k / 50-product listing, caches off",
         _f(summary["large_catalogue_ratio"], "{:.2f}",
            none=RE_MEASURE if summary.get("bench_source") else "-"),
         _ceiling("large_catalogue_ratio"), f">= {t['large_catalogue_ratio']}",
         "large_catalogue_ratio"),
        ("100k / 50-product listing, caches on (cache hits)",
         _f(summary.get("large_catalogue_ratio_cached"), "{:.2f}"), "-", "", ""),
        ("load generator CPU, max (% of a core)", _f(summary["generator_cpu_max"]), "-", "", ""),
    ]
    lines += [f"| {a} | {b} | {c} | {d} | {yes[met.get(k)] if k else ''} |"
              for a, b, c, d, k in rows]
    lines.append("")
    if summary.get("bench_source"):
        lines += [f"Bench ratios from [{summary['bench_source']}](../{summary['bench_source']}/bench.md)"
                  " (`make bench`, its own stack).", ""]
    if summary.get("experiments_source"):
        lines += [f"What was tried (pgbouncer mode, indexes, probes, pool size, gunicorn shape): "
                  f"[{summary['experiments_source']}](../{summary['experiments_source']}/experiments.md).", ""]
    if summary.get("findings"):
        lines += ["Bottlenecks, targets missed and what was tried, across stages: "
                  "[FINDINGS.md](../FINDINGS.md).", ""]
    lines += ["## Breaking point", "",
              f"Limits: p95 > {summary['breaking_limits']['p95_ms']:.0f} ms or errors > "
              f"{summary['breaking_limits']['error_rate']:.0%}. "
              f"Result: **{_f(summary['breaking_point_users'], none='not reached')}** users, "
              f"cause **{summary['breaking_point_cause']}**: {summary['breaking_point_evidence']}.",
              ""]
    for phase, title in (("ramp", "Stage-1 ramp (GET /api/products, 1 s think)"),
                         ("search", "Step-load search (stage-3 mix, 0.5-2.5 s think)"),
                         ("journey", "Shopper journey (writes, checkout, payment)"),
                         ("nothink", "No think time (wrk)")):
        ss = [s for s in steps if s["phase"] == phase]
        if not ss:
            continue
        lines += [f"## {title}", "",
                  "| users | route | req/s | p50 | p95 | p99 | avg | errors | gen CPU | machine CPU "
                  "| app CPU | db CPU | pool waiting | pool timeouts |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for s in ss:
            lines.append(
                f"| {s['users']} | {s.get('route', '')} | {_f(s['rps'])} | {_f(s['p50_ms'], '{:.1f}')} "
                f"| {_f(s['p95_ms'], '{:.1f}')} | {_f(s['p99_ms'], '{:.1f}')} "
                f"| {_f(s['avg_ms'], '{:.1f}')} | {_pct(s['error_rate'])} "
                f"| {_f(s.get('generator_cpu'))}% | {_f(s.get('machine_cpu'))}% "
                f"| {_f(s.get('app_cpu'))}% | {_f(s.get('db_cpu'))}% "
                f"| {_f(s.get('pool_waiting_mean'), '{:.1f}')} | {_f(s.get('pool_timeouts'))} |")
        if phase == "ramp":
            lines.append(f"| reference 200 | | {r200['rps']} | - | {r200['p95_ms']} | "
                         f"{r200['p99_ms']} | {r200['avg_ms']} | 0.00% | - | {r200['cpu_pct']}% "
                         "| | | | |")
        lines += host_table(ss)
        errors = {k: v for s in ss for k, v in (s.get("errors") or {}).items()
                  if isinstance(v, int) and v}
        if errors and phase != "nothink":
            lines += ["", "Errors: " + "; ".join(f"{k} x{v}" for k, v in list(errors.items())[:8])]
        lines.append("")
    lines += [f"![{p}]({p})" for p in plots]
    lines += ["", "CPU is percent of one core (200% = both cores of this machine). Raw data: "
              "`steps.csv`, `steps.jsonl`, `samples.jsonl`, locust's `*_stats*.csv`.", ""]
    return "\n".join(lines)


def build(run_dir: Path, bench_dir: Path = RESULTS, plots: bool = True) -> dict:
    run_dir = Path(run_dir)
    meta = json.loads((run_dir / "meta.json").read_text())
    steps = enrich(read_jsonl(run_dir / "steps.jsonl"), read_jsonl(run_dir / "samples.jsonl"))
    bench, source = latest_bench(bench_dir)
    summary = summarize(meta, steps, bench, source)
    held = max((s["users"] for s in steps if s["phase"] == "search" and not s.get("broke")),
               default=None)
    summary["targets_met"] = targets_met(summary, held)
    experiments = sorted(p.name for p in Path(bench_dir).glob("experiments-*")
                         if "-quick" not in p.name and (p / "experiments.md").exists())
    summary["experiments_source"] = experiments[-1] if experiments else None
    summary["findings"] = (Path(bench_dir) / "FINDINGS.md").exists()
    with open(run_dir / "steps.csv", "w", newline="") as f:
        w = csv.DictWriter(f, CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for s in steps:
            w.writerow({**s, "broke": s.get("broke") or ""})
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    images = plot(steps, run_dir) if plots else []
    (run_dir / "summary.md").write_text(markdown(meta, summary, steps, images))
    return summary


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path)
    summary = build(p.parse_args(argv).run_dir)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
