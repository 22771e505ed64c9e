"""Combine every capacity round that exists into ``loadtest/results/capacity.json`` and
``loadtest/results/capacity/README.md`` (with plots): pure file-in/file-out, re-run at will.

    python -m loadtest.capacity_report          # `make report` runs it

Rounds are grouped by configuration, size profile, credits and arm (the round directory's
parent: ``<config>-<profile>-<arm>[-exhausted]``). Quick rounds are pipeline checks and never
count. Per group: the median of each round's capacity with its min and max, the cause most
rounds named, the generator's largest CPU share, ``valid`` (no round had an invalid step),
and the rounds taken on a busy machine. Monthly cost is the Pulumi cost model's for the
resources the profile stands for (``reference``: the reference's own; ``stack``: Shoplab's
stack files); cost per 1,000 users divides it by the capacity the instance-sized lab held -
an estimate, legitimate only because the lab's hosts are sized like those instances, and
never a measured AWS figure.
"""
from __future__ import annotations

import json
import statistics
import sys
from collections import Counter
from pathlib import Path

from loadtest.capacity import RESULTS, SLO

ROOT = Path(__file__).resolve().parents[1]
OUT_JSON = ROOT / "loadtest" / "results" / "capacity.json"
OUT_MD = RESULTS / "README.md"
PULUMI = ROOT / "pulumi"
# the reference's own claims (seed-system.md section 7), shown beside the lab and marked as claims
REFERENCE_CLAIMS = {
    "1": {"breaks_at_users": 150, "cause": "pool (claimed; CPU 20 % at failure)"},
    "2": {"breaks_at_users": 200, "cause": "pool (claimed)"},
    "3": {"breaks_at_users": None, "cause": "not measured to a break"},
}
STAGE_OF = {"1": "stage1", "2": "stage2", "2-one-app-host": "stage2", "3": "stage3"}


def rounds(results: Path = RESULTS) -> list[dict]:
    out = []
    for f in sorted(results.glob("*/*/round.json")):
        r = json.loads(f.read_text())
        if not r.get("quick"):
            r["dir"] = str(f.parent.relative_to(results.parent))   # from loadtest/results
            out.append(r)
    return out


def monthly_cost(config: str, profile: str) -> float | None:
    sys.path.insert(0, str(PULUMI))
    from shoplab_infra import cost_model
    from shoplab_infra.knobs import Knobs, from_stack_file
    stage = STAGE_OF[config]
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


def arm_summary(group: list[dict]) -> dict:
    users = _spread([r["capacity_users_at_slo"] for r in group])
    rps = _spread([r["capacity_rps_at_slo"] for r in group])
    causes = Counter(r["breaking_point_cause"] for r in group)
    config, profile = group[0]["config"], group[0]["profile"]
    cost = monthly_cost(config, profile)
    gen = [r["generator_cpu_share_max"] for r in group if r.get("generator_cpu_share_max") is not None]
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
        "cpu_limit_cores": group[0].get("cpu_limit_cores"),
        "monthly_cost_usd": cost,
        "cost_per_1000_users_usd": (round(cost / (users[0] / 1000), 2)
                                    if cost and users[0] else None),
        "reports": sorted(r["dir"] for r in group),
    }


def build(results: Path = RESULTS) -> dict:
    groups: dict[tuple, list[dict]] = {}
    for r in rounds(results):
        key = (r["profile"], r.get("credits", "burst"), r["config"], r["arm"])
        groups.setdefault(key, []).append(r)
    out: dict = {"slo": {"p95_ms": SLO["p95_ms"], "error_rate": SLO["error_rate"]},
                 "profile": "reference", "stages": {}, "stack_profile": {"stages": {}},
                 "credits_exhausted": {"profile": "reference", "stages": {}}}
    for (profile, credits, config, arm), group in sorted(groups.items()):
        if credits == "exhausted":
            where = out["credits_exhausted"]["stages"]
        else:
            where = out["stages"] if profile == "reference" else out["stack_profile"]["stages"]
        where.setdefault(config, {})[arm] = arm_summary(group)
    return out


def ratios(stages: dict) -> dict:
    """The performance targets' ratios, where both sides exist."""
    def users(config, arm):
        return (stages.get(config, {}).get(arm) or {}).get("capacity_users_at_slo")
    out = {}
    for config in stages:
        s, r = users(config, "shoplab"), users(config, "reference_shaped")
        if s and r:
            out[f"{config}: shoplab / reference_shaped"] = round(s / r, 2)
    two, one = users("2", "shoplab"), users("2-one-app-host", "shoplab")
    if two and one:
        out["2 with two app hosts / with one (shoplab)"] = round(two / one, 2)
    return out


def markdown(data: dict) -> str:
    lines = ["# Capacity lab: where each stage breaks, on hosts sized like their instances",
             "", "Generated by `make report` (loadtest/capacity_report.py) from the rounds under "
             "this directory; SLO p95 < 500 ms and errors < 1 % (the reference's thresholds). "
             "Loopback latency inside one machine: compare capacities and causes, not latency "
             "with the reference's internet figures. Cost per 1,000 users is an estimate: the "
             "monthly AWS price of the resources the profile stands for, divided by what their "
             "instance-sized lab stand-ins held.", ""]
    for title, block in (("Reference profile (the reference's instance classes)", data["stages"]),
                         ("Stack profile (Shoplab's instance classes)", data["stack_profile"]["stages"]),
                         ("Reference profile, CPU credits exhausted (t2 at its baseline)",
                          data["credits_exhausted"]["stages"])):
        if not block:
            continue
        lines += [f"## {title}", "",
                  "| config | arm | users at SLO (min-max) | req/s at SLO, open loop (min-max) "
                  "| cause at the break | rounds (busy) | valid | generator CPU max | app CPU "
                  "(cores) | $/month | $ per 1,000 users (est.) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for config, arms in block.items():
            for arm, a in arms.items():
                lines.append(
                    f"| {config} | {arm} | {_fmt(a['capacity_users_at_slo'])} "
                    f"({_fmt(a['capacity_users_at_slo_min'])}-{_fmt(a['capacity_users_at_slo_max'])}) "
                    f"| {_fmt(a['capacity_rps_at_slo'])} ({_fmt(a['capacity_rps_at_slo_min'])}-"
                    f"{_fmt(a['capacity_rps_at_slo_max'])}) | {a['breaking_point_cause']} "
                    f"| {a['rounds']} ({a['busy_rounds']}) | {'yes' if a['valid'] else 'NO'} "
                    f"| {_fmt(a['generator_cpu_share_max'], '.0%')} | {_fmt(a['cpu_limit_cores'], '.3f')} "
                    f"| {_fmt(a['monthly_cost_usd'], '.2f')} | {_fmt(a['cost_per_1000_users_usd'], '.2f')} |")
        lines.append("")
        for name, value in ratios(block).items():
            lines.append(f"- {name}: **{value}x**")
        lines.append("")
    lines += ["## The reference's own claims (claims, not measurements)", "",
              "| stage | breaks at (users) | cause |", "|---|---|---|"]
    for stage, c in REFERENCE_CLAIMS.items():
        lines.append(f"| {stage} | {c['breaks_at_users'] or '-'} | {c['cause']} |")
    lines += ["", "## Evidence at each break", ""]
    for config, arms in data["stages"].items():
        for arm, a in arms.items():
            for ev, rep in zip(a["breaking_point_evidence"], a["reports"]):
                lines.append(f"- {config} {arm} (`{rep}`): {ev}")
    return "\n".join(lines) + "\n"


def _fmt(value, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def main() -> int:
    data = build()
    OUT_JSON.write_text(json.dumps(data, indent=2) + "\n")
    RESULTS.mkdir(parents=True, exist_ok=True)
    OUT_MD.write_text(markdown(data))
    print(f"{OUT_JSON.relative_to(ROOT)}: {sum(len(a) for a in data['stages'].values())} arm(s) "
          f"in the reference profile; {OUT_MD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
