"""Open-loop load at fixed arrival rates, with the stage-3 mix of ``MixUser``.

The closed-loop generators (locust users, wrk connections) send a request only after the
previous answer, so when the shop slows down they slow down too, and the requests a crowd
would have sent meanwhile are never timed: latency past the knee is understated (coordinated
omission). Here every request has an *intended send time*, drawn before the step from a seeded
Poisson process (or a fixed interval) at the step's rate, and is sent then, however the shop
is doing.

Contract of one step (``run_step``; ``sweep`` runs steps at several rates, one JSON line each):

- ``warmup_s`` of arrivals sent and not recorded, then ``measure_s`` recorded: the requests
  whose intended time falls in the measured window are the step's.
- A request takes one of ``connections`` connections, waiting for one if all are busy. At most
  ``max_in_flight`` requests wait or are on the wire; one arriving when that many are is not
  sent and counts as a ``dropped`` error.
- latency = completion - intended send time; service time = completion - the moment it got a
  connection (their gap is the wait to be sent, which a closed loop never times); lag = the
  moment the generator got round to it - intended time (the generator's own delay). Each is an
  HdrHistogram in µs (1 µs..60 s, 3 significant digits); every answer, failed or not, is timed.
- Errors, by kind: ``http`` (not 200), ``envelope`` (200 without a JSON body with
  ``success: true``, loadtest/envelope.py), ``timeout`` (no answer ``timeout_s`` after sending),
  ``connection`` (refused, reset, broken body), ``dropped``. A step is over ``drain_s`` after
  its window at the latest: requests still in flight then are cancelled and count as
  ``timeout``; arrivals a generator too far behind had not sent by then, as ``dropped``.
- Each request carries ``X-Forwarded-For``: the address of one of ``clients`` virtual clients
  (loadtest/clients.py), drawn per request. An arrival process models a crowd, not a set of
  users; a fixed crowd keeps the per-IP limiter's keys as many as the closed-loop search's
  users and each address at rate/clients req/s, far below its limit (100 req/s).
- The generator's CPU (getrusage of this process) over the measured window is reported: a step
  where it passes ``GENERATOR_CPU_LIMIT`` of one core, or whose lag is large, measured the
  generator as much as the shop.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import math
import random
import resource
import ssl
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
from hdrh.histogram import HdrHistogram
from yarl import URL

from loadtest import reference
from loadtest.breaking import Limits, step_breaks
from loadtest.clients import CLIENT_HEADER, client_address
from loadtest.envelope import judge_body

ERROR_KINDS = ("http", "envelope", "timeout", "dropped", "connection")
PERCENTILES = (50, 90, 95, 99)
LOWEST_US, HIGHEST_US = 1, 60_000_000
GENERATOR_CPU_LIMIT = 0.8   # share of one core past which a step measured the generator
START_DELAY_S = 0.05        # the first arrival's margin after the schedule is drawn

MIX_KINDS = tuple(reference.STAGE3_MIX)
MIX_CUM_WEIGHTS = tuple(itertools.accumulate(reference.STAGE3_MIX.values()))


@dataclass(frozen=True)
class Settings:
    """How a step sends (see the module's contract); ``drain_s`` as long as ``timeout_s`` lets
    the window's last requests time out on their own."""
    poisson: bool = True
    max_in_flight: int = 2000
    connections: int = 1000
    timeout_s: float = 10.0
    drain_s: float = 10.0
    clients: int = 1000


def schedule(rate: float, seconds: float, rng: random.Random, poisson: bool = True) -> list[float]:
    """Intended send times, seconds from the step's start, in [0, seconds): a Poisson process
    at ``rate`` (exponential gaps drawn from ``rng``), or one every 1/rate s."""
    if rate <= 0 or seconds <= 0:
        return []
    if not poisson:
        return [i / rate for i in range(math.ceil(rate * seconds - 1e-9))]
    times, t = [], rng.expovariate(rate)
    while t < seconds:
        times.append(t)
        t += rng.expovariate(rate)
    return times


def draw_request(rng: random.Random) -> tuple[str, str]:
    """(mix entry, path) of one request of the stage-3 mix, in STAGE3_MIX's proportions."""
    kind = rng.choices(MIX_KINDS, cum_weights=MIX_CUM_WEIGHTS)[0]
    if kind == "detail":
        return kind, f"/api/products/{rng.choice(reference.STAGE3_DETAIL_IDS)}"
    if kind == "search":
        return kind, f"/api/products/search?q={rng.choice(reference.STAGE3_SEARCH_TERMS)}"
    return kind, "/api/products"


def answer_error(status: int, body: bytes) -> str | None:
    """The error kind of an answer (``http`` or ``envelope``), None if it passes."""
    if status != 200:
        return "http"
    return "envelope" if judge_body(lambda: json.loads(body))[1] else None


def _histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, 3)


def _record(h: HdrHistogram, seconds: float) -> None:
    h.record_value(min(max(LOWEST_US, round(seconds * 1e6)), HIGHEST_US))


def _ms(h: HdrHistogram, prefix: str, percentiles=PERCENTILES) -> dict:
    empty = h.get_total_count() == 0
    out = {f"{prefix}p{p}_ms": None if empty else h.get_value_at_percentile(p) / 1000
           for p in percentiles}
    out[f"{prefix}max_ms"] = None if empty else h.get_max_value() / 1000
    return out


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class _Window:
    """What the measured window's requests did."""

    def __init__(self):
        self.latency, self.service, self.lag = _histogram(), _histogram(), _histogram()
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.sent = self.completed = 0
        self.open = False          # while the window is open, answers passing count as ``done``
        self.done = 0              # (any request's: the throughput during the window)


async def run_step(session: aiohttp.ClientSession, target: str, rate: float, warmup_s: float,
                   measure_s: float, settings: Settings, rng: random.Random,
                   addresses: list[str]) -> dict:
    """One step at ``rate`` req/s: warm-up, measured window, drain; returns its record."""
    loop = asyncio.get_running_loop()
    times = schedule(rate, warmup_s + measure_s, rng, settings.poisson)
    first_measured = bisect.bisect_left(times, warmup_s)
    win = _Window()
    connections = asyncio.Semaphore(settings.connections)
    in_flight: dict[asyncio.Task, bool] = {}   # task -> in the measured window
    urls: dict[str, URL] = {}
    t0 = loop.time() + START_DELAY_S
    deadline = t0 + warmup_s + measure_s + settings.drain_s

    async def one(intended: float, url: URL, address: str, measured: bool):
        dispatched = loop.time()
        async with connections:
            sent = loop.time()
            try:
                async with session.get(url, headers={CLIENT_HEADER: address}) as resp:
                    body = await resp.read()
                done = loop.time()
                kind = answer_error(resp.status, body)
                if win.open and not kind:
                    win.done += 1
            except TimeoutError:
                kind, done = "timeout", None
            except (aiohttp.ClientError, OSError):
                kind, done = "connection", None
        if not measured:
            return
        _record(win.lag, dispatched - intended)
        if done is not None:
            win.completed += 1
            _record(win.latency, done - intended)
            _record(win.service, done - sent)
        if kind:
            win.errors[kind] += 1

    async def arrivals(offsets: list[float], measured: bool):
        for i, offset in enumerate(offsets):
            await asyncio.sleep(max(0.0, t0 + offset - loop.time()))
            if loop.time() > deadline:             # too far behind to send the rest at all
                if measured:
                    win.errors["dropped"] += len(offsets) - i
                return
            if len(in_flight) >= settings.max_in_flight:
                if measured:
                    win.errors["dropped"] += 1
                continue
            path = draw_request(rng)[1]
            url = urls.get(path) or urls.setdefault(path, URL(target + path))
            task = asyncio.create_task(one(t0 + offset, url, rng.choice(addresses), measured))
            in_flight[task] = measured
            task.add_done_callback(in_flight.pop)
            if measured:
                win.sent += 1

    await arrivals(times[:first_measured], False)
    await asyncio.sleep(max(0.0, t0 + warmup_s - loop.time()))
    cpu0, started, win.open = _cpu_s(), time.time(), True
    await arrivals(times[first_measured:], True)
    await asyncio.sleep(max(0.0, t0 + warmup_s + measure_s - loop.time()))
    cpu_s, ended, win.open = _cpu_s() - cpu0, time.time(), False
    if in_flight:
        _, left = await asyncio.wait(list(in_flight), timeout=max(0.0, deadline - loop.time()))
        win.errors["timeout"] += sum(in_flight.get(t, False) for t in left)
        for t in left:
            t.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    errors = win.errors
    failures = sum(errors.values())
    requests = win.sent + errors["dropped"]
    ok = win.completed - errors["http"] - errors["envelope"]
    return {
        "phase": "openloop", "rate": rate, "warmup_s": warmup_s, "measure_s": measure_s,
        "requests": requests, "sent": win.sent, "completed": win.completed, "ok": ok,
        "failures": failures, "errors": errors,
        "error_rate": failures / requests if requests else 0.0,
        "achieved_rps": win.done / (ended - started),
        **_ms(win.latency, ""), **_ms(win.service, "service_"),
        **_ms(win.lag, "lag_", percentiles=(99,)),
        "generator_cpu_s": cpu_s, "generator_cpu_share": cpu_s / (ended - started),
        "started": started, "ended": ended, "drained": time.time(),
        "target": target, **asdict(settings),
    }


async def run_sweep(target: str, rates: list[float], measure_s: float, warmup_s: float,
                    out_path: Path | str | None = None, settings: Settings = Settings(),
                    seed: int = 1, limits: Limits = Limits(), after_slo_steps: int | None = 1,
                    progress=None) -> list[dict]:
    """Steps at ``rates`` in turn. A step past ``limits`` gets ``slo_break`` (why, else None);
    ``after_slo_steps`` more steps run after the first such one, then the sweep stops
    (None: every rate). Each record is appended to ``out_path`` as a JSON line when done."""
    rng = random.Random(seed)
    target = target.rstrip("/")
    addresses = [client_address(rng) for _ in range(settings.clients)]
    # a context made now reads SSL_CERT_FILE (the lab CA: edge.lab.trust_ca); aiohttp's own
    # default one is made when aiohttp is imported
    connector = aiohttp.TCPConnector(limit=settings.connections, limit_per_host=0,
                                     ssl=ssl.create_default_context())
    timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
    records: list[dict] = []
    remaining = None
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        for rate in rates:
            rec = await run_step(session, target, rate, warmup_s, measure_s, settings, rng,
                                 addresses)
            rec.update(seed=seed, slo_break=step_breaks(rec, limits))
            records.append(rec)
            if out_path:
                with open(out_path, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            if progress:
                progress(rec)
            if remaining is not None:
                remaining -= 1
            elif rec["slo_break"] and after_slo_steps is not None:
                remaining = after_slo_steps
            if remaining == 0:
                break
    return records


def _loop_factory():
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def sweep(target: str, rates: list[float], measure_s: float, warmup_s: float,
          out_path: Path | str | None = None, **kwargs) -> list[dict]:
    """``run_sweep`` on its own event loop (uvloop's if it is installed)."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(run_sweep(target, rates, measure_s, warmup_s, out_path, **kwargs))


def _print_step(rec: dict) -> None:
    def ms(v):
        return "-" if v is None else f"{v:.0f}"
    flags = [f"past SLO: {rec['slo_break']}"] if rec["slo_break"] else []
    if rec["generator_cpu_share"] >= GENERATOR_CPU_LIMIT:
        flags.append(f"generator at {rec['generator_cpu_share']:.0%} of a core")
    print(f"openloop {rec['rate']:g} req/s: {rec['achieved_rps']:.0f} ok/s, "
          f"errors {rec['error_rate']:.1%} {rec['errors']}, p95 {ms(rec['p95_ms'])} ms "
          f"(service {ms(rec['service_p95_ms'])} ms), p99 {ms(rec['p99_ms'])} ms, "
          f"lag p99 {ms(rec['lag_p99_ms'])} ms" + "".join(f"; {f}" for f in flags),
          file=sys.stderr, flush=True)


def _rates(text: str) -> list[float]:
    rates = [float(r) for r in text.split(",") if r.strip()]
    if not rates or min(rates) <= 0:
        raise ValueError(text)
    return rates


def main(argv=None) -> int:
    d = Settings()
    p = argparse.ArgumentParser(prog="python -m loadtest.openloop",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--target", required=True, help="base URL, e.g. http://127.0.0.1:8081")
    p.add_argument("--rates", required=True, type=_rates,
                   help="intended req/s of each step, comma-separated: 50,100,200")
    p.add_argument("--measure", type=float, default=30.0, help="measured seconds per step")
    p.add_argument("--warmup", type=float, default=5.0, help="unrecorded seconds per step")
    p.add_argument("--out", type=Path, help="append one JSON line per step here")
    p.add_argument("--fixed", action="store_true", help="fixed intervals instead of Poisson")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-in-flight", type=int, default=d.max_in_flight)
    p.add_argument("--connections", type=int, default=d.connections)
    p.add_argument("--timeout", type=float, default=d.timeout_s, help="per request, seconds")
    p.add_argument("--drain", type=float, default=d.drain_s,
                   help="seconds a step waits for its requests after its window")
    p.add_argument("--clients", type=int, default=d.clients, help="client addresses")
    p.add_argument("--p95-limit", type=float, default=Limits.p95_ms)
    p.add_argument("--error-limit", type=float, default=Limits.error_rate)
    p.add_argument("--after-slo", type=int, default=1,
                   help="steps run after the first one past the SLO (-1: every rate)")
    a = p.parse_args(argv)
    settings = Settings(poisson=not a.fixed, max_in_flight=a.max_in_flight,
                        connections=a.connections, timeout_s=a.timeout, drain_s=a.drain,
                        clients=a.clients)
    sweep(a.target, a.rates, a.measure, a.warmup, a.out, settings=settings, seed=a.seed,
          limits=Limits(p95_ms=a.p95_limit, error_rate=a.error_limit),
          after_slo_steps=None if a.after_slo < 0 else a.after_slo, progress=_print_step)
    return 0


if __name__ == "__main__":
    sys.exit(main())
