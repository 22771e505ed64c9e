"""Per-container CPU, CPU throttling and memory of the lab's hosts, straight from cgroup v1.

No exporter gives these for podman containers here (cAdvisor is not in Debian), and they are
the signal of the sized lab: a host at its quota shows ``nr_throttled`` rising. Files read
per container (podman's cgroupfs layout, ``/sys/fs/cgroup/<controller>/libpod_parent/
libpod-<id>``): ``cpuacct.usage`` (ns), ``cpu.stat`` (nr_periods, nr_throttled,
throttled_time), ``cpu.cfs_quota_us``/``cpu.cfs_period_us``, ``memory.usage_in_bytes``,
``memory.limit_in_bytes``, ``memory.failcnt``.

``CgroupSampler`` appends one JSON line per interval (read back with
``loadtest.report.read_jsonl``); ``window`` turns the lines inside a
step's [start, end] into per-container figures: cores used, share of the quota, share of
periods throttled, peak memory against the limit.
"""
from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
PARENT = "libpod_parent"


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _int(path: Path) -> int | None:
    text = _read(path)
    return int(text.strip()) if text and text.strip().lstrip("-").isdigit() else None


def read_container(cid: str, root: Path = CGROUP) -> dict | None:
    """One reading of a container's counters (None when its cgroup is gone)."""
    name = f"libpod-{cid}"
    cpu, acct, mem = root / "cpu" / PARENT / name, root / "cpuacct" / PARENT / name, \
        root / "memory" / PARENT / name
    usage = _int(acct / "cpuacct.usage")
    if usage is None:
        return None
    stat = dict(line.split() for line in (_read(cpu / "cpu.stat") or "").splitlines()
                if len(line.split()) == 2)
    quota, period = _int(cpu / "cpu.cfs_quota_us"), _int(cpu / "cpu.cfs_period_us")
    return {"cpu_ns": usage,
            "periods": int(stat.get("nr_periods", 0)), "throttled": int(stat.get("nr_throttled", 0)),
            "throttled_ns": int(stat.get("throttled_time", 0)),
            "quota_cores": (quota / period) if quota and quota > 0 and period else None,
            "mem_bytes": _int(mem / "memory.usage_in_bytes"),
            "mem_limit": _int(mem / "memory.limit_in_bytes"),
            "mem_failcnt": _int(mem / "memory.failcnt")}


def lab_containers(label: str) -> dict[str, str]:
    """{container name: full id} of the running containers carrying ``label``."""
    out = subprocess.run(["podman", "ps", "--no-trunc", "--filter", f"label={label}",
                          "--format", "{{.Names}} {{.ID}}"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    return dict(line.split() for line in out.splitlines() if len(line.split()) == 2)


class CgroupSampler(threading.Thread):
    """Every ``interval`` seconds: ``{"t": epoch, "c": {name: reading}}`` into ``path``."""

    def __init__(self, path: Path, containers: dict[str, str], interval: float = 1.0,
                 root: Path = CGROUP):
        super().__init__(daemon=True)
        self.path, self.containers, self.interval, self.root = Path(path), containers, interval, root
        self._halt = threading.Event()

    def sample_once(self) -> dict:
        readings = {n: read_container(cid, self.root) for n, cid in self.containers.items()}
        return {"t": time.time(), "c": {n: r for n, r in readings.items() if r}}

    def run(self):
        with open(self.path, "a") as f:
            while True:
                f.write(json.dumps(self.sample_once()) + "\n")
                f.flush()
                if self._halt.wait(self.interval):
                    break

    def stop(self):
        self._halt.set()
        self.join(timeout=10)


def window(samples: list[dict], t_start: float, t_end: float) -> dict[str, dict]:
    """Per container over [t_start, t_end]: ``cores`` used, ``quota_cores``, ``quota_share``
    (cores / quota), ``throttled_share`` (throttled periods / periods), ``mem_peak_share``
    (peak usage / limit) and ``mem_failcnt`` (allocations refused at the limit)."""
    inside = [s for s in samples if t_start <= s["t"] <= t_end]
    if len(inside) < 2:
        return {}
    first, last = inside[0], inside[-1]
    dt = last["t"] - first["t"]
    out = {}
    for name, end in last["c"].items():
        start = first["c"].get(name)
        if not start or dt <= 0:
            continue
        cores = max(0, end["cpu_ns"] - start["cpu_ns"]) / dt / 1e9
        periods = end["periods"] - start["periods"]
        quota = end.get("quota_cores")
        peak = max((s["c"][name]["mem_bytes"] or 0) for s in inside if name in s["c"])
        limit = end.get("mem_limit")
        out[name] = {
            "cores": round(cores, 4), "quota_cores": quota,
            "quota_share": round(cores / quota, 4) if quota else None,
            "throttled_share": round((end["throttled"] - start["throttled"]) / periods, 4)
            if periods > 0 else 0.0,
            "mem_peak_share": round(peak / limit, 4) if limit and limit < 1 << 60 else None,
            "mem_failcnt": max(0, (end.get("mem_failcnt") or 0) - (start.get("mem_failcnt") or 0)),
        }
    return out
