"""The haproxy role as the ALB's stand-in: HTTPS with the lab CA's certificate (TLS 1.2+,
HTTP/2, HSTS), plain HTTP only redirecting, X-Forwarded-For appended, /metrics answered here,
round robin over the targets, and active health checks that take a failing target out of the
rotation and back (converge.yml: every 2 s, 2 failures out, 2 passes back)."""
import json
import time

CURL = "curl --cacert /etc/ssl/lab-ca.crt -s"
SHOP = "https://127.0.0.1"
REDIRECT_PORT = 8443        # converge.yml's haproxy_tls_redirect_port
INTERVAL, FALL, RISE = 2, 2, 2
# on top of the thresholds: a busy machine (molecule scenarios in parallel) slows each curl
SLACK_S = 30


def fetch(host, args):
    """(status, lower-cased headers, body) of one curl inside the container."""
    out = host.check_output(f"{CURL} -D - {args}")
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    headers = dict((k.strip().lower(), v.strip()) for k, v in
                   (line.split(":", 1) for line in lines[1:] if ":" in line))
    return int(lines[0].split()[1]), headers, body


def targets_answering(host, n=4):
    """The target behind each of n requests (None: HAProxy answered itself, e.g. a 503)."""
    return [json.loads(fetch(host, f"{SHOP}/api/echo")[2]).get("target") for _ in range(n)]


def wait_for(host, predicate, seconds):
    deadline = time.monotonic() + seconds
    while True:
        names = targets_answering(host)
        if predicate(names) or time.monotonic() > deadline:
            return names
        time.sleep(0.5)


def assert_envelope(status, headers, body, expected_status, code):
    assert status == expected_status, body
    assert headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["success"] is False and doc["error"]["code"] == code and doc["error"]["message"]


def test_package_and_service(host):
    assert host.package("haproxy").is_installed
    assert host.service("haproxy").is_running and host.service("haproxy").is_enabled
    assert host.run("haproxy -c -q -f /etc/haproxy/haproxy.cfg").rc == 0
    assert host.file("/etc/haproxy/tls/shop.pem").mode == 0o600


def test_https_with_the_lab_certificate_http2_and_hsts(host):
    status, headers, body = fetch(host, f"--http2 {SHOP}/api/echo")
    assert status == 200 and json.loads(body)["target"] in ("a", "b")
    assert headers["strict-transport-security"] == "max-age=31536000"
    assert host.check_output(f"{CURL} -o /dev/null -w '%{{http_version}}' --http2 {SHOP}/api/echo") == "2"
    # TLS 1.1 and below are refused (exit 35: handshake failed)
    assert host.run(f"{CURL} --tlsv1.1 --tls-max 1.1 {SHOP}/api/echo").rc == 35


def test_plain_http_only_redirects_to_https(host):
    for method, path in (("GET", "/api/echo?page=2"), ("POST", "/api/orders"), ("GET", "/")):
        status, headers, _ = fetch(host, f"-X {method} http://127.0.0.1{path}")
        assert status == 301
        assert headers["location"] == f"https://127.0.0.1:{REDIRECT_PORT}{path}"
        assert "strict-transport-security" not in headers


def test_client_address_is_appended_to_x_forwarded_for(host):
    _, _, body = fetch(host, f"{SHOP}/api/echo")
    seen = {k.lower(): v for k, v in json.loads(body)["headers"].items()}
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert (seen["x-forwarded-proto"], seen["x-forwarded-port"]) == ("https", "443")
    _, _, body = fetch(host, f"-H 'X-Forwarded-For: 198.51.100.7' {SHOP}/api/echo")
    seen = {k.lower(): v for k, v in json.loads(body)["headers"].items()}
    assert seen["x-forwarded-for"] == "198.51.100.7, 127.0.0.1"


def test_metrics_answered_here_never_forwarded(host):
    for path in ("/metrics", "/metrics/", "/metrics/x", "/metrics?x=1"):
        assert_envelope(*fetch(host, f"{SHOP}{path}"), 404, "NOT_FOUND")
    # other paths reach a target
    assert json.loads(fetch(host, f"{SHOP}/metricsx")[2])["reached"] == "/metricsx"


def test_round_robin_over_the_targets(host):
    assert set(targets_answering(host)) == {"a", "b"}


def test_health_checks_are_active_with_the_target_groups_timing(host):
    # probes arrive with no client traffic, every INTERVAL seconds, at /healthz
    before = len(host.file("/srv/a.probes").content_string.splitlines())
    time.sleep(3 * INTERVAL + 0.5)
    probes = host.file("/srv/a.probes").content_string.splitlines()[before:]
    assert 2 <= len(probes) <= 5, probes
    assert all(p.split()[1] == "shoplab-health-check" for p in probes)


def test_a_failing_target_leaves_the_rotation_and_returns(host):
    host.run("touch /srv/b.down")
    try:
        names = wait_for(host, lambda n: set(n) == {"a"}, FALL * INTERVAL + SLACK_S)
        assert set(names) == {"a"}, names
        exported = host.check_output("curl -s http://127.0.0.1:8405/metrics")
        assert 'haproxy_server_status{proxy="targets",server="target2",state="DOWN"} 1' in exported
    finally:
        host.run("rm -f /srv/b.down")
    names = wait_for(host, lambda n: set(n) == {"a", "b"}, RISE * INTERVAL + SLACK_S)
    assert set(names) == {"a", "b"}, names


def test_no_healthy_target_is_a_503_envelope_with_retry_after(host):
    host.run("touch /srv/a.down /srv/b.down")
    try:
        deadline = time.monotonic() + FALL * INTERVAL + SLACK_S
        while True:
            status, headers, body = fetch(host, f"{SHOP}/api/echo")
            if status == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert_envelope(status, headers, body, 503, "SERVICE_UNAVAILABLE")
        assert headers["retry-after"] == "1"
        assert headers["strict-transport-security"] == "max-age=31536000"
    finally:
        host.run("rm -f /srv/a.down /srv/b.down")
    assert set(wait_for(host, lambda n: set(n) == {"a", "b"}, RISE * INTERVAL + SLACK_S)) == {"a", "b"}
