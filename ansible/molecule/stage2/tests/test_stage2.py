"""Stage 2 end to end, wired as on AWS: a purchase through the ALB's stand-in (HAProxy on lb1)
reaches both app hosts, each through its own nginx.

Each test runs on the hosts it is about (testinfra runs every test on every host; the others
skip). The purchase itself is tools/lab/smoke.py, run inside lb1 against its own HTTPS
listener: storefront, register, cart, order, payment via the fake Stripe, order paid.
"""
import json
import shlex
import subprocess
import urllib.parse
import uuid
from pathlib import Path

import pytest
import yaml

SMOKE = Path(__file__).resolve().parents[4] / "tools" / "lab" / "smoke.py"
LAB_CA = Path(__file__).resolve().parents[4] / ".state" / "lab-ca" / "ca.crt"   # converge.yml
APP_HOSTS = ("mol-s2-app1", "mol-s2-app2")
REPO = Path(__file__).resolve().parents[4]
ROLE_UNITS = {
    "mol-s2-lb1": ["haproxy"],
    "mol-s2-app1": ["shop-app", "fake-stripe", "nginx"],
    "mol-s2-app2": ["shop-app", "nginx"],
    "mol-s2-db1": ["postgresql@15-main", "pgbouncer"],
    "mol-s2-redis1": ["redis-server"],
}
# redis-cli on redis1, trusting the lab CA (the monitoring role's copy for the exporter)
REDIS_CLI_TLS = "--tls --cacert /etc/prometheus/redis-ca.crt"
PORTS = {
    "mol-s2-lb1": ["tcp://0.0.0.0:80", "tcp://0.0.0.0:443"],
    # nginx on the target group's port, gunicorn on loopback behind it
    "mol-s2-app1": ["tcp://0.0.0.0:8000", "tcp://127.0.0.1:8001", "tcp://127.0.0.1:8081",
                    "tcp://0.0.0.0:12111"],
    "mol-s2-app2": ["tcp://0.0.0.0:8000", "tcp://127.0.0.1:8001", "tcp://127.0.0.1:8081"],
    "mol-s2-db1": ["tcp://0.0.0.0:6432", "tcp://127.0.0.1:5432"],
    "mol-s2-redis1": ["tcp://0.0.0.0:6379"],
}


def name(host):
    return host.backend.get_hostname()


def only(host, *names):
    if name(host) not in names:
        pytest.skip(f"not on {name(host)}")


def podman_host(hostname):
    import testinfra
    return testinfra.get_host(f"podman://{hostname}")


@pytest.fixture(scope="session")
def purchase():
    """Seed the catalogue from app1, then buy through lb1; returns smoke.py's summary."""
    app1 = podman_host("mol-s2-app1")
    app1.check_output("set -a; . /etc/shoplab/shop.env; . /etc/shoplab/migrate.env; set +a; "
                      "/opt/shoplab/venv/bin/python -m sql.seed --products 50")   # as the owner
    for src in (SMOKE, LAB_CA):
        subprocess.run(["podman", "cp", str(src), f"mol-s2-lb1:/tmp/{src.name}"], check=True)
    # over HTTPS, trusting the lab CA only; plain HTTP must redirect (molecule.yml: port 443)
    out = podman_host("mol-s2-lb1").run(
        "python3 /tmp/smoke.py https://127.0.0.1 --cafile /tmp/ca.crt --redirect-from http://127.0.0.1 "
        "--min-products 50 --spread 30")
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert out.rc == 0 and summary["ok"], summary
    return summary


def test_units_enabled_and_running(host):
    for unit in ROLE_UNITS[name(host)]:
        svc = host.service(unit)
        assert svc.is_enabled and svc.is_running, unit


def test_ports_listening(host):
    for port in PORTS[name(host)]:
        assert host.socket(port).is_listening, port


def test_purchase_through_load_balancer(host, purchase):
    only(host, "mol-s2-lb1")
    assert purchase["status"] == "paid" and purchase["products"] >= 50


def test_both_app_hosts_served_the_purchase_run(host, purchase):
    only(host, *APP_HOSTS)
    # the app logs one JSON line per request with nginx's X-Request-ID (smoke-<run>-<n>)
    served = host.check_output(f"journalctl -u shop-app --no-pager | grep -c 'smoke-{purchase['run']}-' || true")
    assert int(served) > 0, f"{name(host)} served none of the run's requests"


def test_each_app_hosts_nginx_sends_to_its_own_gunicorn(host, purchase):
    only(host, *APP_HOSTS)
    lines = host.check_output(f"grep 'rid=smoke-{purchase['run']}-' /var/log/nginx/shop-access.log")
    upstreams = {f.split("=", 1)[1] for line in lines.splitlines() for f in line.split()
                 if f.startswith("ua=") and f != "ua=-"}
    assert upstreams == {"127.0.0.1:8001"}, upstreams


def test_alb_stand_in_checks_both_targets_at_the_stacks_interval(host):
    """HAProxy probes each app host's nginx with the target group's settings of Pulumi.stage2.yaml
    (over the knobs' defaults), and its exporter shows both targets up."""
    only(host, "mol-s2-lb1")
    stack = yaml.safe_load((REPO / "Pulumi.stage2.yaml").read_text())["config"]
    interval = stack.get("shoplab:healthCheckInterval", 30)
    cfg = host.file("/etc/haproxy/haproxy.cfg").content_string
    assert f"default-server check inter {interval}s rise 2 fall 3" in cfg
    assert "uri /healthz" in cfg
    exported = host.check_output("curl -s http://mol-s2-lb1:8405/metrics")
    for n in (1, 2):
        assert f'haproxy_server_status{{proxy="targets",server="target{n}",state="UP"}} 1' in exported


def test_metrics_not_served_to_the_internet(host):
    only(host, "mol-s2-lb1")
    subprocess.run(["podman", "cp", str(LAB_CA), "mol-s2-lb1:/tmp/ca.crt"], check=True)
    out = host.check_output("curl -s --cacert /tmp/ca.crt -w ' %{http_code}' https://127.0.0.1/metrics")
    body, status = out.rsplit(" ", 1)
    assert status == "404" and json.loads(body)["error"]["code"] == "NOT_FOUND"


@pytest.fixture(scope="session")
def forwarded_client():
    """One request to lb1 from another lab host (app2) naming a client in X-Forwarded-For, as
    the load generator does through the lab's published port: (client, request id)."""
    client = f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    rid = f"xff-{uuid.uuid4().hex[:12]}"
    subprocess.run(["podman", "cp", str(LAB_CA), "mol-s2-app2:/tmp/ca.crt"], check=True)
    podman_host("mol-s2-app2").check_output(
        f"curl -sf --cacert /tmp/ca.crt -o /dev/null -m 10 -H 'X-Forwarded-For: {client}' "
        f"-H 'X-Request-ID: {rid}' 'https://mol-s2-lb1/api/products?per_page=1'")
    return client, rid


def test_app_hosts_nginx_takes_the_client_past_the_alb(host, forwarded_client):
    """lb1 appends app2's address to X-Forwarded-For; the app host's nginx trusts the lab
    network (nginx_real_ip_from), so the client it logs is the one app2 named."""
    only(host, "mol-s2-lb1")
    client, rid = forwarded_client
    lines = [podman_host(h).run(f"grep 'rid={rid}' /var/log/nginx/shop-access.log").stdout.strip()
             for h in APP_HOSTS]
    [line] = [x for x in lines if x]          # one app host served it
    assert line.startswith(f"{client} "), line
    lb1 = host.check_output("hostname -I").split()[0]
    assert line.endswith(f"peer={lb1}"), line  # it came through the ALB's stand-in


def test_app_counts_the_forwarded_client(host, forwarded_client):
    """The app's per-IP rate limit (on, at the role's defaults) counted that client: the app
    took it from X-Forwarded-For (TRUSTED_PROXY_HOPS=1 behind lb1)."""
    only(host, "mol-s2-redis1")
    import re
    env = podman_host("mol-s2-app1").check_output("grep ^REDIS_URL= /etc/shoplab/shop.env")
    password = urllib.parse.unquote(re.search(r"//:([^@]+)@", env).group(1))
    keys = host.check_output(f"redis-cli {REDIS_CLI_TLS} --no-auth-warning -a {shlex.quote(password)} "
                             "--scan --pattern 'rl:ip:*'")
    assert any(k.startswith(f"rl:ip:{forwarded_client[0]}:") for k in keys.split()), keys


def test_pgbouncer_serves_both_app_hosts_over_verified_tls(host, purchase):
    """Both app hosts' pools reach pgbouncer, every one of their connections over TLS (the app
    insists: libpq's verify-full against the lab CA, as the env file says)."""
    only(host, "mol-s2-db1")
    import re
    env = podman_host("mol-s2-app1").check_output("cat /etc/shoplab/shop.env")
    assert 'PGSSLMODE="verify-full"' in env and 'PGSSLROOTCERT="/etc/shoplab/database-ca.crt"' in env
    password = re.search(r"//shop_app:([^@]+)@", env).group(1)
    out = host.check_output(
        f"PGPASSWORD={password} psql -XA -F'|' -h 127.0.0.1 -p 6432 -U shop_app pgbouncer -c 'SHOW CLIENTS'")
    header, *rows = out.splitlines()
    cols = header.split("|")
    clients = [dict(zip(cols, r.split("|"))) for r in rows if r.startswith("C|shop_app|shop|")]
    remote = [c for c in clients if c["addr"] != "127.0.0.1"]
    assert len({c["addr"] for c in remote}) >= 2, out
    assert all(c["tls"].startswith("TLSv1.") for c in remote), out


# What an app host sends to redis1: PING, over TLS verified against the app's CA file
# (shop_app_redis_ca_src) and redis1's name, or over plain TCP; prints the answer ("" = none).
REDIS_PING = """
import socket, ssl, sys
s = socket.create_connection(("mol-s2-redis1", 6379), 3)
if sys.argv[1] == "tls":
    ctx = ssl.create_default_context(cafile="/etc/shoplab/redis-ca.crt")
    s = ctx.wrap_socket(s, server_hostname="mol-s2-redis1")
s.sendall(b"PING\\r\\n")
try:
    print(s.recv(100).decode())
except (TimeoutError, ConnectionError):
    print("")
"""


def test_redis_serves_app_hosts_tls_only_with_a_password(host):
    """As ElastiCache with in-transit encryption and AUTH: a verified TLS client without the
    password gets NOAUTH, a plain TCP client no answer at all."""
    only(host, "mol-s2-app2")
    env = host.check_output("grep -E '^REDIS_(URL|CA_FILE)=' /etc/shoplab/shop.env")
    assert 'REDIS_URL="rediss://' in env and 'REDIS_CA_FILE="/etc/shoplab/redis-ca.crt"' in env
    assert "NOAUTH" in host.check_output(f"python3 -c {shlex.quote(REDIS_PING)} tls")
    assert host.check_output(f"python3 -c {shlex.quote(REDIS_PING)} plain").strip() == ""


def test_redis_exporter_reaches_redis_over_tls(host):
    only(host, "mol-s2-redis1")
    out = host.check_output("python3 -c \"import urllib.request; print(urllib.request.urlopen("
                            "'http://mol-s2-redis1:9121/metrics', timeout=5).read().decode())\"")
    assert "redis_up 1" in out.splitlines(), [x for x in out.splitlines() if x.startswith("redis_up")]


def test_app_host_refuses_a_database_certificate_for_another_name(host):
    """verify-full checks the name: db1's certificate does not name the host's own address."""
    only(host, "mol-s2-app2")
    ip = podman_host("mol-s2-db1").check_output("hostname -I").split()[0]
    r = host.run("set -a; . /etc/shoplab/shop.env; set +a; /opt/shoplab/venv/bin/python -c "
                 f"\"import psycopg; psycopg.connect(host='{ip}', port=6432, dbname='shop', "
                 "user='shop_app', connect_timeout=5)\"")
    assert r.rc != 0 and "does not match host name" in r.stderr, r.stderr


def test_postgres_not_reachable_from_app_hosts(host):
    only(host, "mol-s2-app2")
    r = host.run("timeout 3 bash -c 'exec 3<>/dev/tcp/mol-s2-db1/5432'")
    assert r.rc != 0
