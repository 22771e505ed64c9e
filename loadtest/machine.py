"""The machine's state before a measured round: is anything else using the CPUs?

``snapshot(seconds)`` watches for a few seconds and returns the load averages, CPU steal (the
hypervisor taking time from this VM), CPU pressure (PSI ``some avg10``), and the CPU of every
process that is neither a lab container's nor this process tree's, the busiest named.
``busy(state)`` says whether a round taken now would be measured on a busy machine; such a
round is kept but flagged, and the report can leave it out.

``speed()`` times a fixed pure-Python loop on each CPU: how fast this VM runs the interpreter
now. The lab's hosts get a share of a core, not a share of work, so a round on a slower
machine holds fewer users; rounds are compared within one run, and the report shows how far
the speed moved between the rounds it combines (loadtest/capacity_report.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

BUSY_OTHER_CORES = 0.10     # other processes using more than a tenth of a core
BUSY_STEAL = 0.02           # more than 2 % of CPU time stolen
BUSY_LOAD_PER_CPU = 0.5     # 1-minute load average per CPU
SPEED_LOOPS = 1_000_000     # iterations of the calibration loop (~0.1 s on this machine)
SPEED_REPEATS = 3           # the best of three: the CPU's speed, not its neighbours' noise

# run in a child pinned to one CPU; prints the loop's iterations per second
_CALIBRATION = """
import time
best = 0.0
for _ in range({repeats}):
    t0, x = time.perf_counter(), 0
    for i in range({loops}):
        x = (x * 31 + i) & 0xFFFFFFFF
    best = max(best, {loops} / (time.perf_counter() - t0))
print(best)
"""


def _cpu_times() -> dict:
    t = psutil.cpu_times()
    return {"total": sum(t), "steal": getattr(t, "steal", 0.0)}


def _psi() -> float | None:
    try:
        for line in open("/proc/pressure/cpu"):
            if line.startswith("some"):
                return float(dict(f.split("=") for f in line.split()[1:])["avg10"])
    except (OSError, KeyError, ValueError):
        return None
    return None


def _ours() -> set[int]:
    me = psutil.Process()
    return {me.pid, *(c.pid for c in me.children(recursive=True))}


def _in_container(proc: psutil.Process) -> bool:
    try:
        return "libpod" in open(f"/proc/{proc.pid}/cgroup").read()
    except OSError:
        return True          # gone: not ours to count


def snapshot(seconds: float = 5.0) -> dict:
    procs = {p.pid: p for p in psutil.process_iter()}
    before = {}
    for pid, p in procs.items():
        try:
            t = p.cpu_times()
            before[pid] = t.user + t.system
        except psutil.Error:
            pass
    cpu0, t0 = _cpu_times(), time.monotonic()
    time.sleep(seconds)
    cpu1, dt = _cpu_times(), time.monotonic() - t0
    ours, others = _ours(), {}
    for pid, start in before.items():
        p = procs[pid]
        if pid in ours or _in_container(p):
            continue
        try:
            t = p.cpu_times()
            used = (t.user + t.system - start) / dt
            if used > 0.005:
                others[f"{p.name()}[{pid}]"] = round(used, 3)
        except psutil.Error:
            pass
    total = cpu1["total"] - cpu0["total"]
    return {"t": time.time(), "load_avg": [round(x, 2) for x in os.getloadavg()],
            "cpus": psutil.cpu_count(), "steal_share": round((cpu1["steal"] - cpu0["steal"]) / total, 4)
            if total > 0 else 0.0,
            "psi_cpu_some_avg10": _psi(),
            "other_cores": round(sum(others.values()), 3),
            "other_busiest": dict(sorted(others.items(), key=lambda kv: -kv[1])[:5])}


def speed(cpus: list[int] | None = None, loops: int = SPEED_LOOPS,
          repeats: int = SPEED_REPEATS) -> dict[str, float]:
    """{cpu: calibration-loop iterations per second}, each CPU measured alone (taskset)."""
    code = _CALIBRATION.format(loops=loops, repeats=repeats)
    out = {}
    for cpu in cpus if cpus is not None else range(os.cpu_count() or 1):
        run = subprocess.run(["taskset", "-c", str(cpu), sys.executable, "-c", code],
                             capture_output=True, text=True, check=True, timeout=60)
        out[str(cpu)] = round(float(run.stdout))
    return out


def busy(state: dict) -> list[str]:
    """Why a round taken in this state is on a busy machine ([] when it is quiet)."""
    reasons = []
    if state["other_cores"] > BUSY_OTHER_CORES:
        reasons.append(f"other processes used {state['other_cores']:.2f} cores "
                       f"({', '.join(state['other_busiest'])})")
    if state["steal_share"] > BUSY_STEAL:
        reasons.append(f"steal {state['steal_share']:.1%}")
    if state["load_avg"][0] > BUSY_LOAD_PER_CPU * state["cpus"]:
        reasons.append(f"load average {state['load_avg'][0]} on {state['cpus']} CPUs")
    return reasons
