"""wrk's JSON line from wrk/report.lua: parsed from a recorded output, and produced by a real
one-second wrk run against a loopback HTTP server (the Lua script must load)."""
import http.server
import ipaddress
import shutil
import threading

import pytest

from loadtest import wrk

RECORDED = """\
Running 15s test @ http://127.0.0.1:8080/api/products
  2 threads and 200 connections
  Latency   Distribution
     50%   98.00ms
WRK_JSON {"duration_us":15000000,"requests":15000,"bytes":66000000,"errors":{"connect":0,"read":2,"write":0,"status":150,"timeout":3},"latency_us":{"mean":120000.5,"max":900000,"p50":98000,"p90":200000,"p95":250000,"p99":400000,"p999":800000}}
"""


def test_parse_recorded_output():
    r = wrk.parse_output(RECORDED, 200)
    assert r["requests"] == 15000 and r["failures"] == 155
    assert r["rps"] == pytest.approx((15000 - 150) / 15)
    assert r["error_rate"] == pytest.approx(155 / 15005)
    assert (r["p50_ms"], r["p95_ms"], r["p99_ms"]) == (98.0, 250.0, 400.0)


def test_no_json_line_is_an_error():
    with pytest.raises(ValueError):
        wrk.parse_output("wrk: unable to connect", 10)


def wrk_against_loopback(**kwargs):
    """One short wrk run against a loopback server ("/" 200, anything else 404): (step record,
    X-Forwarded-For values of the requests it received)."""
    forwarded = []

    class Tiny(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):  # noqa: N802 (http.server's naming)
            forwarded.append(self.headers.get("X-Forwarded-For"))
            self.send_response(200 if self.path == "/" else 404)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass  # wrk hangs up mid-answer when its time is over

    server = Server(("127.0.0.1", 0), Tiny)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        r = wrk.run(url, seconds=1, **kwargs)
    finally:
        server.shutdown()
        server.server_close()
    return r, forwarded


needs_wrk = pytest.mark.skipif(not shutil.which("wrk"),
                               reason="wrk is installed by tools/install-deps.sh")


@needs_wrk
def test_real_wrk_run_through_the_lua_reporter():
    r, forwarded = wrk_against_loopback(connections=2, threads=1, paths=["/", "/missing"])
    assert r["requests"] > 0
    # every other request asks for a missing file: the round robin of WRK_PATHS works
    assert 0.3 < r["failures"] / r["requests"] < 0.7
    assert r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"]
    assert set(forwarded) == {None}       # no clients asked for: no X-Forwarded-For


@needs_wrk
def test_wrk_sends_one_of_n_client_addresses():
    r, forwarded = wrk_against_loopback(connections=4, threads=2, clients=5)
    assert r["requests"] >= 10
    net = ipaddress.IPv4Network("198.18.0.0/15")
    assert all(ipaddress.IPv4Address(a) in net for a in forwarded)
    assert len(set(forwarded)) == 5
