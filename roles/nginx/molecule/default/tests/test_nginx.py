"""The nginx role: HTTPS with the lab CA's certificate (plain HTTP only redirects), proxy to the
upstream with keepalive, limits, logs, stub_status, storefront, its own errors in the app's JSON
envelope, the client's address behind a trusted proxy."""
import json
from pathlib import Path

import yaml

CSP = "Content-Security-Policy"
ROLE = Path(__file__).resolve().parents[3]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
DEFAULT_CSP = "; ".join(DEFAULTS["nginx_storefront_csp"])
# prepare.yml copies the lab CA (ansible/lab-ca.yml) here; every curl trusts it and only it
CURL = "curl --cacert /etc/ssl/lab-ca.crt"
SHOP = "https://127.0.0.1"
REDIRECT_PORT = 8443   # converge.yml's nginx_tls_redirect_port


def fetch(host, args):
    """(status, lower-cased headers, body) of one curl inside the container."""
    out = host.check_output(f"{CURL} -s -D - {args}")
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    headers = dict((k.strip().lower(), v.strip()) for k, v in
                   (line.split(":", 1) for line in lines[1:] if ":" in line))
    return int(lines[0].split()[1]), headers, body


def assert_envelope(status, headers, body, expected_status, code):
    """nginx's own answer in the app's error envelope (app/errors.py)."""
    assert status == expected_status, body
    assert headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert set(doc) == {"success", "error"} and doc["success"] is False
    assert set(doc["error"]) == {"code", "message"} and doc["error"]["code"] == code
    assert doc["error"]["message"]


def test_package_and_service(host):
    assert host.package("nginx-light").is_installed
    svc = host.service("nginx")
    assert svc.is_running and svc.is_enabled


def test_listening(host):
    assert host.socket("tcp://0.0.0.0:80").is_listening
    assert host.socket("tcp://0.0.0.0:443").is_listening
    assert host.socket("tcp://127.0.0.1:8081").is_listening
    assert not host.socket("tcp://0.0.0.0:8081").is_listening


def test_config_valid_and_managed(host):
    assert host.run("nginx -t").rc == 0
    site = host.file("/etc/nginx/sites-enabled/shoplab.conf")
    assert site.is_symlink and "Ansible managed" in site.content_string
    assert "keepalive 32;" in site.content_string
    assert not host.file("/etc/nginx/sites-enabled/default").exists


def test_api_proxied_with_request_id(host):
    status, headers, body = fetch(host, f"-H 'X-Request-ID: probe-123' {SHOP}/api/health")
    assert status == 200 and headers["x-request-id"] == "probe-123"
    assert '"status": "ok"' in body


def test_https_speaks_http2(host):
    assert host.check_output(f"{CURL} -s -o /dev/null -w '%{{http_version}}' --http2 "
                             f"{SHOP}/api/health") == "2"


def test_one_request_id_when_the_app_sends_its_own(host):
    out = host.check_output(f"{CURL} -s -D - -o /dev/null -H 'X-Request-ID: probe-once' "
                            f"{SHOP}/api/echo-headers")
    assert [line.strip() for line in out.lower().splitlines()
            if line.startswith("x-request-id:")] == ["x-request-id: probe-once"]


def test_access_log_has_upstream_timing(host):
    host.check_output(f"{CURL} -s -o /dev/null -H 'X-Request-ID: probe-log' {SHOP}/readyz")
    last = host.check_output("grep rid=probe-log /var/log/nginx/shop-access.log | tail -1")
    assert "ua=127.0.0.1:8000" in last and "urt=" in last and " 200 " in last


def test_storefront_served_with_spa_fallback(host):
    assert "storefront fixture" in host.check_output(f"{CURL} -sf {SHOP}/")
    assert "storefront fixture" in host.check_output(f"{CURL} -sf {SHOP}/product/7")


def test_body_size_limit_answers_the_json_envelope(host):
    host.check_output("head -c 4096 /dev/zero > /tmp/body-4k")   # over converge.yml's 2k
    status, headers, body = fetch(host, "-H 'X-Request-ID: probe-413' --data-binary @/tmp/body-4k "
                                        f"{SHOP}/api/health")
    assert_envelope(status, headers, body, 413, "PAYLOAD_TOO_LARGE")
    assert headers["x-request-id"] == "probe-413" and "retry-after" not in headers


def test_upstream_closing_answers_502_json_with_retry_after(host):
    status, headers, body = fetch(host, f"{SHOP}/api/drop")
    assert_envelope(status, headers, body, 502, "BAD_GATEWAY")
    assert headers["retry-after"] == "1"


def test_upstream_too_slow_answers_504_json_with_retry_after(host):
    status, headers, body = fetch(host, f"-H 'X-Request-ID: probe-504' {SHOP}/api/slow")
    assert_envelope(status, headers, body, 504, "GATEWAY_TIMEOUT")
    assert headers["retry-after"] == "1" and headers["x-request-id"] == "probe-504"


def test_the_apps_own_503_passes_untouched(host):
    status, headers, body = fetch(host, f"{SHOP}/api/busy")
    assert status == 503 and headers["retry-after"] == "7"
    assert json.loads(body)["error"]["message"] == "from the app"


def test_bad_request_answers_400_json(host):
    # a Host header with a slash: nginx refuses the request itself
    status, headers, body = fetch(host, f"-H 'Host: bad/host' {SHOP}/api/health")
    assert_envelope(status, headers, body, 400, "BAD_REQUEST")


def test_client_address_from_a_trusted_proxy(host):
    # loopback is in nginx_real_ip_from (converge.yml): its X-Forwarded-For names the client
    status, _, body = fetch(host, "-H 'X-Forwarded-For: 198.18.0.7' -H 'X-Real-IP: 203.0.113.9' "
                                  f"-H 'X-Request-ID: probe-trusted' {SHOP}/api/echo-headers")
    seen = {k.lower(): v for k, v in json.loads(body).items()}
    assert status == 200
    # the app's view: the right-most entry (TRUSTED_PROXY_HOPS=1) is the client
    assert seen["x-forwarded-for"] == "198.18.0.7, 198.18.0.7"
    assert "x-real-ip" not in seen
    line = host.check_output("grep rid=probe-trusted /var/log/nginx/shop-access.log | tail -1")
    assert line.startswith("198.18.0.7 ") and line.endswith("peer=127.0.0.1")


def test_client_address_from_an_untrusted_peer(host):
    ip = host.check_output("hostname -I").split()[0]
    _, _, body = fetch(host, f"-H 'X-Forwarded-For: 198.18.0.8' -H 'X-Request-ID: probe-untrusted' "
                             f"--connect-to 127.0.0.1:443:{ip}:443 {SHOP}/api/echo-headers")
    seen = {k.lower(): v for k, v in json.loads(body).items()}
    assert seen["x-forwarded-for"] == f"198.18.0.8, {ip}"
    line = host.check_output("grep rid=probe-untrusted /var/log/nginx/shop-access.log | tail -1")
    assert line.startswith(f"{ip} ") and line.endswith(f"peer={ip}")


def test_storefront_security_headers(host):
    for path in ("/", "/product/7", "/index.html"):
        status, headers, _ = fetch(host, f"{SHOP}{path}")
        assert status == 200
        assert headers[CSP.lower()] == DEFAULT_CSP
        assert "frame-ancestors 'none'" in DEFAULT_CSP.split("; ")
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "x-request-id" in headers


def test_api_answers_carry_no_storefront_headers(host):
    _, headers, _ = fetch(host, f"{SHOP}/api/health")
    assert CSP.lower() not in headers and "referrer-policy" not in headers
    assert "x-request-id" in headers


def test_stub_status_on_loopback(host):
    out = host.check_output("curl -sf http://127.0.0.1:8081/stub_status")
    assert out.startswith("Active connections:")


def test_metrics_restricted(host):
    # the container's own non-loopback address is not in nginx_metrics_allow
    ip = host.check_output("hostname -I").split()[0]
    assert host.check_output(f"{CURL} -s -o /dev/null -w '%{{http_code}}' --connect-to 127.0.0.1:443:{ip}:443 "
                             f"{SHOP}/metrics") == "403"
    assert host.check_output(f"{CURL} -s -o /dev/null -w '%{{http_code}}' {SHOP}/metrics") == "200"


def test_metrics_listener_serves_only_the_apps_metrics(host):
    # converge.yml's nginx_metrics_listen: plain HTTP on the container's own address only
    ip = host.check_output("hostname -I").split()[0]
    code = "curl -s -o /dev/null -w '%{http_code}' "
    # a scraper from an allowed network (loopback as the source address): /metrics, nothing else
    assert host.check_output(f"{code} --interface 127.0.0.1 http://{ip}:9180/metrics") == "200"
    assert host.check_output(f"{code} --interface 127.0.0.1 http://{ip}:9180/api/health") == "404"
    # from the container's own address, not in nginx_metrics_allow
    assert host.check_output(f"{code} http://{ip}:9180/metrics") == "403"
    assert host.run("curl -s http://127.0.0.1:9180/metrics").rc == 7   # nothing on loopback


def test_plain_http_only_redirects_to_https(host):
    # the same host, path and query on the HTTPS port clients reach; a POST too (never served)
    for method, path in (("GET", "/api/products?page=2"), ("POST", "/api/orders"), ("GET", "/")):
        status, headers, body = fetch(host, f"-X {method} http://127.0.0.1{path}")
        assert status == 301, body
        assert headers["location"] == f"https://127.0.0.1:{REDIRECT_PORT}{path}"
        assert "strict-transport-security" not in headers     # never over HTTP
    line = host.check_output("grep -h 'POST /api/orders' /var/log/nginx/shop-access.log | tail -1")
    assert " 301 " in line and "ua=- " in line      # answered by nginx: no upstream saw it


def test_acme_challenge_answered_on_plain_http(host):
    host.check_output(f"mkdir -p {DEFAULTS['nginx_acme_webroot']}/.well-known/acme-challenge && "
                      f"echo token-body > {DEFAULTS['nginx_acme_webroot']}/.well-known/acme-challenge/t1")
    status, _, body = fetch(host, "http://127.0.0.1/.well-known/acme-challenge/t1")
    assert status == 200 and body.strip() == "token-body"
    assert fetch(host, "http://127.0.0.1/.well-known/acme-challenge/none")[0] == 404


def test_hsts_on_every_https_answer(host):
    # proxied, storefront (own add_header), nginx's own error (own add_header)
    for args in (f"{SHOP}/api/health", f"{SHOP}/", f"{SHOP}/api/drop"):
        _, headers, _ = fetch(host, args)
        assert headers["strict-transport-security"] == DEFAULTS["nginx_hsts"], args


def test_certificate_from_the_lab_ca_and_modern_protocols_only(host):
    # curl verifies the chain against the lab CA only (CURL): a 200 means it holds
    assert fetch(host, f"{SHOP}/api/health")[0] == 200
    for version in ("1.2", "1.3"):
        assert host.run(f"{CURL} -sf -o /dev/null --tlsv{version} --tls-max {version} "
                        f"{SHOP}/api/health").rc == 0
    old = host.run(f"{CURL} -s -o /dev/null --tlsv1.1 --tls-max 1.1 {SHOP}/api/health")
    assert old.rc != 0     # TLS 1.1 (and older) refused at the handshake
    # a TLS 1.2 suite without forward secrecy is refused
    assert host.run(f"{CURL} -s -o /dev/null --tls-max 1.2 --ciphers AES128-GCM-SHA256 "
                    f"{SHOP}/api/health").rc != 0
    assert host.run(f"curl -s -o /dev/null {SHOP}/api/health").rc != 0   # no CA: untrusted
