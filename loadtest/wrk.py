"""No-think-time runs with wrk (locust would be the bottleneck long before the shop is):
fixed connections for a fixed time, results read from the JSON line of wrk/report.lua."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

LUA = Path(__file__).with_name("wrk") / "report.lua"
MARKER = "WRK_JSON "


def parse_output(stdout: str, connections: int) -> dict:
    """A step record (same keys as the locust shape's) from wrk's output."""
    line = next((l for l in stdout.splitlines() if l.startswith(MARKER)), None)
    if line is None:
        raise ValueError("wrk printed no WRK_JSON line (did the Lua script load?)")
    raw = json.loads(line[len(MARKER):])
    seconds = raw["duration_us"] / 1e6
    e = raw["errors"]
    # socket errors are not counted as requests by wrk; non-2xx/3xx are ("status")
    failures = e["status"] + e["connect"] + e["read"] + e["write"] + e["timeout"]
    attempts = raw["requests"] + e["connect"] + e["read"] + e["write"] + e["timeout"]
    lat = {k: v / 1000.0 for k, v in raw["latency_us"].items()}
    return {
        "users": connections, "requests": raw["requests"], "failures": failures,
        "error_rate": failures / attempts if attempts else 0.0,
        "rps": (raw["requests"] - e["status"]) / seconds if seconds else 0.0,
        "avg_ms": lat["mean"], "p50_ms": lat["p50"], "p95_ms": lat["p95"],
        "p99_ms": lat["p99"], "max_ms": lat["max"], "errors": e, "seconds": seconds,
    }


def run(url: str, connections: int, seconds: float, threads: int = 2, paths=None,
        on_start=None, clients: int = 0) -> dict:
    """Run wrk once (bounded by its own -d plus a margin) and return the step record.
    ``on_start(pid, capacity)`` lets the sampler count wrk as the generator. ``clients`` > 0:
    requests carry X-Forwarded-For with that many client addresses in turn (report.lua)."""
    env = dict(os.environ)
    env.pop("WRK_CLIENTS", None)
    if paths:
        env["WRK_PATHS"] = ",".join(paths)
    if clients:
        env["WRK_CLIENTS"] = str(clients)
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "5s",
            "--latency", "-s", str(LUA), url]
    t0 = time.time()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    if on_start:
        on_start(proc.pid, 100.0 * threads)
    try:
        out, _ = proc.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise
    rec = parse_output(out, connections)
    rec.update(t_start=t0, t_end=time.time(), url=url, threads=threads)
    return rec
