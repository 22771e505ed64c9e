"""When a step-load run broke, and why: pure functions over the per-step records and the
resource samples, so they are unit-tested on synthetic series and reused by the report.

A step record (written by ``loadtest.shapes``, or by ``loadtest.wrk`` for wrk runs) has
``users, requests, failures, error_rate, rps, p50_ms, p95_ms, p99_ms, t_start, t_end``.
A sample (``loadtest.samplers``) has ``t``, ``generator_cpu``, ``generator_capacity``,
``machine_cpu``, ``machine_capacity``, ``hosts: {name: cpu}``, ``roles: {name: role}``
and ``pool``/``redis`` counters from the app's /metrics. CPU is in percent of one core.
"""
from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean

# roles a host (process group or container) can have; "db" covers postgres and pgbouncer
APP, DB, REDIS, PROXY = "app", "db", "redis", "proxy"
OTHER = "other processes"  # not the shop, not the generator: a shared machine's other load


@dataclass(frozen=True)
class Limits:
    """The step that passes either limit is the breaking point (issue 7: errors > 1%)."""
    p95_ms: float = 500.0
    error_rate: float = 0.01


@dataclass(frozen=True)
class Saturation:
    """How busy a resource must be during the breaking step to be named the cause."""
    generator: float = 0.90   # share of the generator's own CPU capacity
    host: float = 0.85        # share of a role's (or the whole machine's) capacity
    pool_waiting: float = 1.0  # mean clients waiting for a DB connection


def step_breaks(step: dict, limits: Limits = Limits()) -> str | None:
    """Why this step is past the limits, or None if it held."""
    if step.get("requests", 0) == 0:
        return "no request completed"
    if step["error_rate"] > limits.error_rate:
        return f"error rate {step['error_rate']:.1%} > {limits.error_rate:.0%}"
    if step["p95_ms"] > limits.p95_ms:
        return f"p95 {step['p95_ms']:.0f} ms > {limits.p95_ms:.0f} ms"
    return None


def breaking_index(steps: list[dict], limits: Limits = Limits()) -> int | None:
    """Index of the first step past the limits (None: it never broke in this run)."""
    for i, step in enumerate(steps):
        if step_breaks(step, limits):
            return i
    return None


def _delta(samples: list[dict], key: str, sub: str) -> float:
    """How much a counter grew across the samples: the sum of its rises, so a worker that
    restarts (its counter back to 0) does not count as a negative jump."""
    values = [s[key][sub] for s in samples if s.get(key) and s[key].get(sub) is not None]
    return sum(max(0.0, b - a) for a, b in zip(values, values[1:]))


def _mean(samples: list[dict], get) -> float | None:
    values = [v for v in (get(s) for s in samples) if v is not None]
    return fmean(values) if values else None


def aggregate(samples: list[dict], t_start: float, t_end: float) -> dict:
    """The resources during one step: mean CPU per host, role and machine, mean/max pool
    waiting, and how many pool timeouts and Redis errors happened inside the step."""
    window = [s for s in samples if t_start <= s["t"] <= t_end]
    out: dict = {"samples": len(window)}
    if not window:
        return out
    hosts = sorted({h for s in window for h in s.get("hosts", {})})
    out["hosts"] = {h: _mean(window, lambda s, h=h: s.get("hosts", {}).get(h)) for h in hosts}
    names = sorted({c for s in window for c in (s.get("containers") or {})})
    if names:  # lab hosts as podman sees them (the hosts above are their roles' processes)
        out["containers"] = {c: _mean(window, lambda s, c=c: (s.get("containers") or {}).get(c))
                             for c in names}
    roles: dict[str, float] = {}
    for s in window[:1]:
        for h, role in s.get("roles", {}).items():
            roles[role] = roles.get(role, 0.0) + (out["hosts"].get(h) or 0.0)
    out["roles"] = roles
    for key in ("generator_cpu", "generator_capacity", "machine_cpu", "machine_capacity"):
        out[key] = _mean(window, lambda s, k=key: s.get(k))
    out["pool_waiting_mean"] = _mean(window, lambda s: (s.get("pool") or {}).get("waiting"))
    out["pool_waiting_max"] = max(((s.get("pool") or {}).get("waiting") or 0) for s in window)
    out["pool_size_mean"] = _mean(window, lambda s: (s.get("pool") or {}).get("size"))
    out["pool_available_mean"] = _mean(window, lambda s: (s.get("pool") or {}).get("available"))
    out["pool_timeouts"] = _delta(window, "pool", "timeouts")
    got = _delta(window, "pool", "requests")
    out["pool_wait_ms_per_request"] = _delta(window, "pool", "wait_ms") / got if got else None
    out["redis_errors"] = _delta(window, "redis", "errors")
    return out


def cause(res: dict, sat: Saturation = Saturation()) -> tuple[str, str]:
    """(cause, evidence) for a breaking step from its aggregated resources.

    The order matters: a saturated generator makes every other reading meaningless, and a
    pool that makes requests wait (or time out) is the limit even while CPU is left over.
    """
    gen, gen_cap = res.get("generator_cpu"), res.get("generator_capacity")
    if gen is not None and gen_cap and gen >= sat.generator * gen_cap:
        return "generator", (f"load generator at {gen:.0f}% of its {gen_cap:.0f}% CPU: "
                             "the measurement itself is the bottleneck")
    waiting = res.get("pool_waiting_mean") or 0.0
    if res.get("pool_timeouts", 0) > 0 or waiting >= sat.pool_waiting:
        return "pool", (f"{res.get('pool_timeouts', 0):.0f} pool timeouts, "
                        f"{waiting:.1f} requests waiting for a connection on average")
    if res.get("redis_errors", 0) > 0:
        return "redis", f"{res['redis_errors']:.0f} Redis errors during the step"
    roles = res.get("roles") or {}
    machine, machine_cap = res.get("machine_cpu"), res.get("machine_capacity")
    if roles and machine is not None:
        # whatever the machine spends beyond the shop and the generator: other tenants
        roles = {**roles, OTHER: max(0.0, machine - sum(roles.values()) - (gen or 0.0))}
    busiest = max(roles, key=roles.get) if roles else None
    if busiest and machine is not None and machine_cap and machine >= sat.host * machine_cap:
        name = {APP: "cpu", DB: "database", REDIS: "redis", PROXY: "cpu",
                OTHER: "machine-busy"}.get(busiest, "cpu")
        share = ", ".join(f"{r} {v:.0f}%" for r, v in sorted(roles.items(), key=lambda x: -x[1]))
        return name, (f"machine CPU {machine:.0f}% of {machine_cap:.0f}%; busiest {busiest} "
                      f"({share})")
    for role, name in ((DB, "database"), (APP, "cpu")):
        if roles.get(role) is not None and machine_cap and roles[role] >= sat.host * machine_cap:
            return name, f"{role} CPU {roles[role]:.0f}% of {machine_cap:.0f}%"
    return "unknown", ("latency or errors rose with no saturated resource sampled "
                       "(check the app's logs and the samples)")


def error_cause(step: dict) -> tuple[str, str] | None:
    """When most failures of a step are the shop refusing on purpose (429 rate limit,
    503 pool/queue full), that is the cause whatever the resources say."""
    errors = step.get("errors") or {}
    if not isinstance(errors, dict) or not step.get("failures"):
        return None
    counts = {"429": 0, "503": 0}
    for text, n in errors.items():
        for code in counts:
            if f"HTTP {code}" in str(text):
                counts[code] += n
    code, n = max(counts.items(), key=lambda kv: kv[1])
    if n * 2 >= step["failures"]:
        name = {"429": "rate-limit", "503": "pool"}[code]
        return name, f"{n} of {step['failures']} failures were HTTP {code}"
    return None
