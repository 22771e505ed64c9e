"""What the machine, the hosts under test, the load generator and the app's pool are doing,
sampled every couple of seconds while a run goes on.

Host samplers are pluggable: ``LocalStack`` reads the process groups of `make run`
(tools/devstack.py pid files), ``PodmanContainers`` the lab's containers (`podman stats`),
``NoHosts`` a remote target (only the generator and /metrics are visible then).
CPU is always percent of one core, summed over a process tree or container.
"""
from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import psutil
from prometheus_client.parser import text_string_to_metric_families

from loadtest.breaking import APP, DB, PROXY, REDIS

# devstack service -> role in the cause analysis
LOCAL_ROLES = {"postgres": DB, "pgbouncer": DB, "redis": REDIS, "app": APP, "nginx": PROXY,
               "fakestripe": "stripe"}


class ProcessTreeCPU:
    """CPU of a set of process trees, as deltas between calls (only processes seen twice count,
    so a process that starts or ends mid-interval never makes a spike)."""

    def __init__(self):
        self._last: dict[int, float] = {}
        self._t = None

    @staticmethod
    def _tree(pid: int) -> list[psutil.Process]:
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def sample_by(self, pids: list[int], key) -> dict[str, float] | None:
        """CPU per ``key(process)`` over the trees (None on the first, priming call)."""
        now, times, keys = time.monotonic(), {}, {}
        for pid in pids:
            for p in self._tree(pid):
                try:
                    t = p.cpu_times()
                    times[p.pid], keys[p.pid] = t.user + t.system, key(p)
                except psutil.Error:
                    pass
        dt = (now - self._t) if self._t else None
        out: dict[str, float] = {}
        for p in times:
            if p in self._last and dt:
                out[keys[p]] = out.get(keys[p], 0.0) + 100.0 * (times[p] - self._last[p]) / dt
        self._last, self._t = times, now
        return out if dt else None

    def sample(self, pids: list[int]) -> float | None:
        by = self.sample_by(pids, lambda p: "all")
        return None if by is None else by.get("all", 0.0)


class NoHosts:
    """A remote target: no host is visible from here."""
    def sample(self) -> tuple[dict[str, float], dict[str, str]]:
        return {}, {}


class LocalStack:
    """The processes of `make run` (or of a devstack the experiments started)."""

    def __init__(self, state_dir: Path, roles: dict[str, str] = LOCAL_ROLES):
        self.pid_dir = Path(state_dir) / "pids"
        self.roles = roles
        self.cpu = {name: ProcessTreeCPU() for name in roles}

    def sample(self):
        hosts = {}
        for name in self.roles:
            try:
                pid = int((self.pid_dir / f"{name}.pid").read_text())
            except (OSError, ValueError):
                continue
            value = self.cpu[name].sample([pid])
            if value is not None:
                hosts[name] = value
        return hosts, {h: self.roles[h] for h in hosts}


_GO_DURATION = re.compile(r"([\d.]+)(h|ms|µs|us|ns|m|s)")
_GO_UNITS = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}


def go_duration_seconds(text: str) -> float:
    """podman prints cumulative CPU as a Go duration: "1m2.5s", "830ms", "0s"."""
    return sum(float(n) * _GO_UNITS[u] for n, u in _GO_DURATION.findall(text))


def process_role(proc: psutil.Process) -> str:
    """What a process inside a lab host is, by its name and command line."""
    name = proc.name()
    if name.startswith("postgres") or name == "pgbouncer":
        return DB
    if name.startswith("redis"):
        return REDIS
    if name.startswith("nginx"):
        return PROXY
    cmdline = " ".join(proc.cmdline())
    if "gunicorn" in name or "gunicorn" in cmdline or "app.wsgi" in cmdline:
        return APP
    return "system"


class PodmanContainers:
    """The lab's containers: each container's CPU (cumulative `cpu_time` of `podman stats`,
    in ``containers``), and, because one stage-1 host runs every role, the CPU of each role's
    processes inside each container (their trees are visible from here) as the hosts."""

    def __init__(self, name_prefix: str = "shoplab"):
        self.prefix = name_prefix
        self._last: dict[str, float] = {}
        self._t = None
        self._pids: dict[str, int] = {}
        self._roles = ProcessTreeCPU()
        self.containers: dict[str, float] = {}

    def _stats(self) -> list[dict]:
        out = subprocess.run(["podman", "stats", "--no-stream", "--format", "json"],
                             capture_output=True, text=True, timeout=20)
        return json.loads(out.stdout or "[]") if out.returncode == 0 else []

    def _pid(self, name: str) -> int | None:
        if name not in self._pids:
            out = subprocess.run(["podman", "inspect", "--format", "{{.State.Pid}}", name],
                                 capture_output=True, text=True, timeout=20)
            self._pids[name] = int(out.stdout.strip() or 0) if out.returncode == 0 else 0
        return self._pids[name] or None

    def sample(self):
        now = time.monotonic()
        cur = {c["name"]: go_duration_seconds(c.get("cpu_time", "0s")) for c in self._stats()
               if c.get("name", "").startswith(self.prefix)}
        dt = (now - self._t) if self._t else None
        self.containers = {n: 100.0 * (cur[n] - self._last[n]) / dt
                           for n in cur if dt and n in self._last}
        self._last, self._t = cur, now
        pids = {n: self._pid(n) for n in cur}
        owner = {}
        for n, pid in pids.items():
            if pid:
                for p in ProcessTreeCPU._tree(pid):
                    owner[p.pid] = n

        def key(p):
            return f"{owner.get(p.pid, '?')}/{process_role(p)}"
        by = self._roles.sample_by([p for p in pids.values() if p], key) or {}
        return by, {h: h.rsplit("/", 1)[1] for h in by}


# The app's /metrics (app/metrics.py: psycopg_pool's get_stats() as gauges). Without
# PROMETHEUS_MULTIPROC_DIR a scrape sees the one worker that answered; with it, the sum over
# live workers. Several names per key so a renamed metric is a one-line change here.
POOL_METRICS = {
    "size": ("shop_db_pool_size",),
    "max": ("shop_db_pool_max",),
    "available": ("shop_db_pool_available",),
    "waiting": ("shop_db_requests_waiting",),
    "timeouts": ("shop_db_requests_errors",),    # timeouts and queue-full refusals
    "requests": ("shop_db_requests_num",),
    "wait_ms": ("shop_db_requests_wait_ms",),
}
# the app exports no Redis error counter today; Redis trouble shows as 503s in the steps
REDIS_METRICS = {"errors": ("shop_redis_errors", "shop_redis_errors_total")}


def parse_metrics(text: str, wanted: dict[str, tuple[str, ...]]) -> dict[str, float]:
    """Sum every sample of each wanted metric (over workers/labels); absent -> not in result."""
    names = {n: key for key, ns in wanted.items() for n in ns}
    out: dict[str, float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            key = names.get(s.name)
            if key is not None:
                out[key] = out.get(key, 0.0) + s.value
    return out


def _scrape(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.read().decode()
    except (OSError, ValueError):
        return None


class AppMetrics:
    """The pool (and Redis) counters from /metrics: through the target, or straight from each
    app host when there are several (through a load balancer every scrape would see another
    host, and their counters would look like jumps); summed over the hosts that answered."""

    def __init__(self, base_url: str, pool=POOL_METRICS, redis=REDIS_METRICS,
                 app_urls: list[str] | None = None):
        self.urls = [u.rstrip("/") + "/metrics" for u in (app_urls or [base_url])]
        self.pool, self.redis = pool, redis

    def sample(self) -> dict:
        pool: dict[str, float] = {}
        redis_: dict[str, float] = {}
        for text in filter(None, map(_scrape, self.urls)):
            for acc, wanted in ((pool, self.pool), (redis_, self.redis)):
                for k, v in parse_metrics(text, wanted).items():
                    acc[k] = acc.get(k, 0.0) + v
        return {"pool": pool, "redis": redis_} if pool or redis_ else {}


def lab_app_urls(prefix: str, port: int) -> list[str]:
    """http://<container IP>:<port> of every lab container running gunicorn, if each answers
    /metrics directly (stage 2: apps bound to their network address); [] otherwise."""
    out = subprocess.run(["podman", "ps", "--format", "{{.Names}}"], capture_output=True,
                         text=True, timeout=20)
    urls = []
    for name in (n for n in out.stdout.split() if n.startswith(prefix)):
        pid = subprocess.run(["podman", "inspect", "--format", "{{.State.Pid}}", name],
                             capture_output=True, text=True, timeout=20).stdout.strip()
        tree = ProcessTreeCPU._tree(int(pid)) if pid.isdigit() and int(pid) else []
        roles = set()
        for p in tree:
            try:
                roles.add(process_role(p))
            except psutil.Error:
                pass
        if APP not in roles:
            continue
        ips = subprocess.run(["podman", "inspect", "--format",
                              "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", name],
                             capture_output=True, text=True, timeout=20).stdout.split()
        if not ips:
            return []
        urls.append(f"http://{ips[0]}:{port}")
    return urls if urls and all(_scrape(u + "/metrics") for u in urls) else []


class Sampler(threading.Thread):
    """Samples every ``interval`` seconds into ``path`` (JSON lines) until ``stop()``."""

    def __init__(self, path: Path, hosts, metrics: AppMetrics | None, interval: float = 2.0):
        super().__init__(daemon=True)
        self.path, self.hosts, self.metrics, self.interval = Path(path), hosts, metrics, interval
        self.generator_pid: int | None = None
        self.generator_capacity = 100.0
        self._gen = ProcessTreeCPU()
        self._halt = threading.Event()
        psutil.cpu_percent()  # prime the machine-wide counter

    def watch_generator(self, pid: int | None, capacity: float = 100.0) -> None:
        """Count this process tree (locust or wrk) as the load generator from now on."""
        self.generator_pid, self.generator_capacity = pid, capacity
        self._gen = ProcessTreeCPU()

    def sample_once(self) -> dict:
        hosts, roles = self.hosts.sample()
        ncpu = psutil.cpu_count() or 1
        rec = {"t": time.time(), "hosts": hosts, "roles": roles,
               "containers": getattr(self.hosts, "containers", None),
               "machine_cpu": psutil.cpu_percent() * ncpu, "machine_capacity": 100.0 * ncpu,
               "generator_cpu": (self._gen.sample([self.generator_pid])
                                 if self.generator_pid else None),
               "generator_capacity": self.generator_capacity}
        if self.metrics:
            rec.update(self.metrics.sample())
        return rec

    def run(self):
        with open(self.path, "a") as f:
            while not self._halt.wait(self.interval):
                f.write(json.dumps(self.sample_once()) + "\n")
                f.flush()

    def stop(self):
        self._halt.set()
        self.join(timeout=30)
