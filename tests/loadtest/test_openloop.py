"""The open-loop generator: its schedule and request mix as pure functions, then short sweeps
(about a second each) against aiohttp servers on loopback, running on their own thread and
event loop as a shop would on its own host."""
import asyncio
import ipaddress
import json
import random
import statistics
import threading
from collections import Counter
from contextlib import contextmanager

import pytest
from aiohttp import web

from edge import lab
from loadtest import openloop, reference
from loadtest.clients import CLIENT_NET

OK = json.dumps({"success": True, "data": {}})


@contextmanager
def serve(handler, ssl_context=None):
    """An aiohttp server answering every GET with ``handler`` (over HTTPS with
    ``ssl_context``): yields its base URL."""
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start())
    host, port = runner.addresses[0][:2]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def stop():                                     # and end handlers still waiting
        await runner.cleanup()
        left = asyncio.all_tasks() - {asyncio.current_task()}
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    try:
        yield f"{'https' if ssl_context else 'http'}://{host}:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def ok(request):
    return web.Response(text=OK, content_type="application/json")


def one_step(url, rate, measure_s=1.0, warmup_s=0.2, **settings):
    [rec] = openloop.sweep(url, [rate], measure_s, warmup_s,
                           settings=openloop.Settings(**settings), after_slo_steps=None)
    return rec


def test_poisson_schedule_matches_its_rate_and_is_seeded():
    times = openloop.schedule(200, 50, random.Random(3))
    assert abs(len(times) - 10_000) < 400                  # 4 sigma of a Poisson count
    assert times == sorted(times) and 0 <= times[0] and times[-1] < 50
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert statistics.fmean(gaps) == pytest.approx(1 / 200, rel=0.05)
    assert statistics.stdev(gaps) / statistics.fmean(gaps) == pytest.approx(1, rel=0.05)
    assert openloop.schedule(200, 50, random.Random(3)) == times


def test_fixed_schedule_is_evenly_spaced():
    times = openloop.schedule(40, 2.5, random.Random(0), poisson=False)
    assert len(times) == 100 and times[1] == pytest.approx(0.025) and times[-1] < 2.5
    assert openloop.schedule(0, 10, random.Random(0)) == []


def test_request_mix_matches_stage3():
    rng = random.Random(5)
    draws = [openloop.draw_request(rng) for _ in range(20_000)]
    counts = Counter(kind for kind, _ in draws)
    total = sum(reference.STAGE3_MIX.values())
    for kind, weight in reference.STAGE3_MIX.items():
        assert counts[kind] / len(draws) == pytest.approx(weight / total, abs=0.015)
    paths = {path for _, path in draws}
    assert paths == ({"/api/products"}
                     | {f"/api/products/{i}" for i in reference.STAGE3_DETAIL_IDS}
                     | {f"/api/products/search?q={t}" for t in reference.STAGE3_SEARCH_TERMS})


def test_answers_are_judged_as_the_reference_did():
    assert openloop.answer_error(200, OK.encode()) is None
    assert openloop.answer_error(500, OK.encode()) == "http"
    assert openloop.answer_error(200, b'{"success": false}') == "envelope"
    assert openloop.answer_error(200, b"<html>") == "envelope"
    assert openloop.answer_error(200, b"\xff") == "envelope"


def test_a_step_against_a_healthy_server(tmp_path):
    seen = []

    async def recording(request):
        seen.append((request.path_qs, request.headers.get("X-Forwarded-For")))
        return await ok(request)

    out = tmp_path / "steps.jsonl"
    with serve(recording) as url:
        [rec] = openloop.sweep(url, [100], 1.0, 0.3, out, seed=2,
                               settings=openloop.Settings(clients=20))
    assert [json.loads(line) for line in out.read_text().splitlines()] == [rec]
    required = {"phase", "rate", "requests", "sent", "completed", "ok", "failures", "errors",
                "error_rate", "achieved_rps", "started", "ended", "drained", "generator_cpu_s",
                "generator_cpu_share", "lag_p99_ms", "lag_max_ms", "slo_break", "seed"}
    required |= {f"{prefix}{p}_ms" for prefix in ("", "service_")
                 for p in ("p50", "p90", "p95", "p99", "max")}
    assert required <= rec.keys()
    assert set(rec["errors"]) == set(openloop.ERROR_KINDS)
    assert rec["phase"] == "openloop" and rec["slo_break"] is None
    assert rec["failures"] == 0 and rec["error_rate"] == 0.0
    assert 60 <= rec["requests"] <= 140                     # ~100 arrivals in the window
    assert rec["sent"] == rec["completed"] == rec["ok"] == rec["requests"]
    assert rec["achieved_rps"] == pytest.approx(100, rel=0.4)
    assert rec["p50_ms"] <= rec["p95_ms"] <= rec["p99_ms"] <= rec["max_ms"] < 1000
    assert rec["service_p99_ms"] <= rec["p99_ms"] + 1     # from a later moment, same end
    assert rec["ended"] - rec["started"] == pytest.approx(1.0, abs=0.3)
    assert 0 <= rec["generator_cpu_share"] < 2
    # warm-up requests were sent too, and every request came from one of the 20 clients
    assert len(seen) > rec["requests"]
    addresses = {a for _, a in seen}
    assert len(addresses) <= 20 and all(ipaddress.IPv4Address(a) in CLIENT_NET for a in addresses)


def test_http_500_and_envelope_failures_are_errors():
    async def flaky(request):
        if request.path.startswith("/api/products/search"):
            return web.Response(status=500, text="oops")
        if request.path != "/api/products":                 # a product page
            return web.Response(text='{"success": false}', content_type="application/json")
        return await ok(request)

    with serve(flaky) as url:
        rec = one_step(url, 200)
    errors, n = rec["errors"], rec["requests"]
    assert errors["http"] / n == pytest.approx(0.15, abs=0.08)
    assert errors["envelope"] / n == pytest.approx(0.30, abs=0.1)
    assert rec["failures"] == errors["http"] + errors["envelope"] and rec["completed"] == n
    assert rec["error_rate"] == pytest.approx(rec["failures"] / n)
    assert rec["ok"] == n - rec["failures"] and rec["slo_break"].startswith("error rate")


def test_a_stalled_server_shows_the_queueing_a_closed_loop_hides():
    lock = asyncio.Lock()

    async def one_at_a_time(request):                      # capacity: 50 req/s
        async with lock:
            await asyncio.sleep(0.02)
        return await ok(request)

    with serve(one_at_a_time) as url:
        rec = one_step(url, 100, measure_s=0.8, connections=2)
    assert rec["failures"] == 0 and rec["completed"] == rec["requests"]
    # queued behind two connections: timed from their intended time, far slower than served
    assert rec["p50_ms"] > 2 * rec["service_p50_ms"]
    assert rec["p99_ms"] > 2 * rec["service_p99_ms"]
    assert rec["lag_p99_ms"] < rec["p99_ms"] / 10          # the generator itself kept up
    assert rec["achieved_rps"] < 70                       # the shop's 50/s, not the 100 asked


def test_the_in_flight_cap_drops_requests():
    async def slow(request):
        await asyncio.sleep(2)
        return await ok(request)

    with serve(slow) as url:
        rec = one_step(url, 100, measure_s=0.5, warmup_s=0, max_in_flight=5, drain_s=3)
    assert rec["sent"] == 5 and rec["errors"]["dropped"] == rec["requests"] - 5
    assert rec["errors"]["dropped"] > 20
    assert rec["failures"] == rec["errors"]["dropped"] and rec["ok"] == 5


def test_timeouts_unanswered_at_the_drain_deadline_and_refused_connections():
    async def hangs(request):
        await asyncio.sleep(5)
        return await ok(request)

    with serve(hangs) as url:
        timed_out = one_step(url, 50, measure_s=0.4, warmup_s=0, timeout_s=0.3)
        drained = one_step(url, 50, measure_s=0.4, warmup_s=0, drain_s=0.3)
    for rec in (timed_out, drained):
        assert rec["errors"]["timeout"] == rec["requests"] > 0 and rec["completed"] == 0
        assert rec["error_rate"] == 1.0 and rec["p95_ms"] is None
    assert drained["drained"] - drained["ended"] < 1      # it did not wait for the answers
    with serve(ok) as url:
        pass                                              # a port nothing listens on now
    refused = one_step(url, 50, measure_s=0.3, warmup_s=0)
    assert refused["errors"]["connection"] == refused["requests"] > 0


def test_the_sweep_stops_one_step_after_the_slo_is_passed(tmp_path):
    async def failing(request):
        return web.Response(status=503)

    out = tmp_path / "steps.jsonl"
    with serve(failing) as url:
        assert openloop.main(["--target", url, "--rates", "20,40,60,80", "--measure", "0.3",
                              "--warmup", "0", "--out", str(out)]) == 0
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["rate"] for r in recs] == [20, 40]
    assert all(r["slo_break"] and r["errors"]["http"] == r["requests"] for r in recs)


def test_over_https_the_generator_trusts_the_lab_ca_only(lab_ca, monkeypatch):
    ca, server_context = lab_ca
    with serve(ok, server_context) as url:
        lab.trust_ca(ca)                  # what a capacity round does after the deploy
        trusted = one_step(url, 50, measure_s=0.5, clients=5)
        monkeypatch.delenv("SSL_CERT_FILE")
        untrusted = one_step(url, 50, measure_s=0.5, clients=5)
    assert trusted["ok"] == trusted["requests"] > 0 and trusted["failures"] == 0
    assert untrusted["ok"] == 0 and untrusted["failures"] == untrusted["requests"] > 0
