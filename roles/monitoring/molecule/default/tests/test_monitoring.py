"""The monitoring role: Debian's exporters per group, Prometheus scraping them, real figures."""
import json
import os
import time
import urllib.parse

import pytest

EXPORTERS = {  # package: port
    "prometheus-node-exporter": 9100,
    "prometheus-postgres-exporter": 9187,
    "prometheus-pgbouncer-exporter": 9127,
    "prometheus-redis-exporter": 9121,
    "prometheus-nginx-exporter": 9113,
}
JOBS = {"prometheus", "node", "postgres", "pgbouncer", "redis", "nginx", "app"}


@pytest.fixture(scope="module")
def address(host):
    """The container's private address: the exporters' and Prometheus' listen address."""
    return host.check_output("ip -4 -o route get 1.1.1.1 | sed -E 's/.* src ([0-9.]+).*/\\1/'")


@pytest.fixture(scope="module")
def query(host, address):
    def run(expr):
        url = f"http://{address}:9090/api/v1/query?query={urllib.parse.quote(expr)}"
        body = json.loads(host.check_output(f"curl -sf '{url}'"))
        assert body["status"] == "success", body
        return body["data"]["result"]
    return run


@pytest.fixture(scope="module")
def up(host, query):
    """Every target's `up`, once each job has been scraped (2 s interval; a minute at most)."""
    # one client through pgbouncer first: its (shop, shop) pool exists from then on
    with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "shop_db_password")) as f:
        password = f.read().split()[0]
    host.check_output(f"PGPASSWORD={password} psql -XAt -h 127.0.0.1 -p 6432 -U shop shop -c 'SELECT 1'")
    deadline = time.monotonic() + 60
    while True:
        result = query("up")
        jobs = {r["metric"]["job"] for r in result}
        ready = jobs == JOBS and all(r["value"][1] == "1" for r in result)
        # and the exporter scraped since that client came
        if (ready and query('pgbouncer_waiting_clients{database="shop"}')) or time.monotonic() > deadline:
            return result
        time.sleep(2)


def test_packages_and_services(host):
    for package in [*EXPORTERS, "prometheus"]:
        assert host.package(package).is_installed, package
        svc = host.service(package)
        assert svc.is_running and svc.is_enabled, package
    # install_recommends off: no apt-collector timer, no extra daemons
    assert not host.package("prometheus-node-exporter-collectors").is_installed


def test_listen_on_the_private_address_only(host, address):
    for package, port in {**EXPORTERS, "prometheus": 9090}.items():
        assert host.socket(f"tcp://{address}:{port}").is_listening, package
        assert not host.socket(f"tcp://0.0.0.0:{port}").is_listening, package


def test_credentials_files_private(host):
    for package in ("prometheus-postgres-exporter", "prometheus-pgbouncer-exporter",
                    "prometheus-redis-exporter"):
        f = host.file(f"/etc/default/{package}")
        assert (f.user, f.mode) == ("root", 0o600), package


def test_config_valid_and_flags(host):
    assert host.run("promtool check config /etc/prometheus/prometheus.yml").rc == 0
    args = host.file("/etc/default/prometheus").content_string
    assert "--storage.tsdb.retention.time=2d" in args and "--storage.tsdb.retention.size=1GB" in args
    assert "scrape_interval: 2s" in host.file("/etc/prometheus/prometheus.yml").content_string


def test_every_target_up(up):
    # nothing left of the package's first start (its sample configuration's jobs, unlabelled)
    assert all(r["metric"].get("host") == "mol-monitoring" for r in up), up
    assert {r["metric"]["job"] for r in up} == JOBS
    down = [r["metric"] for r in up if r["value"][1] != "1"]
    assert not down, down


@pytest.mark.parametrize("expr", [
    'node_cpu_seconds_total{job="node",mode="idle"}',
    "pg_up == 1",
    "pg_settings_max_connections == 100",
    'pg_stat_activity_count{datname="shop",state="active"}',
    'pgbouncer_waiting_clients{database="shop",user="shop"}',
    'pgbouncer_pool_max_wait_seconds{database="shop"}',
    'pgbouncer_pool_size{database="shop"} == 20',
    "pgbouncer_wait_microseconds_total",
    "pgbouncer_used_clients >= 1",
    "redis_up == 1",
    "redis_connected_clients >= 1",
    "redis_commands_processed_total",
    "nginx_up == 1",
    "nginx_connections_active >= 1",
    "nginx_connections_waiting",
    'shop_db_requests_waiting{job="app"}',
    'shop_http_request_duration_seconds_bucket{job="app",le="0.1"}',
])
def test_key_metrics_scraped(up, query, expr):
    assert query(expr), expr


def test_reload_keeps_running(host, query):
    """The role's reload handler: SIGHUP re-reads the file without a restart."""
    pid = host.check_output("systemctl show -p MainPID --value prometheus")
    host.check_output("systemctl reload prometheus")
    time.sleep(1)
    assert host.check_output("systemctl show -p MainPID --value prometheus") == pid
    assert query("prometheus_config_last_reload_successful == 1")
