"""Parsing what the samplers read: /metrics text, podman's CPU durations, container roles,
and CPU deltas of a real process tree."""
import os
import subprocess
import sys
import time

import pytest

from loadtest.samplers import (POOL_METRICS, ProcessTreeCPU, go_duration_seconds, parse_metrics,
                               process_role)

METRICS = """\
# HELP shop_db_pool_size connections currently managed by the pool
# TYPE shop_db_pool_size gauge
shop_db_pool_size{pid="101"} 4.0
shop_db_pool_size{pid="102"} 6.0
# HELP shop_db_requests_waiting requests waiting for a connection now
# TYPE shop_db_requests_waiting gauge
shop_db_requests_waiting{pid="101"} 3.0
# HELP shop_db_requests_errors connection requests that failed (timeout, queue full)
# TYPE shop_db_requests_errors gauge
shop_db_requests_errors 7.0
# HELP shop_http_request_duration_seconds Request latency
# TYPE shop_http_request_duration_seconds histogram
shop_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/products",status="200"} 3.0
"""


def test_pool_metrics_are_summed_over_workers_and_missing_ones_left_out():
    got = parse_metrics(METRICS, POOL_METRICS)
    assert got == {"size": 10.0, "waiting": 3.0, "timeouts": 7.0}


def test_go_durations_from_podman_stats():
    assert go_duration_seconds("8.363641238s") == 8.363641238
    assert go_duration_seconds("1m2.5s") == 62.5
    assert go_duration_seconds("830ms") == pytest.approx(0.83)
    assert go_duration_seconds("1h0m0.5s") == 3600.5
    assert go_duration_seconds("0s") == 0


class FakeProcess:
    def __init__(self, name, cmdline=()):
        self._name, self._cmdline = name, list(cmdline)

    def name(self):
        return self._name

    def cmdline(self):
        return self._cmdline


def test_process_roles_inside_a_lab_host():
    assert process_role(FakeProcess("postgres")) == "db"
    assert process_role(FakeProcess("pgbouncer")) == "db"
    assert process_role(FakeProcess("redis-server")) == "redis"
    assert process_role(FakeProcess("nginx")) == "proxy"
    assert process_role(FakeProcess("python3", ["/opt/shoplab/venv/bin/python3", "-m",
                                                "gunicorn", "app.wsgi:application"])) == "app"
    assert process_role(FakeProcess("systemd-journal")) == "system"


def test_process_tree_cpu_counts_children():
    # a parent that starts a busy child: the child's CPU belongs to the parent's tree
    code = "import subprocess,sys; subprocess.run([sys.executable,'-c','while True: pass'])"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        time.sleep(0.5)                              # let the child start
        cpu = ProcessTreeCPU()
        assert cpu.sample([proc.pid]) is None        # first call only primes
        time.sleep(1.0)
        # the parent only waits: any CPU seen is the child's
        assert cpu.sample([proc.pid]) > 0
        assert cpu.sample([999999999]) == 0.0        # gone process: nothing, no error
    finally:
        os.killpg(proc.pid, 9)
        proc.wait(5)


def test_app_metrics_sum_over_app_hosts_and_skip_silent_ones():
    import http.server
    import threading

    from loadtest.samplers import AppMetrics

    class Metrics(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = METRICS.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Metrics) for _ in range(2)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    try:
        urls = [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
        both = AppMetrics("http://unused", app_urls=urls).sample()
        assert both["pool"] == {"size": 20.0, "waiting": 6.0, "timeouts": 14.0}
        # a host that does not answer is left out, not an error
        one = AppMetrics("http://unused", app_urls=urls[:1] + ["http://127.0.0.1:9"]).sample()
        assert one["pool"]["size"] == 10.0
        assert AppMetrics("http://127.0.0.1:9").sample() == {}
    finally:
        for s in servers:
            s.shutdown()
