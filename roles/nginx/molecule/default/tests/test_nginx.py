"""The nginx role: proxy to the upstream with keepalive, limits, logs, stub_status, storefront."""


def test_package_and_service(host):
    assert host.package("nginx-light").is_installed
    svc = host.service("nginx")
    assert svc.is_running and svc.is_enabled


def test_listening(host):
    assert host.socket("tcp://0.0.0.0:80").is_listening
    assert host.socket("tcp://127.0.0.1:8081").is_listening
    assert not host.socket("tcp://0.0.0.0:8081").is_listening


def test_config_valid_and_managed(host):
    assert host.run("nginx -t").rc == 0
    site = host.file("/etc/nginx/sites-enabled/shoplab.conf")
    assert site.is_symlink and "Ansible managed" in site.content_string
    assert "keepalive 32;" in site.content_string
    assert not host.file("/etc/nginx/sites-enabled/default").exists


def test_api_proxied_with_request_id(host):
    out = host.check_output(
        "curl -s -D - -H 'X-Request-ID: probe-123' http://127.0.0.1/api/health")
    assert out.startswith("HTTP/1.1 200")
    assert "x-request-id: probe-123" in out.lower()
    assert '"status": "ok"' in out


def test_access_log_has_upstream_timing(host):
    host.check_output("curl -s -o /dev/null -H 'X-Request-ID: probe-log' http://127.0.0.1/readyz")
    last = host.check_output("grep rid=probe-log /var/log/nginx/shop-access.log | tail -1")
    assert "ua=127.0.0.1:8000" in last and "urt=" in last and " 200 " in last


def test_storefront_served_with_spa_fallback(host):
    assert "storefront fixture" in host.check_output("curl -sf http://127.0.0.1/")
    assert "storefront fixture" in host.check_output("curl -sf http://127.0.0.1/product/7")


def test_body_size_limit(host):
    code = host.check_output(
        "head -c 4096 /dev/zero | curl -s -o /dev/null -w '%{http_code}' "
        "--data-binary @- http://127.0.0.1/api/health")
    assert code == "413"


def test_stub_status_on_loopback(host):
    out = host.check_output("curl -sf http://127.0.0.1:8081/stub_status")
    assert out.startswith("Active connections:")


def test_metrics_restricted(host):
    # the container's own non-loopback address is not in nginx_metrics_allow
    ip = host.check_output("hostname -I").split()[0]
    assert host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' http://{ip}/metrics") == "403"
    assert host.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/metrics") == "200"
