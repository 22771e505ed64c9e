"""The two arms of the capacity lab: the same stage, hosts and budget, two configurations.

* ``shoplab``: the stage as Shoplab deploys it (capacity/shapes.py, the inventories).
* ``reference_shaped``: the reference system's shape on the same hosts. Its Go app ran one
  process per instance with ``MaxOpenConns`` 25 and no bound on concurrent requests, straight
  to PostgreSQL (no pgbouncer), with no response cache; its stage-1 PostgreSQL kept the
  default ``max_connections`` (100), its RDS db.t3.micro the RDS formula's (~87). Here: one
  gunicorn worker per host with more threads than connections, so the pool can run out, and
  the caches off.

``arm_vars(arm, stage)`` is what an arm changes, as Ansible extra variables (they win over
every inventory and group_vars value, so both arms deploy from the same inventory):

    python -m capacity.arms reference_shaped 2     -> JSON extra vars for ansible-playbook -e
"""
from __future__ import annotations

import json
import sys

from capacity.pool_budget import rds_class_max_connections
from loadtest.reference import FINDINGS   # the reference's recorded facts, pure data

ARMS = ("shoplab", "reference_shaped")

# the reference's application shape (seed-system.md section 8)
REFERENCE_POOL_PER_INSTANCE = FINDINGS["pool_max_per_instance"]   # MaxOpenConns of the Go app
REFERENCE_THREADS = 64                     # concurrent requests per instance (goroutines: unbounded)
REFERENCE_LOCAL_MAX_CONNECTIONS = 100      # PostgreSQL's default, stage 1's own server

def arm_vars(arm: str, stage: str) -> dict:
    if arm == "shoplab":
        return {"lab_arm": arm}
    if arm != "reference_shaped":
        raise ValueError(f"arm {arm!r}: expected one of {', '.join(ARMS)}")
    stage = str(stage)
    direct = {} if stage == "1" else {   # PostgreSQL on its own host: open it to the app hosts
        "postgresql_listen_addresses": "*",
        "postgresql_hba_entries": [{"type": "host", "database": "{{ shop_db_name }}",
                                    "user": "{{ shop_db_user }}", "address": "{{ lab_network_cidr }}",
                                    "method": "scram-sha-256"}]}
    return {**direct,
        "lab_arm": arm,
        "shop_app_gunicorn_workers": 1,
        "shop_app_gunicorn_threads": REFERENCE_THREADS,
        "shop_app_db_pool_max_size": REFERENCE_POOL_PER_INSTANCE,
        "shop_db_via_pgbouncer": False,
        "shop_app_listing_cache_ttl": 0,
        "shop_app_product_count_ttl": 0,
        "postgresql_max_connections": (REFERENCE_LOCAL_MAX_CONNECTIONS if stage == "1"
                                       else rds_class_max_connections("db.t3.micro")),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m capacity.arms ARM STAGE", file=sys.stderr)
        return 2
    print(json.dumps(arm_vars(*argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
