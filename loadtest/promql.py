"""Every PromQL query the load test asks Prometheus, and a small client for its HTTP API.

The monitoring role (roles/monitoring) scrapes each host's exporters and the app's /metrics;
a load step is a time window [start, end] (Unix seconds), and each function below returns the
figures of one tier over that window as plain floats (None where Prometheus had no data):

    prom = Prometheus("http://127.0.0.1:9090")
    targets_down(prom)                  # ["node shop1", ...]: what it failed to scrape
    cpu_cores(prom, start, end)         # {host: CPU cores busy}, node exporter
    pgbouncer_waits(prom, start, end)   # clients waiting for a server connection, longest wait
    postgres_connections(prom, start, end)
    redis_load(prom, start, end)
    nginx_connections(prom, start, end)
    app_pool(prom, start, end)          # the app's psycopg pool: waiting, timeouts, mean wait
    app_latency_p95(prom, start, end)   # server-side p95 from the request-duration histogram

Metric names are those the exporters really serve (roles/monitoring/README.md, "Metrics"):
Debian's pgbouncer exporter is not the prometheus-community one (pgbouncer_waiting_clients,
not pgbouncer_pools_client_waiting_connections); the app's names are app/metrics.py's.

"Max over the window" of a sum uses a subquery at the scrape interval (``step``), so a spike
shorter than the window still shows; rates and increases use the whole window.
"""
from __future__ import annotations

import math

import requests

# The monitoring role's default scrape interval: the resolution of the max-over-window subqueries.
DEFAULT_STEP = "2s"

# --- the PromQL, by tier ({w}: the window, e.g. "60s"; {s}: the subquery resolution) ----------
CPU_BUSY_BY = 'sum by ({by}) (rate(node_cpu_seconds_total{{mode!="idle"}}[{w}]))'

PGBOUNCER_MAX_WAITING = "max_over_time((sum(pgbouncer_waiting_clients))[{w}:{s}])"
# SHOW POOLS maxwait: how long the oldest waiting client had waited (the role's launcher adds it)
PGBOUNCER_MAX_WAIT = "max(max_over_time(pgbouncer_pool_max_wait_seconds[{w}]))"
# seconds spent waiting for a server connection, all clients together, per second of the step
PGBOUNCER_WAIT_RATE = "sum(rate(pgbouncer_wait_microseconds_total[{w}])) / 1e6"

PG_MAX_ACTIVE = 'max_over_time((sum(pg_stat_activity_count{{state="active"}}))[{w}:{s}])'
PG_MAX_CONNECTIONS_USED = "max_over_time((sum(pg_stat_activity_count))[{w}:{s}])"
PG_MAX_CONNECTIONS = "max(max_over_time(pg_settings_max_connections[{w}]))"

REDIS_MAX_CLIENTS = "max_over_time((sum(redis_connected_clients))[{w}:{s}])"
REDIS_OPS = "sum(rate(redis_commands_processed_total[{w}]))"

NGINX_MAX_ACTIVE = "max_over_time((sum(nginx_connections_active))[{w}:{s}])"
NGINX_MAX_WAITING = "max_over_time((sum(nginx_connections_waiting))[{w}:{s}])"
NGINX_REQUESTS = "sum(rate(nginx_http_requests_total[{w}]))"

# The app's pool gauges (app/metrics.py POOL_STATS) are psycopg_pool's running totals, summed
# over workers: increase() counts what happened in the window (a worker that restarts reads as
# a counter reset, which increase() handles).
APP_MAX_WAITING = "max_over_time((sum(shop_db_requests_waiting))[{w}:{s}])"
APP_MAX_POOL_SIZE = "max_over_time((sum(shop_db_pool_size))[{w}:{s}])"
APP_POOL_MAX = "max(max_over_time((sum(shop_db_pool_max))[{w}:{s}]))"
APP_INCREASE = "sum(increase(shop_db_{stat}[{w}]))"
APP_MEAN_WAIT_MS = ("sum(increase(shop_db_requests_wait_ms[{w}]))"
                    " / sum(increase(shop_db_requests_queued[{w}]))")
APP_LATENCY_QUANTILE = ("histogram_quantile({q}, sum by (le) "
                        "(rate(shop_http_request_duration_seconds_bucket{sel}[{w}])))")


class PrometheusError(RuntimeError):
    """Prometheus answered with an error (bad query, or unreachable)."""


class Prometheus:
    """The HTTP API's instant and range queries, answers as plain floats and dicts."""

    def __init__(self, base_url: str, timeout: float = 10.0, step: str = DEFAULT_STEP):
        # step: the server's scrape interval, the resolution step_figures' subqueries use
        self.base_url, self.timeout, self.step = base_url.rstrip("/"), timeout, step
        self.session = requests.Session()

    def _get(self, path: str, params: dict) -> dict:
        try:
            r = self.session.get(f"{self.base_url}{path}", params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PrometheusError(f"{self.base_url}: {exc}") from exc
        try:
            body = r.json()
        except ValueError:
            raise PrometheusError(f"{path}: HTTP {r.status_code}: {r.text[:200]}") from None
        if body.get("status") != "success":
            raise PrometheusError(f"{params.get('query')}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        """Instant query: [{"metric": {label: value}, "value": float}] (a scalar: one, no labels)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._get("/api/v1/query", params)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": _float(data["result"][1])}]
        return [{"metric": r["metric"], "value": _float(r["value"][1])} for r in data["result"]]

    def query_range(self, expr: str, start: float, end: float, step: float | str) -> list[dict]:
        """Range query: [{"metric": {...}, "values": [(unix seconds, float), ...]}]."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)}
        data = self._get("/api/v1/query_range", params)
        return [{"metric": r["metric"], "values": [(float(t), _float(v)) for t, v in r["values"]]}
                for r in data["result"]]

    def value(self, expr: str, at: float | None = None) -> float | None:
        """The one number an aggregating query gives (None: no data, or NaN as in 0/0)."""
        result = self.query(expr, at)
        if not result or math.isnan(result[0]["value"]):
            return None
        return result[0]["value"]


def _float(v: str) -> float:
    return float(v)  # Prometheus writes NaN, +Inf and -Inf as float() reads them


def window(start: float, end: float) -> str:
    """A range selector covering [start, end], whole seconds (at least one)."""
    if end <= start:
        raise ValueError(f"empty window [{start}, {end}]")
    return f"{max(1, round(end - start))}s"


def _values(prom: Prometheus, queries: dict[str, str], start: float, end: float,
            step: str, **fmt) -> dict[str, float | None]:
    w = window(start, end)
    return {key: prom.value(q.format(w=w, s=step, **fmt), at=end) for key, q in queries.items()}


def targets_down(prom: Prometheus) -> list[str]:
    """The scrape targets whose last scrape failed, as "job host" (sorted): Prometheus answers
    queries while it scrapes nothing of a host (a stale address), so a round asks this first."""
    return sorted(f"{r['metric'].get('job', '?')} {r['metric'].get('host', r['metric'].get('instance', '?'))}"
                  for r in prom.query("up == 0"))


# --- the figures of a load step ---------------------------------------------------------------
def cpu_cores(prom: Prometheus, start: float, end: float, by: str = "host") -> dict[str, float]:
    """CPU cores busy (all modes but idle) per value of label ``by``: ``host`` (the inventory
    name), ``groups`` (the host's groups, e.g. "db,redis") or ``job``. In the lab every
    container's node exporter reads the same machine's /proc/stat: the figure is the machine's."""
    expr = CPU_BUSY_BY.format(by=by, w=window(start, end))
    return {r["metric"].get(by, ""): r["value"] for r in prom.query(expr, at=end)}


def pgbouncer_waits(prom: Prometheus, start: float, end: float, step: str = DEFAULT_STEP) -> dict:
    """Clients waiting for a server connection (all pools, the step's maximum), the longest a
    client had waited (seconds), and the waiting time of all clients per second."""
    return _values(prom, {"max_waiting_clients": PGBOUNCER_MAX_WAITING,
                          "max_wait_seconds": PGBOUNCER_MAX_WAIT,
                          "wait_seconds_per_second": PGBOUNCER_WAIT_RATE}, start, end, step)


def postgres_connections(prom: Prometheus, start: float, end: float,
                         step: str = DEFAULT_STEP) -> dict:
    """Active backends and all connections (maxima of the step) against max_connections.
    The exporter logs in as the shop's role, so pg_stat_activity shows the state of that
    role's sessions only (the app's, through pgbouncer, and the exporter's own)."""
    out = _values(prom, {"max_active": PG_MAX_ACTIVE, "max_connections_used": PG_MAX_CONNECTIONS_USED,
                         "max_connections": PG_MAX_CONNECTIONS}, start, end, step)
    used, limit = out["max_connections_used"], out["max_connections"]
    out["max_used_fraction"] = used / limit if used is not None and limit else None
    return out


def redis_load(prom: Prometheus, start: float, end: float, step: str = DEFAULT_STEP) -> dict:
    """Connected clients (the step's maximum) and commands per second."""
    return _values(prom, {"max_connected_clients": REDIS_MAX_CLIENTS, "ops_per_second": REDIS_OPS},
                   start, end, step)


def nginx_connections(prom: Prometheus, start: float, end: float, step: str = DEFAULT_STEP) -> dict:
    """nginx's active and waiting (idle keepalive) client connections, maxima of the step, and
    requests per second (stub_status)."""
    return _values(prom, {"max_active": NGINX_MAX_ACTIVE, "max_waiting": NGINX_MAX_WAITING,
                          "requests_per_second": NGINX_REQUESTS}, start, end, step)


def app_pool(prom: Prometheus, start: float, end: float, step: str = DEFAULT_STEP) -> dict:
    """The app's connection pools, all workers and app hosts together: requests waiting for a
    connection (maximum), connections open (maximum) against the configured max_size, and in
    the step: connection requests, those that had to wait, those that failed (timeouts, queue
    full), connections lost, and the mean wait of a request that waited (ms)."""
    queries = {"max_waiting": APP_MAX_WAITING, "max_pool_size": APP_MAX_POOL_SIZE,
               "pool_max": APP_POOL_MAX, "mean_wait_ms": APP_MEAN_WAIT_MS}
    for key, stat in (("requests", "requests_num"), ("queued", "requests_queued"),
                      ("timeouts", "requests_errors"), ("connections_lost", "connections_lost")):
        queries[key] = APP_INCREASE.replace("{stat}", stat)
    return _values(prom, queries, start, end, step)


def app_latency_p95(prom: Prometheus, start: float, end: float, route: str | None = None,
                    quantile: float = 0.95) -> float | None:
    """Server-side latency quantile (seconds) of the requests in the step, from the app's
    histogram (all workers, hosts and statuses; one route template if given, e.g.
    "/api/products"). None when no request was served."""
    sel = "{" + f'route="{route}"' + "}" if route else ""
    return prom.value(APP_LATENCY_QUANTILE.format(q=quantile, sel=sel, w=window(start, end)), at=end)


def step_figures(prom: Prometheus, start: float, end: float, step: str | None = None) -> dict:
    """Everything above for one load step, as the capacity report takes it (subqueries at
    ``step``, by default the server's scrape interval ``prom.step``)."""
    step = step or prom.step
    return {"cpu_cores": cpu_cores(prom, start, end),
            "pgbouncer": pgbouncer_waits(prom, start, end, step),
            "postgres": postgres_connections(prom, start, end, step),
            "redis": redis_load(prom, start, end, step),
            "nginx": nginx_connections(prom, start, end, step),
            "app_pool": app_pool(prom, start, end, step),
            "app_latency_p95": app_latency_p95(prom, start, end)}
