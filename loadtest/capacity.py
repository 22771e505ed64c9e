"""The capacity lab: where each stage breaks, per arm, on hosts sized like their instances.

    python -m loadtest.capacity run --config 1 [--profile reference] [--rounds 3] [--quick]
    python -m loadtest.capacity run --config 2-one-app-host --arms shoplab

One *round* of a configuration and arm: deploy the arm on the sized lab (tools/lab/up.sh with
LAB_PROFILE / LAB_ARM), wait for the machine to calm down and record its state, warm up, then

1. the closed-loop search: the reference's stage-3 mix (locust ``MixUser``, its think times)
   in held steps of concurrent users, stopping past the SLO (loadtest/run.py);
2. the open-loop sweep: the same mix at fixed arrival rates, latency counted from each
   request's intended send time (loadtest/openloop.py), around the closed loop's capacity.

The generator runs on its own CPUs (capacity/lab_sizes.py) and its CPU is measured in every
step: a step where it passes ``GENERATOR_LIMIT`` of its share is *invalid* and ends what the
round can claim. The hosts' CPU, throttling and memory come from their cgroups
(loadtest/cgroups.py), the pool from the app's /metrics, and the database side (pgbouncer's
queue, PostgreSQL's connections against max_connections, server-side p95) from the lab's
Prometheus (host mon1, on 127.0.0.1:909N; loadtest/promql.py) when the inventory has one;
``classify`` names the cause at the break. The hosts' periodic work (systemd timers: the
reaper, apt) is paused while a round measures (``pause_timers``).

Each round is written to ``loadtest/results/capacity/<config>-<profile>-<arm>/<UTC>/`` as it
finishes (round.json beside its raw files), so a matrix of rounds accumulates over sessions;
arms (and configurations) alternate between rounds (A B, then B A) so neither always runs on
a warmer machine, and the last round ends with Shoplab's own arm deployed.
``loadtest.capacity_report`` combines whatever rounds exist.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from capacity.arms import ALL_ARMS, ARMS, DEPLOY_SKIP_TAGS, EXPERIMENTS, health_checks
from capacity.lab_sizes import (DEFAULT_CORES_PER_VCPU, PROFILES, cores_per_vcpu, cpu_sets,
                                host_tier)
from edge import lab
from loadtest import cgroups, machine, promql, run
from loadtest.breaking import aggregate
from loadtest.openloop import GENERATOR_CPU_LIMIT as GENERATOR_LIMIT   # of its own CPU share
from loadtest.openloop import sweep
from loadtest.report import read_jsonl
from loadtest.run import cpu_list

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "loadtest" / "results" / "capacity"
SLO = {"p95_ms": 500.0, "error_rate": 0.01}       # the reference's k6 thresholds
# A host is at its CPU limit when it used SATURATED of its quota over the step, or BUSY of it
# with most of the CFS periods it ran in ending throttled (THROTTLED): requests then queue for
# CPU though the step's mean is below the quota. Throttling alone is not enough: a light step
# throttles too (measured on stage 2's app: 22 % of the quota and 55 % of periods throttled at
# 10 users, p95 52 ms; 72 % and 73 % at 60 users, p95 780 ms).
SATURATED = 0.90                                 # of a host's CPU quota
BUSY, THROTTLED = 0.60, 0.50                     # of its quota; of the periods it ran in
MEAN_THINK_S = 1.5                               # the mix's think time, uniform 0.5-2.5 s

# configuration -> (lab stage, inventory)
CONFIGS = {
    "1": ("1", "ansible/inventories/lab-stage1"),
    "2": ("2", "ansible/inventories/lab-stage2"),
    "2-one-app-host": ("2", "ansible/inventories/lab-stage2-one-app-host"),
    "3": ("3", "ansible/inventories/lab-stage3"),
}
# ~20 % apart, so a capacity is known to a step of that size
USER_STEPS = [10, 20, 30, 40, 50, 60, 75, 90, 110, 130, 150, 175, 200, 250, 300, 350, 400, 500,
              600, 700, 800, 1000, 1250, 1500, 2000, 2500, 3000]
RATE_FACTORS = [0.5, 0.7, 0.85, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5]
# where the open loop looks when even RATE_FACTORS' first rate is past the SLO (an arm whose
# errors come with arrivals, not with concurrency): the rate it holds, not 0 for "none tried"
LOWER_RATE_FACTORS = [0.1, 0.2, 0.35]
CAUSES = ("pool", "cpu", "db_connections", "pgbouncer_queue", "redis", "memory",
          "load_balancer", "errors", "none", "unknown")


def within_slo(step: dict) -> bool:
    return (step.get("requests", 0) > 0 and step.get("p95_ms") is not None
            and step["p95_ms"] < SLO["p95_ms"] and step["error_rate"] < SLO["error_rate"])


# --- the cause at the break --------------------------------------------------------------

def host_tiers(sizes: dict) -> dict[str, str]:
    """{container: tier} of the lab's hosts, from the deploy's sizes.json (capacity.lab_sizes;
    stage 1's one host is its app host)."""
    return {h["container"]: host_tier(h["groups"]) for h in sizes["lab_sizes"].values()}


def classify(step: dict, hosts: dict[str, dict], tiers: dict[str, str], pool: dict,
             prom: dict | None = None) -> tuple[str, str]:
    """(cause, evidence) of a step past the SLO, from its hosts' cgroup figures (``hosts``:
    ``cgroups.window``), the app pool's figures (``breaking.aggregate``) and, when the lab
    has Prometheus, the database side (``prom``: pgbouncer clients waiting, connections in
    use against max_connections). A pool that makes requests wait while the app hosts are
    below their quota is the pool; waits while the hosts are at their quota are the CPU's."""
    prom = prom or {}
    pgb_waiting = (prom.get("pgbouncer") or {}).get("max_waiting_clients") or 0
    db_used = (prom.get("postgres") or {}).get("max_used_fraction") or 0

    def tier(name):
        return {c: h for c, h in hosts.items() if tiers.get(c) == name}

    def at_quota(group):
        def limited(h):
            share, throttled = h.get("quota_share") or 0, h.get("throttled_share") or 0
            return share >= SATURATED or (share >= BUSY and throttled >= THROTTLED)
        return {c: h for c, h in group.items() if limited(h)}

    def show(group):
        return ", ".join(f"{c} {h['cores']:.3f}/{h['quota_cores'] or 0:.3f} cores "
                         f"({h['throttled_share']:.0%} of periods throttled)"
                         for c, h in sorted(group.items()))
    memory = {c: h for c, h in hosts.items() if h.get("mem_failcnt") or
              (h.get("mem_peak_share") or 0) >= 0.98}
    if memory:
        return "memory", "at the memory limit: " + ", ".join(sorted(memory))
    app = tier("app")
    busy_app = at_quota(app)
    waiting, timeouts = pool.get("pool_waiting_mean") or 0.0, pool.get("pool_timeouts") or 0
    if busy_app and len(busy_app) == len(app):
        extra = (f"; the pool had {waiting:.1f} waiting, {timeouts:.0f} timeouts (a symptom)"
                 if waiting >= 1 or timeouts else "")
        return "cpu", f"app hosts at their CPU quota: {show(busy_app)}{extra}"
    if timeouts or waiting >= 1:
        return "pool", (f"{timeouts:.0f} pool timeouts, {waiting:.1f} requests waiting for a "
                        f"connection on average, app hosts below their quota: {show(app)}")
    if pgb_waiting >= 1:
        return "pgbouncer_queue", (f"up to {pgb_waiting:.0f} clients waiting in pgbouncer for a "
                                   f"server connection, app hosts below their quota: {show(app)}")
    if db_used >= 0.95:
        return "db_connections", f"{db_used:.0%} of PostgreSQL's max_connections in use"
    for name, cause in (("db", "cpu"), ("redis", "redis"), ("lb", "load_balancer")):
        busy = at_quota(tier(name))
        if busy:
            return cause, f"{name} host at its CPU quota: {show(busy)}"
    if busy_app:
        return "cpu", f"some app hosts at their CPU quota: {show(busy_app)}"
    if step.get("error_rate", 0) >= SLO["error_rate"]:
        return "errors", f"error rate {step['error_rate']:.1%} with no host at its limits"
    return "unknown", f"p95 {step['p95_ms']:.0f} ms with no host at its limits: {show(hosts)}"


def prometheus(stage: str, step: str = promql.DEFAULT_STEP,
               wait_s: float = 30) -> tuple[promql.Prometheus | None, list[str]]:
    """The lab's Prometheus (tools/lab/up.sh publishes it on 127.0.0.1:909N) scraping every
    ``step``, if it answers, and the targets it still fails to scrape after up to ``wait_s``
    (a fresh deploy's first scrapes): a round with any is not one "with Prometheus"."""
    prom = promql.Prometheus(f"http://127.0.0.1:{lab.ports(stage)['prometheus']}", timeout=5,
                             step=step)
    deadline = time.monotonic() + wait_s
    try:
        while (down := promql.targets_down(prom)) and time.monotonic() < deadline:
            time.sleep(2)
    except promql.PrometheusError:
        return None, []
    if down:
        print(f"=== Prometheus cannot scrape: {', '.join(down)} (its step figures lack them)",
              flush=True)
    return prom, down


def prom_figures(prom: promql.Prometheus | None, start: float, end: float) -> dict:
    """``promql.step_figures`` of a step ({} without Prometheus, or when it failed to answer)."""
    if prom is None:
        return {}
    try:
        return promql.step_figures(prom, start, end)
    except promql.PrometheusError as exc:
        return {"error": str(exc)}


def cause_at_break(record: dict, loop: str = "closed_loop") -> tuple[str, str]:
    """(cause, evidence) at the break of a round's closed (or open) loop, from its steps as
    round.json keeps them (the report re-derives every round's causes this way, so one
    classify judges them all)."""
    _, broke, _ = capacity_of(record[loop], "users" if loop == "closed_loop" else "rate")
    if not broke:
        return "none", "held the SLO at every step run"
    return classify(broke, broke["hosts"], record["tiers"], broke.get("pool") or {},
                    broke.get("prom"))


def generator_share(samples: list[dict], t0: float, t1: float) -> float | None:
    """The generator's mean CPU over a step, as a share of its own capacity."""
    res = aggregate(samples, t0, t1)
    gen, cap = res.get("generator_cpu"), res.get("generator_capacity")
    return round(gen / cap, 4) if gen is not None and cap else None


def capacity_of(steps: list[dict], key: str) -> tuple[float, dict | None, bool]:
    """(the most ``key`` held within the SLO before the first break, the breaking step,
    whether every step up to the break was valid). An invalid step ends the claim: nothing
    past it was measured with a generator that kept up."""
    held, valid = 0.0, True
    for s in steps:
        if not s.get("valid", True):
            return held, None, False
        if not within_slo(s):
            return held, s, valid
        held = max(held, s[key])
    return held, None, valid


# --- one round ----------------------------------------------------------------------------

def deploy(config: str, profile: str, arm: str, credits: str) -> float:
    stage, inventory = CONFIGS[config]
    env = {**os.environ, "STAGE": stage, "LAB_PROFILE": profile, "LAB_ARM": arm,
           "LAB_CREDITS": credits, "LAB_INVENTORY": inventory,
           "LAB_SKIP_TAGS": DEPLOY_SKIP_TAGS.get(arm, "")}
    t0 = time.monotonic()
    subprocess.run(["tools/lab/up.sh"], cwd=ROOT, env=env, check=True, timeout=1200)
    return round(time.monotonic() - t0, 1)


def probe(target: str, checks: dict, targets: int, stop: threading.Event, counts: dict) -> None:
    """A load balancer's health checks (``capacity.arms.health_checks``): every interval,
    ``per_target`` GETs of the path for each of ``targets`` app hosts (through the lab's load
    balancer, which spreads them over the hosts), until ``stop``. Counts sent and failed."""
    while not stop.is_set():
        for _ in range(checks["per_target"] * targets):
            try:
                urllib.request.urlopen(target + checks["path"], timeout=5).read()
                counts["ok"] += 1
            except OSError:
                counts["failed"] += 1
        stop.wait(checks["interval_s"])


def pause_timers(stage: str, sizes: dict) -> dict[str, list[str]]:
    """Stop the periodic work of the lab's hosts while a round measures: every active systemd
    timer of its systemd hosts (the reaper's, apt's daily runs, fstrim, ...) and stage 3's
    reaper stand-in container. Returns what was stopped ({container: [timer, ...]}, the
    stand-in as ``[]``), for ``resume_timers``. A reaper pass costs a fixed ~0.6 CPU-seconds,
    nearly all of it the interpreter importing the app: about 1 % of an instance's vCPU each
    minute, but 8 % of a lab host at 0.125 core per vCPU and a quarter of a 20 s step's budget
    when it falls in one (stage 1's breaks met a pass every time; loadtest/results/capacity/
    superseded/). The load mix creates no orders: nothing is left for the reaper meanwhile."""
    paused: dict[str, list[str]] = {}
    for host in sizes["lab_sizes"].values():
        if "app_image" in host["groups"]:       # stage 3's app containers: no systemd
            continue
        ctr = host["container"]
        listed = subprocess.run(["podman", "exec", ctr, "systemctl", "list-units", "--type=timer",
                                 "--state=active", "--plain", "--no-legend"], check=True,
                                capture_output=True, text=True, timeout=60).stdout
        timers = [line.split()[0] for line in listed.splitlines() if line.strip()]
        if timers:
            subprocess.run(["podman", "exec", ctr, "systemctl", "stop", *timers], check=True,
                           capture_output=True, timeout=60)
            paused[ctr] = timers
    if stage == "3":
        subprocess.run(["podman", "stop", f"shoplab-s{stage}-reaper"], check=True,
                       capture_output=True, timeout=60)
        paused[f"shoplab-s{stage}-reaper"] = []
    return paused


def resume_timers(paused: dict[str, list[str]]) -> None:
    for ctr, timers in paused.items():
        cmd = (["podman", "exec", ctr, "systemctl", "start", *timers] if timers
               else ["podman", "start", ctr])
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def calm_down(limit_s: float = 120.0) -> None:
    """Wait (bounded) for the deploy's load to decay before measuring."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and os.getloadavg()[0] > machine.BUSY_LOAD_PER_CPU * (os.cpu_count() or 1):
        time.sleep(5)


def warm_up(target: str, seconds: float) -> int:
    """Requests of the mix's routes, one at a time, for ``seconds``: caches and pools warm."""
    paths = ["/api/products", "/api/products/1", "/api/products/search?q=home", "/api/products/7"]
    n, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(target + paths[n % len(paths)], timeout=5).read()
        except OSError:
            pass
        n += 1
    return n


def run_round(config: str, profile: str, arm: str, credits: str, quick: bool,
              out: Path = RESULTS) -> Path:
    stage = CONFIGS[config][0]
    target = lab.url(stage)
    scale = cores_per_vcpu()
    name = (f"{config}-{profile}-{arm}" + ("-exhausted" if credits == "exhausted" else "")
            + (f"-x{scale:g}" if scale != DEFAULT_CORES_PER_VCPU else ""))
    rdir = out / name / (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + ("-quick" if quick else ""))
    rdir.mkdir(parents=True)
    record = {"config": config, "stage": stage, "profile": profile, "arm": arm,
              "credits": credits, "quick": quick, "slo": SLO, "started": time.time()}
    record["deploy_seconds"] = deploy(config, profile, arm, credits)
    lab.trust_ca()    # created by the deploy: every client of the round verifies the lab's edge
    record["target"] = target
    os.sched_setaffinity(0, cpu_list(cpu_sets()[1]))   # everything from here on: generator CPUs
    record["sizes"] = json.loads((ROOT / f".state/lab/stage{stage}/sizes.json").read_text())
    record["lab_cores_per_vcpu"] = record["sizes"]["lab_cores_per_vcpu"]
    tiers = host_tiers(record["sizes"])
    paused = record["paused_timers"] = pause_timers(stage, record["sizes"])
    try:
        measure(record, rdir, stage, name, target, arm, tiers, quick)
    finally:
        resume_timers(paused)
    (rdir / "round.json").write_text(json.dumps(record, indent=2))
    print(f"=== {name}: {record['capacity_users_at_slo']} users, {record['capacity_rps_at_slo']} "
          f"req/s at the SLO; break: {record['breaking_point_cause']} "
          f"({record['breaking_point_evidence']}); valid {record['valid']}", flush=True)
    return rdir


def measure(record: dict, rdir: Path, stage: str, name: str, target: str, arm: str,
            tiers: dict[str, str], quick: bool) -> None:
    """The measured part of a round, into ``record``: machine state, closed then open loop."""
    calm_down(30 if quick else 120)
    record["machine"] = machine.snapshot(5)
    record["machine"]["speed"] = machine.speed()    # after the snapshot: not counted as other CPU
    record["busy"] = machine.busy(record["machine"])
    containers = cgroups.lab_containers(f"shoplab.lab=stage{stage}")
    prom, record["prometheus_down"] = prometheus(
        stage, record["sizes"].get("monitoring_scrape_interval", promql.DEFAULT_STEP))
    record["prometheus"] = prom is not None and not record["prometheus_down"]
    sampler = cgroups.CgroupSampler(rdir / "cgroup.jsonl", containers)
    sampler.start()
    checks, stop, counts = health_checks(arm, stage), threading.Event(), {"ok": 0, "failed": 0}
    if checks:
        record["health_checks"] = {**checks, "counts": counts}
        threading.Thread(target=probe, daemon=True, args=(
            target, checks, sum(1 for t in tiers.values() if t == "app"), stop, counts)).start()
    try:
        record["warm_up_requests"] = warm_up(target, 5 if quick else 20)
        run_dir = closed_loop(target, stage, name, rdir, quick)
        steps = closed_steps(run_dir, rdir, prom)
        closed_cap, _, _ = capacity_of(steps, "users")
        open_steps = open_loop(target, rdir, closed_cap / MEAN_THINK_S, quick)
    finally:
        stop.set()
        sampler.stop()
    record.update(analyse(rdir, tiers, steps, open_steps, prom), run_dir=run_dir.name)
    record["finished"] = time.time()


def closed_loop(target: str, stage: str, name: str, rdir: Path, quick: bool) -> Path:
    steps = USER_STEPS[:10] if quick else USER_STEPS
    run.main(["--target", target, "--stage", name, "--hosts", "podman",
              "--podman-prefix", f"shoplab-s{stage}-", "--phases", "search",
              "--search-steps", ",".join(map(str, steps)),
              "--measure", "8" if quick else "20", "--settle", "4" if quick else "10",
              "--p95-limit", str(SLO["p95_ms"]), "--error-limit", str(SLO["error_rate"]),
              "--out", str(rdir)])
    [run_dir] = [d for d in rdir.iterdir() if d.is_dir()]
    return run_dir


def closed_steps(run_dir: Path, rdir: Path, prom: promql.Prometheus | None = None) -> list[dict]:
    """The closed loop's steps, each with its generator share, hosts and pool figures (the
    closed loop is over before the open loop starts: its cgroup samples are complete)."""
    samples = read_jsonl(run_dir / "samples.jsonl")
    cg = read_jsonl(rdir / "cgroup.jsonl")
    steps = [s for s in read_jsonl(run_dir / "steps.jsonl") if s.get("phase") == "search"]
    for s in steps:
        share = generator_share(samples, s["t_start"], s["t_end"])
        s.update(generator_cpu_share=share, valid=share is None or share <= GENERATOR_LIMIT,
                 hosts=cgroups.window(cg, s["t_start"], s["t_end"]),
                 pool=aggregate(samples, s["t_start"], s["t_end"]),
                 prom=prom_figures(prom, s["t_start"], s["t_end"]))
    return steps


def open_loop(target: str, rdir: Path, estimate_rps: float, quick: bool) -> list[dict]:
    """The sweep around ``estimate_rps``, and below it if its first rate was already past the
    SLO; the steps in the order of their rates."""
    base = max(5.0, estimate_rps)
    kw = {"measure_s": 8 if quick else 20, "warmup_s": 2 if quick else 5,
          "out_path": rdir / "openloop.jsonl"}
    factors = RATE_FACTORS[:5] if quick else RATE_FACTORS
    steps = sweep(target, [round(base * f, 1) for f in factors], **kw)
    if steps and not within_slo(steps[0]):
        steps = sweep(target, [round(base * f, 1) for f in LOWER_RATE_FACTORS], **kw) + steps
    return steps


def analyse(rdir: Path, tiers: dict[str, str], steps: list[dict], open_steps: list[dict],
            prom: promql.Prometheus | None = None) -> dict:
    cg = read_jsonl(rdir / "cgroup.jsonl")
    for s in open_steps:
        s["valid"] = (s.get("generator_cpu_share") or 0) <= GENERATOR_LIMIT
        s["hosts"] = cgroups.window(cg, s["started"], s["ended"])
        s["prom"] = prom_figures(prom, s["started"], s["ended"])
    users, broke, valid_c = capacity_of(steps, "users")
    rps, broke_open, valid_o = capacity_of(open_steps, "rate")
    app_quota = sum((steps[0]["hosts"].get(c, {}).get("quota_cores") or 0)
                    for c, t in tiers.items() if t == "app") if steps else None
    gen = [s.get("generator_cpu_share") for s in steps + open_steps
           if s.get("generator_cpu_share") is not None]
    out = {
        "capacity_users_at_slo": users, "capacity_rps_at_slo": rps,
        "breaking_point_users": broke["users"] if broke else None,
        "breaking_point_rate": broke_open["rate"] if broke_open else None,
        "generator_cpu_share_max": max(gen) if gen else None,
        "valid": valid_c and valid_o, "cpu_limit_cores": round(app_quota, 4) if app_quota else None,
        "tiers": tiers, "closed_loop": [_brief(s) for s in steps],
        "open_loop": [_brief(s) for s in open_steps],
    }
    out["breaking_point_cause"], out["breaking_point_evidence"] = cause_at_break(out)
    out["open_loop_cause"] = cause_at_break(out, "open_loop")[0]
    return out


def _brief(s: dict) -> dict:
    keep = ("users", "rate", "rps", "achieved_rps", "sent", "requests", "completed", "p50_ms",
            "p95_ms", "p99_ms", "error_rate", "generator_cpu_share", "valid", "t_start", "t_end",
            "started", "ended")
    out = {k: s[k] for k in keep if k in s}
    out["hosts"] = s.get("hosts", {})
    if s.get("prom"):
        out["prom"] = s["prom"]
    if s.get("pool"):
        out["pool"] = {k: s["pool"].get(k) for k in ("pool_waiting_mean", "pool_waiting_max",
                                                     "pool_timeouts", "pool_wait_ms_per_request")}
    return out


def order(items: list[str], round_no: int, rounds: int, last: str = "shoplab") -> list[str]:
    """The arms (or configurations) of one round: alternating A B / B A between rounds, the
    last round ending with ``last``, so the lab is left running as Shoplab deploys it."""
    final = sorted(items, key=lambda a: a == last)
    return final if (rounds - 1 - round_no) % 2 == 0 else final[::-1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="measure rounds of configurations, arms interleaved")
    r.add_argument("--config", required=True,
                   help=f"one or more of {', '.join(CONFIGS)}, comma-separated: interleaved "
                        "in each round, the first one deployed last")
    r.add_argument("--profile", default="reference", choices=PROFILES)
    r.add_argument("--arms", default=",".join(ARMS),
                   help=f"comma-separated arms ({', '.join(ALL_ARMS)}) or experiments "
                        f"({', '.join(EXPERIMENTS)}: both of its arms)")
    r.add_argument("--credits", default="burst", choices=("burst", "exhausted"))
    r.add_argument("--rounds", type=int, default=3)
    r.add_argument("--quick", action="store_true", help="short steps: checks the pipeline")
    args = p.parse_args(argv)
    arms = [arm for a in args.arms.split(",") if a for arm in EXPERIMENTS.get(a, (a,))]
    configs = [c for c in args.config.split(",") if c]
    for kind, got, known in (("arm", arms, ALL_ARMS), ("config", configs, CONFIGS)):
        unknown = set(got) - set(known)
        if unknown or not got:
            p.error(f"unknown {kind}(s) {', '.join(sorted(unknown))}; known: {', '.join(known)}")
    if any(CONFIGS[c][0] == "3" for c in configs):   # its app hosts run the shop's image
        subprocess.run(["tools/build-app-image.sh"], cwd=ROOT, check=True, timeout=1800)
    for n in range(args.rounds):
        for config in order(configs, n, args.rounds, last=configs[0]):
            for arm in order(arms, n, args.rounds):
                print(f"=== round {n + 1}/{args.rounds}: config {config}, {args.profile}, "
                      f"arm {arm}", flush=True)
                run_round(config, args.profile, arm, args.credits, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
