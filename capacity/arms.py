"""The two arms of the capacity lab: the same stage, hosts and budget, two configurations.

* ``shoplab``: the stage as Shoplab deploys it (capacity/shapes.py, the inventories).
* ``reference_shaped``: the reference system's shape on the same hosts. Its Go app ran one
  process per instance with ``MaxOpenConns`` 25 and no bound on concurrent requests, straight
  to PostgreSQL (no pgbouncer), with no response cache; its stage-1 PostgreSQL kept the
  default ``max_connections`` (100), its RDS db.t3.micro the RDS formula's (~87). Here: one
  gunicorn worker per host with more threads than connections, so the pool can run out, and
  the caches off.

The reference's tuning claims (seed-system.md section 8) are re-measured as pairs of arms of
its shape that differ in one setting (``EXPERIMENTS``, ``make experiments``): pgbouncer in
session vs transaction mode in front of PostgreSQL (claimed ~3x throughput), and load-balancer
health checks on ``/api/products`` every 5 s vs 30 s (claimed to free ~20 % of the pool).

``arm_vars(arm, stage)`` is what an arm changes, as Ansible extra variables (they win over
every inventory and group_vars value, so every arm deploys from the same inventory);
``health_checks(arm, stage)`` the load balancer's probes the capacity round sends beside the
load (None: none that reach the database):

    python -m capacity.arms reference_shaped 2     -> JSON extra vars for ansible-playbook -e
"""
from __future__ import annotations

import json
import sys

from capacity.pool_budget import rds_class_max_connections
from loadtest.reference import FINDINGS   # the reference's recorded facts, pure data

ARMS = ("shoplab", "reference_shaped")
# claim -> (arm without the tuning, arm with it)
EXPERIMENTS = {
    "pgbouncer": ("reference_pgbouncer_session", "reference_pgbouncer_transaction"),
    "health_checks": ("reference_probes_5s", "reference_probes_30s"),
}
ALL_ARMS = ARMS + tuple(arm for pair in EXPERIMENTS.values() for arm in pair)

# the reference's application shape (seed-system.md section 8)
REFERENCE_POOL_PER_INSTANCE = FINDINGS["pool_max_per_instance"]   # MaxOpenConns of the Go app
REFERENCE_THREADS = 64                     # concurrent requests per instance (goroutines: unbounded)
REFERENCE_LOCAL_MAX_CONNECTIONS = 100      # PostgreSQL's default, stage 1's own server
# Its Fargate target group's health check (stage 3): GET /api/products (two queries) every 30 s
# (the default). An ALB has a node in each of at least two zones, and every node probes every
# target: ALB_NODES probes per target per interval (two: the minimum, a stated assumption).
REFERENCE_HEALTH_PATH = "/api/products"
REFERENCE_HEALTH_INTERVAL_S = 30
ALB_NODES = 2


# what the experiments' arms change: the pooler's mode, the probes' interval (seconds)
POOLER_MODES = {"reference_pgbouncer_session": "session",
                "reference_pgbouncer_transaction": "transaction"}
PROBE_INTERVALS_S = {"reference_probes_5s": 5, "reference_probes_30s": 30}


def health_checks(arm: str, stage: str) -> dict | None:
    """{"path", "interval_s", "per_target"} of the arm's load-balancer probes, or None."""
    interval = PROBE_INTERVALS_S.get(arm)
    if interval is None and arm == "reference_shaped" and str(stage) == "3":
        interval = REFERENCE_HEALTH_INTERVAL_S
    if interval is None:
        return None
    return {"path": REFERENCE_HEALTH_PATH, "interval_s": interval, "per_target": ALB_NODES}

# Deploy checks an arm skips on purpose (ansible-playbook --skip-tags): session pooling with
# fewer server connections than client connections (2 x 25 clients, 20 + 5 server connections)
# is the set-up the reference's claim describes, and what site.yml's pool budget refuses.
DEPLOY_SKIP_TAGS = {"reference_pgbouncer_session": "pool_budget"}


def arm_vars(arm: str, stage: str) -> dict:
    if arm == "shoplab":
        return {"lab_arm": arm}
    if arm not in ALL_ARMS:
        raise ValueError(f"arm {arm!r}: expected one of {', '.join(ALL_ARMS)}")
    stage = str(stage)
    out = {
        "lab_arm": arm,
        "shop_app_gunicorn_workers": 1,
        "shop_app_gunicorn_threads": REFERENCE_THREADS,
        "shop_app_db_pool_max_size": REFERENCE_POOL_PER_INSTANCE,
        "shop_app_listing_cache_ttl": 0,
        "shop_app_product_count_ttl": 0,
        "postgresql_max_connections": (REFERENCE_LOCAL_MAX_CONNECTIONS if stage == "1"
                                       else rds_class_max_connections("db.t3.micro")),
    }
    if arm in POOLER_MODES:   # through the stage's pgbouncer (its inventory's pool sizes)
        return {**out, "shop_db_via_pgbouncer": True, "pgbouncer_pool_mode": POOLER_MODES[arm]}
    out["shop_db_via_pgbouncer"] = False
    if stage != "1":          # PostgreSQL on its own host: open it to the app hosts, over TLS
        out["postgresql_listen_addresses"] = "*"   # only (as RDS, which requires it)
        out["postgresql_hba_entries"] = [{   # the app and, for the migrations, the owner
            "type": "hostssl", "database": "{{ shop_db_name }}", "user": user,
            "address": "{{ lab_network_cidr }}", "method": "scram-sha-256"}
            for user in ("{{ shop_db_user }}", "{{ shop_db_owner }}")]
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m capacity.arms ARM STAGE", file=sys.stderr)
        return 2
    print(json.dumps(arm_vars(*argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
