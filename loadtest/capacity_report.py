"""Combine every capacity round that exists into ``loadtest/results/capacity.json`` and
``loadtest/results/capacity/README.md`` (with plots): pure file-in/file-out, re-run at will.

    python -m loadtest.capacity_report          # `make report` runs it

Rounds are grouped by configuration, size profile, credits and arm (the round directory's
parent: ``<config>-<profile>-<arm>[-exhausted]``). Quick rounds are pipeline checks and never
count. Rounds of one ``make capacity`` follow one another within minutes, and the machine's
speed moves between such runs: a group reports the rounds of its newest run only, and a ratio
(one arm or configuration over another) takes both sides from the newest run that measured
both. Per group: the median of each round's capacity with its min and max, the cause most
rounds named, the generator's largest CPU share, ``valid`` (no round had an invalid step),
and the rounds taken on a busy machine. Monthly cost is the Pulumi cost model's for the
resources the profile stands for (``reference``: the reference's own; ``stack``: Shoplab's
stack files); cost per 1,000 users divides it by the capacity the instance-sized lab held -
an estimate, legitimate only because the lab's hosts are sized like those instances, and
never a measured AWS figure.

The lab gives each vCPU ``LAB_CORES_PER_VCPU`` of one of this machine's cores (0.125), so its
user counts are those of instances an eighth of a core per vCPU. ``*_full_vcpu`` divides them
by that scale: what a whole core per vCPU would hold if capacity grew linearly with CPU (an
extrapolation; a t2/t3 vCPU is a hyperthread, likely slower than this machine's core). The
headline cost per 1,000 users uses that figure; ``cost_per_1000_users_usd_lab_scale`` the
lab's own.
"""
from __future__ import annotations

import json
import statistics
import sys
from collections import Counter
from pathlib import Path

from capacity.arms import EXPERIMENTS
from capacity.lab_sizes import DEFAULT_CORES_PER_VCPU
from loadtest import reference
from loadtest.capacity import CONFIGS, RESULTS, SLO, cause_at_break, within_slo
from loadtest.compare import config_lines

ROOT = Path(__file__).resolve().parents[1]
OUT_JSON = ROOT / "loadtest" / "results" / "capacity.json"
OUT_MD = RESULTS / "README.md"
PULUMI = ROOT / "pulumi"


def rounds(results: Path = RESULTS) -> list[dict]:
    out = []
    for f in sorted(results.glob("*/*/round.json")):
        r = json.loads(f.read_text())
        if not r.get("quick"):
            r["dir"] = str(f.parent.relative_to(results.parent))   # from loadtest/results
            if "closed_loop" in r:    # the causes by today's classify, from the round's figures
                r["breaking_point_cause"], r["breaking_point_evidence"] = cause_at_break(r)
                r["open_loop_cause"] = cause_at_break(r, "open_loop")[0]
            out.append(r)
    return out


def monthly_cost(config: str, profile: str) -> float | None:
    sys.path.insert(0, str(PULUMI))
    from shoplab_infra import cost_model
    from shoplab_infra.knobs import Knobs, from_stack_file
    stage = f"stage{CONFIGS[config][0]}"
    one_host = {"appCount": 1} if config == "2-one-app-host" else {}
    if profile == "reference":      # the reference's own resources
        ref = cost_model.REFERENCE[stage]["knobs"]
        knobs = Knobs(lambda k: one_host.get(k, ref.get(k)))
    else:                           # Shoplab's stack file
        base = from_stack_file(stage)
        knobs = Knobs(lambda k: one_host.get(k, base.get(k)), stage)
    return cost_model.monthly_cost(stage, knobs)


def _spread(values: list[float]) -> tuple[float | None, float | None, float | None]:
    values = [v for v in values if v is not None]
    if not values:
        return None, None, None
    return statistics.median(values), min(values), max(values)


def app_cpu_ms_per_request(r: dict) -> float | None:
    """The app tier's CPU per request (ms) at the round's last closed-loop step within the SLO:
    the code's cost on this machine at that moment, so rounds of one arm measured on a faster
    or slower machine show it (the lab's quotas are shares of a core, not of work)."""
    app = [c for c, tier in r.get("tiers", {}).items() if tier == "app"]
    last = None
    for step in r.get("closed_loop", []):
        if not step.get("valid", True) or not within_slo(step):
            break
        last = step
    if last is None or not last["rps"] or not app:
        return None
    return round(1000 * sum(last["hosts"][c]["cores"] for c in app if c in last["hosts"])
                 / last["rps"], 2)


def machine_speed(r: dict) -> float | None:
    """The round's calibration loop, millions of iterations per second, mean over the CPUs."""
    speed = r.get("machine", {}).get("speed")
    return round(statistics.mean(speed.values()) / 1e6, 2) if speed else None


def scraped_the_hosts(record: dict) -> bool:
    """Whether a round's Prometheus scraped the stage's hosts, not just answered: none of its
    targets down when the round began (``prometheus_down``, recorded since 2026-12-02 22:00 UTC), and
    PostgreSQL's figures present in some step (a round recorded before that check, whose
    Prometheus scraped no host but itself, has none)."""
    return (bool(record.get("prometheus")) and not record.get("prometheus_down")
            and any(((s.get("prom") or {}).get("postgres") or {}).get("max_connections") is not None
                    for s in record.get("closed_loop", [])))


def arm_summary(group: list[dict]) -> dict:
    users = _spread([r["capacity_users_at_slo"] for r in group])
    rps = _spread([r["capacity_rps_at_slo"] for r in group])
    deploy = _spread([r.get("deploy_seconds") for r in group])
    cpu_ms = _spread([app_cpu_ms_per_request(r) for r in group])
    speed = _spread([machine_speed(r) for r in group])
    causes = Counter(r["breaking_point_cause"] for r in group)
    config, profile = group[0]["config"], group[0]["profile"]
    cost = monthly_cost(config, profile)
    gen = [r["generator_cpu_share_max"] for r in group if r.get("generator_cpu_share_max") is not None]
    scale = group[0].get("lab_cores_per_vcpu") or 1.0
    full = users[0] / scale if users[0] is not None else None
    return {
        "capacity_users_at_slo": users[0], "capacity_users_at_slo_min": users[1],
        "capacity_users_at_slo_max": users[2],
        "capacity_rps_at_slo": rps[0], "capacity_rps_at_slo_min": rps[1],
        "capacity_rps_at_slo_max": rps[2],
        "breaking_point_cause": causes.most_common(1)[0][0],
        "breaking_point_causes": dict(causes),
        "breaking_point_evidence": [r["breaking_point_evidence"] for r in group],
        "generator_cpu_share_max": max(gen) if gen else None,
        "valid": all(r["valid"] for r in group),
        "rounds": len(group),
        "busy_rounds": sum(1 for r in group if r.get("busy")),
        # rounds measured before the round paused the hosts' timers (reaper, apt): their
        # breaks can be a background pass's (loadtest/results/capacity/superseded/README.md)
        "rounds_with_timers_running": sum(1 for r in group if "paused_timers" not in r),
        "rounds_with_prometheus": sum(1 for r in group if scraped_the_hosts(r)),
        "cpu_limit_cores": group[0].get("cpu_limit_cores"),
        "monthly_cost_usd": cost,
        "lab_cores_per_vcpu": scale,
        "capacity_users_at_slo_full_vcpu": round(full) if full is not None else None,
        "capacity_rps_at_slo_full_vcpu": round(rps[0] / scale, 1) if rps[0] is not None else None,
        "cost_per_1000_users_usd": round(cost / (full / 1000), 2) if cost and full else None,
        "cost_per_1000_users_usd_lab_scale": (round(cost / (users[0] / 1000), 2)
                                              if cost and users[0] else None),
        "deploy_seconds": deploy[0], "deploy_seconds_min": deploy[1],
        "deploy_seconds_max": deploy[2],
        "app_cpu_ms_per_request": cpu_ms[0], "app_cpu_ms_per_request_min": cpu_ms[1],
        "app_cpu_ms_per_request_max": cpu_ms[2],
        "machine_speed_mloops": speed[0], "machine_speed_mloops_min": speed[1],
        "machine_speed_mloops_max": speed[2],
        "config_lines": config_lines(int(CONFIGS[config][0])),
        "reports": sorted(r["dir"] for r in group),
    }


# a longer pause between two rounds starts another run (a run's rounds are minutes apart)
RUN_GAP_S = 30 * 60


def number_runs(all_rounds: list[dict]) -> None:
    """Set each round's ``run``: 0 for the oldest run, counting up; rounds without times (written
    before rounds recorded them) are one run."""
    run, last_end = 0, None
    for r in sorted(all_rounds, key=lambda r: r.get("started") or 0):
        start = r.get("started")
        if start is not None and last_end is not None and start - last_end > RUN_GAP_S:
            run += 1
        r["run"] = run
        last_end = r.get("finished") or start or last_end


def build(results: Path = RESULTS) -> dict:
    groups: dict[tuple, list[dict]] = {}
    measured = [r for r in rounds(results)
                # a calibration at another scale: its own directory, not the matrix
                if r.get("lab_cores_per_vcpu", DEFAULT_CORES_PER_VCPU) == DEFAULT_CORES_PER_VCPU]
    number_runs(measured)
    for r in measured:
        key = (r["profile"], r.get("credits", "burst"), r["config"], r["arm"])
        groups.setdefault(key, []).append(r)
    out: dict = {"slo": {"p95_ms": SLO["p95_ms"], "error_rate": SLO["error_rate"]},
                 "profile": "reference", "stages": {}, "stack_profile": {"stages": {}},
                 "credits_exhausted": {"profile": "reference", "stages": {}}}
    blocks: dict[int, tuple[dict, list]] = {}
    for (profile, credits, config, arm), group in sorted(groups.items()):
        if credits == "exhausted":
            block = out["credits_exhausted"]
        else:
            block = out if profile == "reference" else out["stack_profile"]
        newest = max(r["run"] for r in group)
        block["stages"].setdefault(config, {})[arm] = arm_summary(
            [r for r in group if r["run"] == newest])
        blocks.setdefault(id(block), (block, []))[1].extend(group)
    for block, block_rounds in blocks.values():
        block["ratios"] = ratios(block_rounds)
    out["experiments"] = experiments(out["stages"])
    return out


# the reference's tuning claims (seed-system.md section 8), beside each experiment's ratio
CLAIMS = {
    "pgbouncer": {"claimed_ratio": reference.FINDINGS["pgbouncer_transaction_vs_session"],
                  "claim": "transaction pooling gave ~3x the throughput of session pooling"},
    "health_checks": {"claimed_pool_freed": reference.FINDINGS["readiness_pool_freed"],
                      "claim": "health checks every 30 s instead of 5 s freed ~20 % of the pool"},
}


def experiments(stages: dict) -> dict:
    """Per configuration and experiment (capacity.arms.EXPERIMENTS) whose two arms both have
    rounds: capacity with the tuning over capacity without it, users and req/s (medians)."""
    out: dict = {}
    for config, arms in stages.items():
        for name, (without, with_) in EXPERIMENTS.items():
            a, b = arms.get(without), arms.get(with_)
            if not (a and b):
                continue
            ratio = {}
            for key in ("capacity_users_at_slo", "capacity_rps_at_slo"):
                ratio[key] = round(b[key] / a[key], 2) if a[key] and b[key] is not None else None
            out.setdefault(config, {})[name] = {
                "without": without, "with": with_, "ratio_users": ratio["capacity_users_at_slo"],
                "ratio_rps": ratio["capacity_rps_at_slo"],
                "causes": {without: a["breaking_point_cause"], with_: b["breaking_point_cause"]},
                "valid": a["valid"] and b["valid"], "rounds": min(a["rounds"], b["rounds"]),
                **CLAIMS[name]}
    return out


def ratios(group_rounds: list[dict]) -> dict:
    """The performance targets' ratios of users at the SLO, where both sides exist: medians of
    the rounds (numbered by ``number_runs``) of the newest run that measured both sides."""
    configs = sorted({r["config"] for r in group_rounds})
    pairs = [(f"{config}: shoplab / reference_shaped", (config, "shoplab"),
              (config, "reference_shaped")) for config in configs]
    pairs.append(("2 with two app hosts / with one (shoplab)", ("2", "shoplab"),
                  ("2-one-app-host", "shoplab")))
    out = {}
    for name, *sides in pairs:
        of = {side: [r for r in group_rounds if (r["config"], r["arm"]) == side
                     and r["capacity_users_at_slo"] is not None] for side in sides}
        common = set.intersection(*({r["run"] for r in of[side]} for side in sides))
        if common:
            run = max(common)
            a, b = (statistics.median(r["capacity_users_at_slo"] for r in of[side]
                                      if r["run"] == run) for side in sides)
            if a and b:
                out[name] = round(a / b, 2)
    return out


def markdown(data: dict) -> str:
    lines = ["# Capacity lab: where each stage breaks, on hosts sized like their instances",
             "", "Generated by `make report` (loadtest/capacity_report.py) from the rounds under "
             "this directory; SLO p95 < 500 ms and errors < 1 % (the reference's thresholds). "
             "Loopback latency inside one machine: compare capacities and causes, not latency "
             "with the reference's internet figures. Cost per 1,000 users is an estimate: the "
             "monthly AWS price of the resources the profile stands for, divided by what their "
             "instance-sized lab stand-ins held.", ""]
    for title, where in (("Reference profile (the reference's instance classes)", data),
                         ("Stack profile (Shoplab's instance classes)", data["stack_profile"]),
                         ("Reference profile, CPU credits exhausted (t2 at its baseline)",
                          data["credits_exhausted"])):
        block = where["stages"]
        if not block:
            continue
        lines += [f"## {title}", "",
                  "| config | arm | users at SLO (min-max) | req/s at SLO, open loop (min-max) "
                  "| users per full vCPU (extrapolated) | cause at the break | rounds (busy) "
                  "| valid | generator CPU max | app CPU (cores) | $/month "
                  "| $ per 1,000 users (est., full vCPU) | deploy, s (min-max) | config lines |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for config, arms in block.items():
            for arm, a in arms.items():
                lines.append(
                    f"| {config} | {arm} | {_span(a, 'capacity_users_at_slo')} "
                    f"| {_span(a, 'capacity_rps_at_slo')} | {_fmt(a['capacity_users_at_slo_full_vcpu'])} "
                    f"| {a['breaking_point_cause']} "
                    f"| {a['rounds']} ({a['busy_rounds']}) | {'yes' if a['valid'] else 'NO'} "
                    f"| {_fmt(a['generator_cpu_share_max'], '.0%')} | {_fmt(a['cpu_limit_cores'], '.3f')} "
                    f"| {_fmt(a['monthly_cost_usd'], '.2f')} | {_fmt(a['cost_per_1000_users_usd'], '.2f')} "
                    f"| {_span(a, 'deploy_seconds')} | {_fmt(a['config_lines'])} |")
        running = [f"{c} {arm}" for c, arms in block.items() for arm, a in arms.items()
                   if a["rounds_with_timers_running"]]
        if running:
            lines += ["", "Measured with the hosts' timers running (the reaper's pass each minute "
                      "falls in some steps; later rounds pause them): " + ", ".join(running) + "."]
        lines += ["", "The app tier's CPU per request at the capacity step (ms, min-max) and the "
                  "machine's speed before each round (calibration loop, millions of iterations "
                  "per second, `loadtest/machine.py`; - where a round predates it). Rounds of "
                  "one arm whose CPU per request differs this much ran on a machine of another "
                  "speed: compare arms within one run.", "",
                  "| config | arm | app CPU ms/request (min-max) | machine speed (min-max) |",
                  "|---|---|---|---|"]
        for config, arms in block.items():
            for arm, a in arms.items():
                lines.append(f"| {config} | {arm} | {_span(a, 'app_cpu_ms_per_request', '.2f')} "
                             f"| {_span(a, 'machine_speed_mloops', '.2f')} |")
        lines += ["", "Ratios of users at the SLO, both sides from one run:", ""]
        for name, value in where["ratios"].items():
            lines.append(f"- {name}: **{value}x**")
        lines.append("")
    if data.get("experiments"):
        lines += ["## The reference's tuning claims, re-measured (`make experiments`)", "",
                  "Each experiment is two arms of the reference's shape on the sized lab that "
                  "differ in one setting (capacity/arms.py); the ratio is capacity with the "
                  "tuning over capacity without it (medians of the rounds).", "",
                  "| config | experiment | users ratio | req/s ratio | causes (without / with) "
                  "| rounds | valid | the reference's claim |", "|---|---|---|---|---|---|---|---|"]
        for config, exps in data["experiments"].items():
            for name, e in exps.items():
                lines.append(
                    f"| {config} | {name} | {_fmt(e['ratio_users'], '.2f')}x "
                    f"| {_fmt(e['ratio_rps'], '.2f')}x | {e['causes'][e['without']]} / "
                    f"{e['causes'][e['with']]} | {e['rounds']} | {'yes' if e['valid'] else 'NO'} "
                    f"| {e['claim']} (a claim) |")
        lines.append("")
    lines += ["## The reference's own claims (claims, not measurements)", "",
              "Its README table (loadtest/reference.py); its stage-3 and stage-4 figures have no "
              "backing data in its repository, and it names its pool as the cause.", "",
              "| stage | breaks at (users) | CPU at failure |", "|---|---|---|"]
    for stage, c in reference.STAGES.items():
        lines.append(f"| {stage} | {c['breaking_users']} | {c['cpu_at_failure_pct']} % |")
    lines += ["", "## Evidence at each break", ""]
    for config, arms in data["stages"].items():
        for arm, a in arms.items():
            for ev, rep in zip(a["breaking_point_evidence"], a["reports"]):
                lines.append(f"- {config} {arm} (`{rep}`): {ev}")
    return "\n".join(lines) + "\n"


COLORS = {"shoplab": "tab:blue", "reference_shaped": "tab:red"}


def plots(data: dict, all_rounds: list[dict], out: Path = RESULTS) -> list[str]:
    """Per configuration: p95 on a log axis with the SLO line against users (closed loop) and
    against the arrival rate (open loop), intended against achieved rate, and the app hosts'
    CPU share of their quota with the pool's waits; then capacity per configuration and arm
    beside the reference's claims. Each round is one line, so the spread is visible."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    made = []
    for config in sorted({r["config"] for r in all_rounds}):
        rs = [r for r in all_rounds if r["config"] == config and r["profile"] == "reference"
              and r.get("credits", "burst") == "burst"]
        if not rs:
            continue
        fig, ax = plt.subplots(2, 2, figsize=(12, 8))
        for r in rs:
            c, label = COLORS.get(r["arm"], "grey"), r["arm"]
            closed, opened = r["closed_loop"], r["open_loop"]
            ax[0][0].plot([s["users"] for s in closed], [max(s["p95_ms"], 1) for s in closed],
                          "o-", color=c, alpha=0.6, label=label)
            ax[0][1].plot([s["rate"] for s in opened], [max(s["p95_ms"] or 1e4, 1) for s in opened],
                          "o-", color=c, alpha=0.6, label=label)
            ax[1][0].plot([s["rate"] for s in opened], [s.get("achieved_rps") or 0 for s in opened],
                          "o-", color=c, alpha=0.6, label=label)
            app = [h for h, t in (r.get("tiers") or {}).items() if t == "app"] or None
            share = [statistics.fmean([v.get("quota_share") or 0 for k, v in s["hosts"].items()
                                       if app is None or k in app] or [0]) for s in closed]
            ax[1][1].plot([s["users"] for s in closed], share, "o-", color=c, alpha=0.6,
                          label=f"{label}: app CPU / quota")
            ax[1][1].plot([s["users"] for s in closed],
                          [min(1.0, (s.get("pool") or {}).get("pool_waiting_mean") or 0) for s in closed],
                          "x--", color=c, alpha=0.6, label=f"{label}: pool waiting (capped at 1)")
        for a in (ax[0][0], ax[0][1]):
            a.set_yscale("log")
            a.axhline(SLO["p95_ms"], color="black", ls=":", label="SLO p95 500 ms")
            a.set_ylabel("p95 (ms, log)")
        ax[0][0].set_xlabel("concurrent users (closed loop, think 0.5-2.5 s)")
        ax[0][1].set_xlabel("arrival rate (req/s, open loop; latency from intended send time)")
        lim = max([s["rate"] for r in rs for s in r["open_loop"]] or [1])
        ax[1][0].plot([0, lim], [0, lim], color="black", ls=":", label="achieved = intended")
        ax[1][0].set_xlabel("intended req/s")
        ax[1][0].set_ylabel("achieved req/s (answered within the SLO's checks)")
        ax[1][1].set_xlabel("concurrent users")
        ax[1][1].set_ylabel("share")
        ax[1][1].set_ylim(0, 1.1)
        for a in ax.flat:
            handles, labels = a.get_legend_handles_labels()
            keep = dict(zip(labels, handles))
            a.legend(keep.values(), keep.keys(), fontsize=8)
            a.grid(alpha=0.3)
        fig.suptitle(f"config {config}, reference profile: each line one round")
        fig.tight_layout()
        name = f"config-{config}.png"
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        made.append(name)
    stages = data["stages"]
    if stages:
        fig, a = plt.subplots(figsize=(10, 4))
        xs = list(stages)
        for i, arm in enumerate(("shoplab", "reference_shaped")):
            vals = [(stages[c].get(arm) or {}) for c in xs]
            med = [v.get("capacity_users_at_slo") or 0 for v in vals]
            err = [[m - (v.get("capacity_users_at_slo_min") or m) for m, v in zip(med, vals)],
                   [(v.get("capacity_users_at_slo_max") or m) - m for m, v in zip(med, vals)]]
            a.bar([j + 0.4 * i for j in range(len(xs))], med, 0.4, yerr=err,
                  color=COLORS[arm], label=f"{arm} (lab, median and min-max)")
        a.set_xticks([j + 0.2 for j in range(len(xs))], xs)
        a.set_ylabel("users at the SLO (lab scale)")
        a.set_title("capacity at the SLO per configuration; the reference's claims are at full "
                    "t2.small scale (see the table)")
        a.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "capacity.png", dpi=90)
        plt.close(fig)
        made.append("capacity.png")
    return made


def _fmt(value, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def _span(a: dict, key: str, spec: str = ".0f") -> str:
    """``median (min-max)`` of a summary's figure, ``-`` when no round measured it."""
    if a[key] is None:
        return "-"
    return f"{format(a[key], spec)} ({format(a[key + '_min'], spec)}-{format(a[key + '_max'], spec)})"


def main(argv=None) -> int:
    no_plots = "--no-plots" in (argv if argv is not None else sys.argv[1:])
    data = build()
    OUT_JSON.write_text(json.dumps(data, indent=2) + "\n")
    RESULTS.mkdir(parents=True, exist_ok=True)
    images = [] if no_plots else plots(data, rounds())
    OUT_MD.write_text(markdown(data) + "".join(f"\n![{i}]({i})\n" for i in images))
    print(f"{OUT_JSON.relative_to(ROOT)}: {sum(len(a) for a in data['stages'].values())} arm(s) "
          f"in the reference profile; {OUT_MD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
