"""Pool advisor: the largest safe DB_POOL_MAX_SIZE per gunicorn worker, and pgbouncer settings,
for a database's max_connections (or an RDS instance class) and the app's shape.

    python -m loadtest.pool_advisor --rds-class db.t3.micro --hosts 2 --workers 2 --threads 4
    python -m loadtest.pool_advisor --max-connections 100 --hosts 1 --workers 2 --reserve 10

The arithmetic is ``pool_budget()`` of capacity/pool_budget.py, the same function site.yml and
the Pulumi stacks check with: the advisor only searches for the largest size it accepts.
"""
from __future__ import annotations

import argparse
import sys

from capacity import pool_budget as pool_budget_module
from capacity.pool_budget import pool_budget

def rds_class_max_connections(instance_class: str) -> int:
    try:
        return pool_budget_module.rds_class_max_connections(instance_class)
    except ValueError as exc:
        raise SystemExit(f"{exc} (or pass --max-connections)") from None


def largest_pool(hosts: int, workers: int, max_connections: int, reserve: int,
                 superuser_reserved: int = 3, pgbouncer: dict | None = None,
                 ceiling: int = 1000) -> int:
    """Largest per-worker max_size that pool_budget() accepts (0: not even one fits)."""
    best = 0
    for size in range(1, ceiling + 1):
        if not pool_budget(hosts, workers, size, max_connections, superuser_reserved, reserve,
                           pgbouncer)["ok"]:
            break
        best = size
    return best


def advise(max_connections: int, hosts: int, workers: int, threads: int, reserve: int,
           superuser_reserved: int = 3, reserve_pool: int = 5) -> dict:
    """Settings for both ways of connecting, each checked by pool_budget()."""
    direct = largest_pool(hosts, workers, max_connections, reserve, superuser_reserved)
    available = pool_budget(hosts, workers, 0, max_connections, superuser_reserved,
                            reserve)["postgres_available"]
    # Through pgbouncer in transaction mode a worker never needs more connections than it has
    # threads (one request holds at most one); pgbouncer multiplexes them onto the server
    # connections that fit Postgres, keeping reserve_pool_size for bursts.
    per_worker = threads
    clients = hosts * workers * per_worker
    bouncer = {"pool_mode": "transaction",
               # more server connections than clients would never be used
               "default_pool_size": max(1, min(available - reserve_pool, clients)),
               "reserve_pool_size": reserve_pool if available > reserve_pool else 0,
               "max_db_connections": available,
               "max_client_conn": clients}
    check = pool_budget(hosts, workers, per_worker, max_connections, superuser_reserved,
                        reserve, bouncer)
    return {"max_connections": max_connections, "postgres_available": available,
            "direct_pool_max_size": min(direct, threads) if direct else 0,
            "direct_pool_max_size_budget": direct,
            "pgbouncer": bouncer, "pgbouncer_pool_max_size": per_worker,
            "pgbouncer_check": check}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--max-connections", type=int)
    src.add_argument("--rds-class", help="e.g. db.t3.micro (RDS default max_connections formula)")
    p.add_argument("--hosts", type=int, required=True, help="app hosts (or tasks, or pods)")
    p.add_argument("--workers", type=int, required=True, help="gunicorn workers per host")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    p.add_argument("--reserve", type=int, default=5,
                   help="connections kept free for migrations, admin and monitoring")
    p.add_argument("--superuser-reserved", type=int, default=3)
    p.add_argument("--reserve-pool", type=int, default=5, help="pgbouncer reserve_pool_size")
    a = p.parse_args(argv)
    maxc = a.max_connections if a.max_connections is not None else rds_class_max_connections(a.rds_class)
    r = advise(maxc, a.hosts, a.workers, a.threads, a.reserve, a.superuser_reserved, a.reserve_pool)
    src_text = f"RDS {a.rds_class} (formula, calibrated)" if a.rds_class else "given"
    b = r["pgbouncer"]
    print(f"max_connections {maxc} ({src_text}); {r['postgres_available']} usable after "
          f"{a.superuser_reserved} superuser + {a.reserve} reserved")
    print(f"shape: {a.hosts} hosts x {a.workers} workers x {a.threads} threads")
    print("\nstraight to Postgres:")
    if r["direct_pool_max_size_budget"] == 0:
        print("  no pool fits: fewer workers or hosts, or pgbouncer")
    else:
        print(f"  DB_POOL_MAX_SIZE={r['direct_pool_max_size']}  (budget allows "
              f"{r['direct_pool_max_size_budget']}; more than the {a.threads} threads is never used)")
    print("\nthrough pgbouncer (transaction mode):")
    print(f"  DB_POOL_MAX_SIZE={r['pgbouncer_pool_max_size']}")
    for k in ("pool_mode", "max_client_conn", "default_pool_size", "reserve_pool_size",
              "max_db_connections"):
        print(f"  {k} = {b[k]}")
    print(f"  check: {r['pgbouncer_check']['message']}")
    return 0 if r["pgbouncer_check"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
