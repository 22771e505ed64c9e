"""loadtest.promql against a real Prometheus (Debian's /usr/bin/prometheus): it scrapes a local
HTTP server whose exposition (made by prometheus_client) has the exporters' and the app's real
metric names, with counters growing at known rates and gauges that spike for a moment; each
function must return the figure those imply. About 15 s."""
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from loadtest import promql

PROMETHEUS = "/usr/bin/prometheus"
pytestmark = pytest.mark.skipif(
    not os.access(PROMETHEUS, os.X_OK),
    reason=f"{PROMETHEUS} absent: apt-get install prometheus (tools/install-deps.sh services)")

SCRAPE = 0.5            # seconds between scrapes
SCRAPE_MS = int(SCRAPE * 1000)
WINDOW = 8.0            # the load step the functions are asked about
JOBS = ("node", "pgbouncer", "postgres", "redis", "nginx", "app")


class Exposition:
    """Each job's metrics at the moment of the scrape: counters at rate x elapsed time, gauges
    fixed, except the "spike" gauges while ``spike`` is set."""

    def __init__(self):
        self.t0 = time.time()
        self.spike = False

    def families(self, job):
        t = time.time() - self.t0
        spike = self.spike

        def gauge(name, value, **labels):
            g = GaugeMetricFamily(name, name, labels=list(labels))
            g.add_metric(list(labels.values()), value)
            return g

        if job == "node":   # 0.5 + 0.25 cores busy, 0.5 idle
            c = CounterMetricFamily("node_cpu_seconds", "cpu", labels=["cpu", "mode"])
            c.add_metric(["0", "user"], 0.5 * t)
            c.add_metric(["0", "idle"], 0.5 * t)
            c.add_metric(["1", "system"], 0.25 * t)
            c.add_metric(["1", "idle"], 0.75 * t)
            return [c]
        if job == "pgbouncer":   # Debian's exporter's names (with the role's launcher)
            waiting = GaugeMetricFamily("pgbouncer_waiting_clients", "w", labels=["database", "user"])
            waiting.add_metric(["shop", "shop"], 5 if spike else 0)
            waiting.add_metric(["pgbouncer", "pgbouncer"], 1)
            maxwait = GaugeMetricFamily("pgbouncer_pool_max_wait_seconds", "m", labels=["database", "user"])
            maxwait.add_metric(["shop", "shop"], 2.5 if spike else 0.0)
            maxwait.add_metric(["pgbouncer", "pgbouncer"], 0.0)
            return [waiting, maxwait,
                    gauge("pgbouncer_wait_microseconds_total", 200_000 * t, database="shop")]
        if job == "postgres":
            activity = GaugeMetricFamily("pg_stat_activity_count", "a", labels=["datname", "state"])
            for state, n in (("active", 12), ("idle", 5), ("idle in transaction", 0)):
                activity.add_metric(["shop", state], n)
            return [activity, gauge("pg_settings_max_connections", 100), gauge("pg_up", 1)]
        if job == "redis":
            ops = CounterMetricFamily("redis_commands_processed", "ops")
            ops.add_metric([], 150 * t)
            return [gauge("redis_connected_clients", 9), ops]
        if job == "nginx":
            reqs = CounterMetricFamily("nginx_http_requests", "r")
            reqs.add_metric([], 80 * t)
            return [gauge("nginx_connections_active", 40 if spike else 10),
                    gauge("nginx_connections_waiting", 30), reqs]
        # app: two workers' pools (the per-worker mode: one series per pid) and the histogram
        fams = []
        per_worker = {"requests_waiting": (4 if spike else 0, 1), "pool_size": (6, 2),
                      "pool_max": (10, 10), "requests_num": (100 * t, 100 * t),
                      "requests_queued": (10 * t, 0), "requests_wait_ms": (500 * t, 0),
                      "requests_errors": (2 * t, 0), "connections_lost": (0, 0)}
        for stat, values in per_worker.items():
            g = GaugeMetricFamily(f"shop_db_{stat}", stat, labels=["pid"])
            for pid, v in zip(("101", "102"), values):
                g.add_metric([pid], v)
            fams.append(g)
        # 100 requests/s: 50 under 50 ms, 40 more under 100 ms, the last 10 under 250 ms
        h = HistogramMetricFamily("shop_http_request_duration_seconds", "latency",
                                  labels=["method", "route", "status"])
        h.add_metric(["GET", "/api/products", "200"],
                     [("0.05", 50 * t), ("0.1", 90 * t), ("0.25", 100 * t), ("1.0", 100 * t),
                      ("2.5", 100 * t), ("+Inf", 100 * t)],
                     sum_value=6 * t)
        # a slow route: 1 request/s, all between 1 and 2.5 s
        h.add_metric(["POST", "/api/orders", "201"],
                     [("0.05", 0), ("0.1", 0), ("0.25", 0), ("1.0", 0), ("2.5", t), ("+Inf", t)],
                     sum_value=2 * t)
        return fams + [h]

    def text(self, job):
        registry = CollectorRegistry()
        families = self.families(job)
        registry.register(type("C", (), {"collect": lambda self: families})())
        return generate_latest(registry)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scraped(tmp_path_factory):
    """(Prometheus client, start, end) of a WINDOW-second step with a 2.5 s spike in it."""
    exposition = Exposition()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = exposition.text(self.path.strip("/"))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    target = f"127.0.0.1:{server.server_address[1]}"

    tmp = tmp_path_factory.mktemp("prometheus")
    jobs = "".join(f"""
  - job_name: {job}
    metrics_path: /{job}
    static_configs:
      - targets: ["{target}"]
        labels: {{host: shop1, groups: "app,db,lb,redis"}}
""" for job in JOBS) + f"""
  - job_name: gone
    static_configs:
      - targets: ["127.0.0.1:{_free_port()}"]
        labels: {{host: gone1}}
"""   # a host nothing answers for (a stale address)
    (tmp / "prometheus.yml").write_text(
        f"global:\n  scrape_interval: {SCRAPE_MS}ms\n  scrape_timeout: {SCRAPE_MS}ms\nscrape_configs:{jobs}")
    port = _free_port()
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h"],
        stdout=subprocess.DEVNULL, stderr=open(tmp / "prometheus.log", "wb"))
    prom = promql.Prometheus(f"http://127.0.0.1:{port}", timeout=5)
    try:
        deadline = time.monotonic() + 20
        while True:   # ready, and every job scraped once
            try:
                if len(prom.query("up == 1")) == len(JOBS):
                    break
            except promql.PrometheusError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Prometheus not scraping: {(tmp / 'prometheus.log').read_text()[-2000:]}")
            time.sleep(0.2)
        start = time.time()
        time.sleep(2.0)
        exposition.spike = True
        time.sleep(2.5)
        exposition.spike = False
        time.sleep(WINDOW - 4.5 - 0.3)
        end = time.time()
        time.sleep(SCRAPE + 0.2)   # the last scrape before `end` is in
        yield prom, start, end
    finally:
        proc.terminate()
        proc.wait(10)
        server.shutdown()


def approx(x, rel=0.05):
    return pytest.approx(x, rel=rel)


def test_client_instant_and_range_queries(scraped):
    prom, start, end = scraped
    up = prom.query('up{job!="gone"}', at=end)
    assert {r["metric"]["job"] for r in up} == set(JOBS) and all(r["value"] == 1.0 for r in up)
    assert prom.query("1 + 1") == [{"metric": {}, "value": 2.0}]
    series = prom.query_range('nginx_connections_active{job="nginx"}', start, end, "1s")
    assert len(series) == 1
    values = [v for _, v in series[0]["values"]]
    assert len(values) >= WINDOW - 1 and set(values) == {10.0, 40.0}
    assert prom.value("absent_metric_name") is None
    with pytest.raises(promql.PrometheusError, match="parse"):
        prom.query("sum(")


def test_targets_down_names_what_was_not_scraped(scraped):
    prom, _, _ = scraped
    assert promql.targets_down(prom) == ["gone gone1"]


def test_window():
    assert promql.window(100.0, 160.4) == "60s"
    assert promql.window(100.0, 100.2) == "1s"
    with pytest.raises(ValueError):
        promql.window(5, 5)


def test_cpu_cores_per_host_and_group(scraped):
    prom, start, end = scraped
    assert promql.cpu_cores(prom, start, end) == {"shop1": approx(0.75)}
    assert promql.cpu_cores(prom, start, end, by="groups") == {"app,db,lb,redis": approx(0.75)}


def test_pgbouncer_waits(scraped):
    prom, start, end = scraped
    got = promql.pgbouncer_waits(prom, start, end, step="500ms")
    # the spike's 5 waiting clients plus the admin pool's 1; not the 1 of the window's end
    assert got["max_waiting_clients"] == 6
    assert got["max_wait_seconds"] == 2.5
    assert got["wait_seconds_per_second"] == approx(0.2)
    assert prom.value("sum(pgbouncer_waiting_clients)", at=end) == 1


def test_postgres_connections(scraped):
    prom, start, end = scraped
    assert promql.postgres_connections(prom, start, end, step="500ms") == {
        "max_active": 12, "max_connections_used": 17, "max_connections": 100,
        "max_used_fraction": 0.17}


def test_redis_load(scraped):
    prom, start, end = scraped
    got = promql.redis_load(prom, start, end, step="500ms")
    assert got == {"max_connected_clients": 9, "ops_per_second": approx(150)}


def test_nginx_connections(scraped):
    prom, start, end = scraped
    got = promql.nginx_connections(prom, start, end, step="500ms")
    assert got == {"max_active": 40, "max_waiting": 30, "requests_per_second": approx(80)}


def test_app_pool(scraped):
    prom, start, end = scraped
    got = promql.app_pool(prom, start, end, step="500ms")
    seconds = end - start
    assert got["max_waiting"] == 5           # 4 on one worker during the spike + 1 on the other
    assert got["max_pool_size"] == 8 and got["pool_max"] == 20
    # increases over the window (Prometheus extrapolates to its edges: a few % either way)
    assert got["requests"] == approx(200 * seconds, rel=0.15)
    assert got["queued"] == approx(10 * seconds, rel=0.15)
    assert got["timeouts"] == approx(2 * seconds, rel=0.15)
    assert got["connections_lost"] == 0
    assert got["mean_wait_ms"] == approx(50, rel=0.01)   # 500 ms waited per 10 queued, per second


def test_app_latency_p95(scraped):
    prom, start, end = scraped
    # /api/products alone: rank 95 of 100 is half-way through the (0.1, 0.25] bucket
    assert promql.app_latency_p95(prom, start, end, route="/api/products") == approx(0.175, rel=0.01)
    # both routes (101 requests/s): rank 95.95 is 59.5% through (0.1, 0.25]
    assert promql.app_latency_p95(prom, start, end) == approx(0.1 + 0.15 * 5.95 / 10, rel=0.01)
    assert promql.app_latency_p95(prom, start, end, route="/api/none") is None


def test_step_figures_has_every_tier(scraped):
    prom, start, end = scraped
    figures = promql.step_figures(prom, start, end, step="500ms")
    assert set(figures) == {"cpu_cores", "pgbouncer", "postgres", "redis", "nginx", "app_pool",
                            "app_latency_p95"}
    assert figures["pgbouncer"]["max_waiting_clients"] == 6


def test_unreachable_prometheus_is_an_error():
    prom = promql.Prometheus(f"http://127.0.0.1:{_free_port()}", timeout=1)
    with pytest.raises(promql.PrometheusError):
        prom.query("up")


def test_the_lab_smoke_test_names_a_target_prometheus_cannot_scrape(scraped, monkeypatch):
    """tools/lab/smoke.py (standard library only: it runs inside the hosts too) refuses a lab
    whose Prometheus answers but scrapes nothing of a host, and names the host and its address."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "smoke", Path(__file__).parents[2] / "tools" / "lab" / "smoke.py")
    smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke)
    monkeypatch.setattr(smoke, "PROMETHEUS_WAIT_S", 1)
    prom, _, _ = scraped
    with pytest.raises(AssertionError) as err:
        smoke.check_prometheus(prom.base_url)
    assert str(err.value).startswith("Prometheus cannot scrape: gone gone1 (http://127.0.0.1:")
    assert "shop1" not in str(err.value)   # only the target that is down
