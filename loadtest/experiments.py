"""`make experiments`: the reference's tuning claims (seed-system.md section 8) re-measured, each
in one run on a shop it starts itself (loadtest/stacks.py), each printing a ratio:

- pgbouncer:  session vs transaction pooling at the reference's pool sizes (claimed 3x);
- indexes:    users.email and products.category indexes dropped vs present on a large
              catalogue, by EXPLAIN ANALYZE and request latency (claimed 150 ms -> 12 ms);
- probes:     readiness probes every 5 s vs 30 s, as a share of the pool (claimed 20% freed);
- pool-sweep: DB_POOL_MAX_SIZE 2, 5, 10, 25, 50 per worker: throughput and p95;
- workers:    gunicorn sync 2 and 4, gthread 2x4, 2x8, 4x4: trivial route and listing req/s.

    python -m loadtest.experiments all            # or: pgbouncer,indexes --quick
Results: loadtest/results/experiments-<UTC time>/<name>.json and experiments.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import urllib.request
from pathlib import Path

from loadtest import reference, stacks, wrk
from loadtest.samplers import POOL_METRICS, parse_metrics

RESULTS = Path(__file__).resolve().parent / "results"
# the uncached catalogue: every request reaches the database (the count too)
UNCACHED = stacks.cache_off_env()
MIX_PATHS = ["/api/products", "/api/products/7", "/api/products/search?q=home",
             "/api/products?category=Electronics"]


def pool_stats(stack) -> dict:
    with urllib.request.urlopen(stack.shop_url + "/metrics", timeout=5) as r:
        return parse_metrics(r.read().decode(), {**POOL_METRICS, "usage_ms": ("shop_db_usage_ms",)})


def load(stack, seconds, conns=200, paths=None, label="") -> dict:
    r = wrk.run(stack.shop_url + (paths[0] if paths else "/api/products"), conns, seconds,
                paths=paths)
    print(f"    {label}: {r['rps']:.0f} req/s p50 {r['p50_ms']:.1f} p95 {r['p95_ms']:.1f} ms "
          f"errors {r['error_rate']:.2%}", flush=True)
    return r


def server_connections(stack) -> int:
    """The app role's connections to PostgreSQL (pgbouncer's server side, or the pools')."""
    return stack.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = %s",
                      (stacks.devstack.DB_USER,))[0][0]


def best_over_worst(rps: dict) -> tuple[float, str]:
    """(best / worst req/s, a sentence naming both) over a sweep's settings."""
    best, worst = max(rps, key=rps.get), min(rps, key=rps.get)
    ratio = rps[best] / rps[worst] if rps[worst] else float("inf")
    return ratio, (f"best {best} ({rps[best]:.0f} req/s), worst {worst} ({rps[worst]:.0f} "
                   f"req/s): {ratio:.2f}x")


# --- pgbouncer session vs transaction ---------------------------------------------------------
def pgbouncer_modes(a) -> dict:
    """The reference: 2 app copies x 25 connections against a database that allowed ~87 (and a
    pooler whose mode was switched). Here: 2 workers x DB_POOL_MAX_SIZE 25 with 25 threads each
    (like Go, a request never waits for a thread), pgbouncer allowed SERVER server connections."""
    size, server = 25, a.pgbouncer_server_pool
    out = {"pool_max_size": size, "workers": 2, "pgbouncer_default_pool_size": server, "modes": {}}
    with stacks.shop("pgbouncer", 50, workers=2, threads=size, DB_POOL_MAX_SIZE=size,
                     DB_POOL_MIN_SIZE=size, **UNCACHED) as stack:
        for mode in ("session", "transaction"):
            stack.set_pgbouncer(pool_mode=mode, default_pool_size=server, reserve_pool_size=0)
            runs = []
            for i in range(a.rounds):
                runs.append(load(stack, a.seconds, paths=MIX_PATHS, label=f"{mode} round {i + 1}"))
            out["modes"][mode] = {"rps": statistics.median(r["rps"] for r in runs),
                                  "p95_ms": statistics.median(r["p95_ms"] for r in runs),
                                  "error_rate": max(r["error_rate"] for r in runs),
                                  "server_connections_after": server_connections(stack),
                                  "pool_after": pool_stats(stack)}
    s, t = out["modes"]["session"], out["modes"]["transaction"]
    out["ratio"] = t["rps"] / s["rps"] if s["rps"] else float("inf")
    out["reference_ratio"] = reference.FINDINGS["pgbouncer_transaction_vs_session"]
    out["line"] = (f"pgbouncer transaction / session: {out['ratio']:.2f}x req/s "
                   f"({t['rps']:.0f} vs {s['rps']:.0f}; p95 {t['p95_ms']:.0f} vs {s['p95_ms']:.0f} ms;"
                   f" errors {t['error_rate']:.1%} vs {s['error_rate']:.1%}) - reference claimed 3x")
    return out


# --- indexes ----------------------------------------------------------------------------------
EXPLAINS = {
    "login lookup (users.email)": ("SELECT id, password_hash FROM users WHERE email = %s",
                                   ("loadtest-777@shoplab.test",)),
    "category page (products.category)": (
        "SELECT id, name, description, price, category, stock, image_url FROM products"
        " WHERE category = %s ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0",
        ("Electronics",)),
    "category count (products.category)": ("SELECT count(*) FROM products WHERE category = %s",
                                           ("Electronics",)),
}
# what the experiment drops and puts back: users.email's index is its UNIQUE constraint's
DROP = ["ALTER TABLE users DROP CONSTRAINT users_email_key",
        "DROP INDEX products_category_created_idx"]
CREATE = ["ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)",
          "CREATE INDEX products_category_created_idx ON products "
          "(category, created_at DESC, id DESC)"]


def explain_ms(stack, sql, params, repeat=5) -> float:
    times = []
    for _ in range(repeat):
        plan = stack.psql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)[0][0]
        times.append(plan[0]["Execution Time"])
    return statistics.median(times)


def indexes(a) -> dict:
    out = {"products": a.large, "users": a.users, "with": {}, "without": {}}
    with stacks.shop("indexes", 50, **UNCACHED) as stack:
        out["seed_seconds"] = stacks.seed(stack, a.large, a.users)
        stack.psql("ANALYZE")
        for state, ddl in (("with", []), ("without", DROP), ("restored", CREATE)):
            for stmt in ddl:
                stack.psql(stmt)
            stack.psql("ANALYZE")
            if state == "restored":
                break
            res = out[state]
            for name, (sql, params) in EXPLAINS.items():
                res[name] = explain_ms(stack, sql, params)
            stack.restart_app()  # no count cached from before
            r = load(stack, a.seconds, conns=50, paths=["/api/products?category=Electronics"],
                     label=f"category listing, indexes {state}")
            res["request_p50_ms"], res["request_p95_ms"], res["request_rps"] = (
                r["p50_ms"], r["p95_ms"], r["rps"])
            print(f"    EXPLAIN ANALYZE ({state}): " + ", ".join(
                f"{k} {v:.2f} ms" for k, v in res.items() if "(" in k), flush=True)
    w, wo = out["with"], out["without"]
    out["ratios"] = {k: wo[k] / w[k] for k in EXPLAINS if w[k]}
    out["request_p50_ratio"] = wo["request_p50_ms"] / w["request_p50_ms"]
    login = "login lookup (users.email)"
    out["line"] = (f"indexes dropped / present: login lookup {wo[login]:.2f} -> {w[login]:.3f} ms "
                   f"({out['ratios'][login]:.0f}x), category page "
                   f"{out['ratios']['category page (products.category)']:.1f}x, category listing "
                   f"request p50 {wo['request_p50_ms']:.0f} -> {w['request_p50_ms']:.0f} ms "
                   f"({out['request_p50_ratio']:.1f}x) - reference claimed 150 -> 12 ms (12.5x)")
    return out


# --- readiness probes -------------------------------------------------------------------------
def _probe(url, interval, probers, seconds, stop):
    def one():
        deadline = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=5).read()
            except OSError:
                pass
            stop.wait(interval)
    threads = [threading.Thread(target=one, daemon=True) for _ in range(probers)]
    for t in threads:
        t.start()
    return threads


def route_seconds(stack, route: str) -> tuple[float, float]:
    """(requests, seconds) the app spent on one route, from its latency histogram (summed
    exactly over workers in multiprocess mode, unlike the pool gauges, which a worker only
    publishes once a second)."""
    from prometheus_client.parser import text_string_to_metric_families
    with urllib.request.urlopen(stack.shop_url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    count = total = 0.0
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.labels.get("route") == route:
                if s.name == "shop_http_request_duration_seconds_count":
                    count += s.value
                elif s.name == "shop_http_request_duration_seconds_sum":
                    total += s.value
    return count, total


def probes(a) -> dict:
    """Pool time taken by health probes alone. A probe holds at most one connection for at
    most its own duration, so its pool share is bounded by the probes' summed request time
    over the pools' capacity (workers x max_size x wall time). Probed paths: the reference's
    Fargate health check (/api/products: two queries) and Shoplab's /readyz (one SELECT 1,
    reused READINESS_INTERVAL seconds); probers = ALB nodes probing each target."""
    out = {"probers": a.probers, "seconds": a.probe_seconds, "cases": {}}
    workers, size = 2, 10
    with stacks.shop("probes", 50, workers=workers, threads=4, DB_POOL_MAX_SIZE=size,
                     **UNCACHED) as stack:
        for path in ("/api/products", "/readyz"):
            for interval in (5, 30):
                n0, s0 = route_seconds(stack, path)
                stop = threading.Event()
                for t in _probe(stack.shop_url + path, interval, a.probers, a.probe_seconds,
                                stop):
                    t.join(a.probe_seconds + 10)
                n1, s1 = route_seconds(stack, path)
                share = (s1 - s0) / (workers * size * a.probe_seconds)
                key = f"{path} every {interval}s"
                out["cases"][key] = {"probes": n1 - n0, "busy_ms": (s1 - s0) * 1000,
                                     "pool_share": share}
                print(f"    {key}: {n1 - n0:.0f} probes, {1000 * (s1 - s0):.1f} ms in "
                      f"{a.probe_seconds:.0f}s = at most {share:.4%} of the pool", flush=True)
    c = out["cases"]
    ref5, ref30 = c["/api/products every 5s"]["pool_share"], c["/api/products every 30s"]["pool_share"]
    out["freed_share"] = ref5 - ref30
    out["ratio"] = ref5 / ref30 if ref30 else float("inf")
    out["line"] = (f"probes every 5 s vs 30 s: {out['ratio']:.1f}x the pool time, freeing "
                   f"{out['freed_share']:.4%} of the pool ({a.probers} probers on /api/products; "
                   f"/readyz every 5 s takes {c['/readyz every 5s']['pool_share']:.4%}) - "
                   "reference claimed 20% of the pool freed")
    return out


# --- pool-size sweep --------------------------------------------------------------------------
def pool_sweep(a) -> dict:
    """Throughput and p95 of the stage-3 paths (uncached, 200 connections) for each per-worker
    DB_POOL_MAX_SIZE, with 2 workers x 16 threads: below 16 a request may wait for a connection,
    above it the extra connections are never used."""
    out = {"workers": 2, "threads": 16, "sizes": {}}
    with stacks.shop("pool-sweep", 50, workers=2, threads=16, DB_POOL_MIN_SIZE=1,
                     DB_POOL_TIMEOUT=5, **UNCACHED) as stack:
        for size in a.sizes:
            stack.restart_app(DB_POOL_MAX_SIZE=size, DB_POOL_MIN_SIZE=min(2, size))
            r = load(stack, a.seconds, paths=MIX_PATHS, label=f"DB_POOL_MAX_SIZE={size}")
            pool = pool_stats(stack)
            out["sizes"][size] = {"rps": r["rps"], "p50_ms": r["p50_ms"], "p95_ms": r["p95_ms"],
                                  "error_rate": r["error_rate"],
                                  "wait_ms_per_request": (pool.get("wait_ms", 0)
                                                          / pool["requests"]) if pool.get("requests") else None}
    out["ratio"], best_worst = best_over_worst({s: v["rps"] for s, v in out["sizes"].items()})
    out["line"] = (f"pool sweep DB_POOL_MAX_SIZE: {best_worst}; " + ", ".join(
        f"{s}: {v['rps']:.0f} req/s p95 {v['p95_ms']:.0f} ms" for s, v in out["sizes"].items()))
    return out


# --- gunicorn worker class and count ---------------------------------------------------------
WORKER_SHAPES = [("sync", 2, 1), ("sync", 4, 1), ("gthread", 2, 4), ("gthread", 2, 8),
                 ("gthread", 4, 4)]


def workers(a) -> dict:
    """Trivial route and uncached listing per gunicorn shape (performance-ceiling.md found the
    worker class mattered little on 2 cores; this re-measures it for Shoplab's app)."""
    out = {"shapes": {}}
    with stacks.shop("workers", 50, DB_POOL_MAX_SIZE=8, **UNCACHED) as stack:
        for shape in WORKER_SHAPES:
            stack.restart_app(shape=shape)
            name = f"{shape[0]} {shape[1]}x{shape[2]}"
            t = load(stack, a.seconds, paths=["/healthz"], label=f"{name} trivial")
            li = load(stack, a.seconds, paths=["/api/products"], label=f"{name} listing")
            out["shapes"][name] = {"trivial_rps": t["rps"], "listing_rps": li["rps"],
                                   "listing_p95_ms": li["p95_ms"],
                                   "ratio": li["rps"] / t["rps"] if t["rps"] else None}
    out["ratio"], best_worst = best_over_worst(
        {k: v["listing_rps"] for k, v in out["shapes"].items()})
    out["line"] = (f"gunicorn shapes (listing): {best_worst}; " + ", ".join(
        f"{k}: {v['listing_rps']:.0f} listing / {v['trivial_rps']:.0f} trivial req/s"
        for k, v in out["shapes"].items()))
    return out


EXPERIMENTS = {"pgbouncer": pgbouncer_modes, "indexes": indexes, "probes": probes,
               "pool-sweep": pool_sweep, "workers": workers}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("which", nargs="?", default="all", help=f"all or {','.join(EXPERIMENTS)}")
    p.add_argument("--seconds", type=float, default=15, help="wrk run length")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--pgbouncer-server-pool", type=int, default=20,
                   help="server connections pgbouncer may open (below 2 x 25 clients)")
    p.add_argument("--large", type=int, default=100_000)
    p.add_argument("--users", type=int, default=50_000)
    p.add_argument("--probers", type=int, default=3)
    p.add_argument("--probe-seconds", type=float, default=120)
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                   default=[2, 5, 10, 25, 50])
    p.add_argument("--quick", action="store_true", help="short runs (pipeline check)")
    a = p.parse_args(argv)
    if a.quick:
        a.seconds, a.rounds, a.probe_seconds, a.users = 5, 1, 60, 5000
    names = list(EXPERIMENTS) if a.which == "all" else a.which.split(",")
    unknown = set(names) - set(EXPERIMENTS)
    if unknown:
        p.error(f"unknown experiment(s) {', '.join(sorted(unknown))}")
    out = RESULTS / (f"experiments-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
                     + ("-quick" if a.quick else ""))
    out.mkdir(parents=True)
    lines = []
    for name in names:
        t0 = time.monotonic()
        print(f"== {name}", flush=True)
        res = EXPERIMENTS[name](a)
        res.update(seconds_taken=time.monotonic() - t0, args=vars(a))
        (out / f"{name}.json").write_text(json.dumps(res, indent=2, default=str))
        lines.append(f"- **{name}** ({res['seconds_taken']:.0f} s): {res['line']}")
        print(f"RESULT {res['line']}", flush=True)
    (out / "experiments.md").write_text(
        f"# Experiments ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n"
        + "\n".join(lines) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
