"""Measure one deployed stage: the reference's stage-1 ramp, no-think-time runs with wrk, the
shopper journey and the step-load search for the breaking point, with the generator's CPU,
the hosts' CPU and the app's pool sampled throughout; then write the report.

    python -m loadtest.run --target https://127.0.0.1:8441 --cafile .state/lab-ca/ca.crt \
        --stage 1 --hosts podman
    python -m loadtest.run --target http://127.0.0.1:8080 --stage run --quick   # pipeline check

Every phase is bounded in time (the plan's own length plus a margin) and prints one line per
step as it goes. Results: loadtest/results/<stage>-<UTC timestamp>/ (see loadtest/report.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from edge import lab
from loadtest import report, wrk
from loadtest.plan import StepPlan
from loadtest.samplers import (AppMetrics, LocalStack, NoHosts, PodmanContainers, Sampler,
                               lab_app_urls)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "loadtest" / "results"
LOCUSTFILE = ROOT / "loadtest" / "locustfile.py"
# the routes the no-think runs compare: a trivial Falcon route and the product listing
TRIVIAL_PATH, LISTING_PATH = "/healthz", "/api/products"
PHASES = ("ramp", "nothink", "journey", "search")


def csv_ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", help="base URL of the deployed shop")
    p.add_argument("--cafile", help="the only CA every client trusts (the lab's: edge/lab.py); "
                                    "default: the system's")
    p.add_argument("--devstack", action="store_true",
                   help="instead of --target: start a throwaway shop on loopback "
                        "(loadtest/stacks.py, rate limits off) and measure that")
    p.add_argument("--stage", required=True, help="stage name for the report (1, 2, run, ...)")
    p.add_argument("--hosts", choices=["local", "podman", "none"], default="none",
                   help="where the hosts' CPU comes from: `make run` processes, the lab's "
                        "containers, or nothing (a remote target)")
    p.add_argument("--state", default=str(ROOT / ".state" / "run"),
                   help="devstack state dir (for --hosts local)")
    p.add_argument("--podman-prefix", default="shoplab", help="lab container name prefix")
    p.add_argument("--app-port", type=int, default=8000,
                   help="gunicorn's port on the lab's app hosts (their /metrics are scraped "
                        "directly when reachable, else through --target)")
    p.add_argument("--phases", default=",".join(PHASES))
    p.add_argument("--ramp-steps", type=csv_ints, default=[10, 50, 100, 200])
    p.add_argument("--search-steps", type=csv_ints,
                   default=[100, 200, 300, 500, 700, 1000, 1250, 1500, 2000, 2500, 3000, 4000])
    p.add_argument("--journey-steps", type=csv_ints, default=[10, 50])
    p.add_argument("--measure", type=float, default=60.0, help="seconds measured per step")
    p.add_argument("--settle", type=float, default=10.0, help="seconds before measuring a step")
    p.add_argument("--spawn-rate", type=float, default=100.0)
    p.add_argument("--nothink-seconds", type=float, default=15.0)
    p.add_argument("--nothink-connections", type=int, default=200)
    p.add_argument("--nothink-rounds", type=int, default=3,
                   help="alternating trivial/listing rounds (medians are reported)")
    p.add_argument("--p95-limit", type=float, default=500.0,
                   help="p95 (ms) past which a step of the search is the breaking point")
    p.add_argument("--error-limit", type=float, default=0.01)
    p.add_argument("--locust-processes", type=int, default=1,
                   help=">1 runs locust with --processes N (more generator CPU)")
    p.add_argument("--deploy-seconds", type=float, default=None,
                   help="how long `make lab` took to deploy this stage (for the report)")
    p.add_argument("--generator-cpus", default=None,
                   help="CPU list the generator (this process, locust, wrk, the samplers) runs "
                        "on, apart from the hosts under test; default with --hosts podman: the "
                        "lab's generator set (capacity/lab_sizes.py), else unpinned")
    p.add_argument("--quick", action="store_true",
                   help="short steps to check the pipeline (numbers are not a result)")
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    if not args.target and not args.devstack:
        p.error("--target URL or --devstack is required")
    if args.quick:
        args.measure, args.settle, args.nothink_seconds, args.nothink_rounds = 10, 3, 5, 1
        args.search_steps = args.search_steps[:4]
    return args


def host_sampler(args):
    if args.hosts == "local":
        return LocalStack(Path(args.state))
    if args.hosts == "podman":
        return PodmanContainers(args.podman_prefix)
    return NoHosts()


def wait_ready(target: str, timeout: float = 60.0) -> None:
    from loadtest.stacks import devstack
    try:
        devstack.wait_ready(target, timeout, interval=1.0)
    except TimeoutError as exc:
        raise SystemExit(f"{exc}: is the stage up?") from None


def run_locust(args, run_dir: Path, sampler: Sampler, plan: StepPlan, user_class: str) -> int:
    """One locust phase, killed if it outlives its plan; step lines echoed as they come."""
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "--host", args.target, "--csv", str(run_dir / plan.phase), "--only-summary",
            "--loglevel", "WARNING", "--logfile", str(run_dir / f"{plan.phase}-locust.log"),
            "--html", str(run_dir / f"{plan.phase}-locust.html"),
            *(["--processes", str(args.locust_processes)] if args.locust_processes > 1 else []),
            user_class]
    env = {**os.environ, **plan.to_env(), "PYTHONPATH": str(ROOT)}
    log = open(run_dir / f"{plan.phase}-locust.out", "w")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=ROOT, start_new_session=True)
    sampler.watch_generator(proc.pid, 100.0 * max(1, args.locust_processes))
    killed = threading.Event()

    def kill():  # the phase outlived its plan: stop locust (our own process group)
        killed.set()
        os.killpg(proc.pid, signal.SIGTERM)

    timer = threading.Timer(plan.max_seconds(), kill)
    timer.start()
    try:
        for line in proc.stdout:
            log.write(line)
            if line.startswith("["):
                print(line.rstrip(), flush=True)
        rc = proc.wait(timeout=30)
    finally:
        timer.cancel()
        sampler.watch_generator(None)
        log.close()
    if killed.is_set() or rc not in (0, 1):  # 1 = some requests failed
        print(f"[{plan.phase}] locust exited {rc}"
              + (" (killed at its time limit)" if killed.is_set() else ""), flush=True)
    return rc


def run_nothink(args, run_dir: Path, sampler: Sampler) -> None:
    """wrk, fixed connections, no think time: trivial route and listing, alternating rounds in
    one run (the bench ratio of the stage as deployed) - records appended to steps.jsonl.
    One client address per connection (X-Forwarded-For), as the locust users have one each."""
    with open(run_dir / "steps.jsonl", "a") as f:
        for rnd in range(args.nothink_rounds):
            for route, path in (("trivial", TRIVIAL_PATH), ("listing", LISTING_PATH)):
                rec = wrk.run(args.target + path, args.nothink_connections, args.nothink_seconds,
                              on_start=sampler.watch_generator, clients=args.nothink_connections)
                sampler.watch_generator(None)
                rec.update(phase="nothink", route=route, round=rnd)
                f.write(json.dumps(rec) + "\n")
                print(f"[nothink] round {rnd + 1}/{args.nothink_rounds} {route}: "
                      f"{rec['rps']:.0f} req/s p95 {rec['p95_ms']:.1f} ms errors "
                      f"{rec['error_rate']:.2%}", flush=True)
                time.sleep(2)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.devstack:
        return measure(args)
    from loadtest import stacks
    with stacks.shop(f"run-{args.stage}", loadtest_products=20) as stack:
        args.target, args.hosts, args.state = stack.shop_url, "local", str(stack.state)
        return measure(args)


def cpu_list(text: str) -> set[int]:
    """"0-1,3" -> {0, 1, 3}"""
    cpus: set[int] = set()
    for part in filter(None, text.split(",")):
        a, _, b = part.partition("-")
        cpus.update(range(int(a), int(b or a) + 1))
    return cpus


def pin_generator(args) -> str | None:
    """Run the generator (this process and every child it starts) on its own CPUs."""
    cpus = args.generator_cpus
    if cpus is None and args.hosts == "podman":
        from capacity.lab_sizes import cpu_sets
        cpus = cpu_sets()[1]
    if cpus:
        os.sched_setaffinity(0, cpu_list(cpus))
    return cpus


def measure(args) -> int:
    args.target = args.target.rstrip("/")
    if args.cafile:
        lab.trust_ca(args.cafile)
    generator_cpus = pin_generator(args)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    run_dir = Path(args.out) / (f"{args.stage}-{stamp}" + ("-quick" if args.quick else ""))
    run_dir.mkdir(parents=True)
    wait_ready(args.target)
    meta = {"stage": args.stage, "target": args.target, "started": time.time(),
            "generator_cpus": generator_cpus,
            "quick": args.quick, "args": {k: v for k, v in vars(args).items()},
            "machine": {"cpus": psutil.cpu_count(), "load_before": os.getloadavg(),
                        "platform": platform.platform()},
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                     capture_output=True, text=True).stdout.strip(),
            # uncommitted changes outside the results: the commit alone does not say what ran
            "dirty": bool(subprocess.run(["git", "status", "--porcelain", "--", ".",
                                          ":!loadtest/results"], cwd=ROOT, capture_output=True,
                                         text=True).stdout.strip())}
    print(f"results in {run_dir} (load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})", flush=True)
    app_urls = lab_app_urls(args.podman_prefix, args.app_port) if args.hosts == "podman" else []
    print("pool metrics from " + (", ".join(app_urls) if app_urls else f"{args.target}/metrics"),
          flush=True)
    meta["metrics_from"] = app_urls or [args.target]
    sampler = Sampler(run_dir / "samples.jsonl", host_sampler(args),
                      AppMetrics(args.target, app_urls=app_urls))
    sampler.start()
    steps_log = str(run_dir / "steps.jsonl")
    common = dict(step_log=steps_log, measure_s=args.measure, settle_s=args.settle,
                  spawn_rate=args.spawn_rate)
    phases = [x for x in args.phases.split(",") if x]
    try:
        for phase in phases:
            if phase == "ramp":
                run_locust(args, run_dir, sampler,
                           StepPlan("ramp", args.ramp_steps, **common), "ListingUser")
            elif phase == "nothink":
                run_nothink(args, run_dir, sampler)
            elif phase == "journey":
                run_locust(args, run_dir, sampler,
                           StepPlan("journey", args.journey_steps, **common), "ShopperUser")
            elif phase == "search":
                run_locust(args, run_dir, sampler,
                           StepPlan("search", args.search_steps, stop_p95_ms=args.p95_limit,
                                    stop_error_rate=args.error_limit, **common), "MixUser")
            else:
                raise SystemExit(f"unknown phase {phase!r} (known: {', '.join(PHASES)})")
            time.sleep(3)
    finally:
        sampler.stop()
        meta.update(finished=time.time(), load_after=os.getloadavg(),
                    deploy_seconds=args.deploy_seconds,
                    limits={"p95_ms": args.p95_limit, "error_rate": args.error_limit})
        (run_dir / "meta.json").write_text(json.dumps(meta, indent=2))
    summary = report.build(run_dir)
    print(f"\nreport: {run_dir / 'summary.md'}\n"
          f"breaking point: {summary['breaking_point_users']} users "
          f"({summary['breaking_point_cause']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
