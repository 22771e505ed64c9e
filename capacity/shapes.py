"""Each stage's shape: the instance classes it runs on and how the app is cut into processes.

This table is the one place for these facts. Every layer reads it:

* Ansible: ``ansible/group_vars/all/shape.yml`` sets the shop_app role's workers, threads and
  pool size, and the database's ``max_connections``, from ``shoplab_stage`` (each inventory
  names its stage) through the ``shoplab_shape`` filter (ansible/filter_plugins/shape.py);
  the shop_app role's own defaults are stage 1's (a test holds them equal).
* Pulumi: ``shoplab_infra.knobs`` takes its per-stage defaults from ``pulumi_defaults``.
* Kubernetes: ``k8s.manifests.default_values`` takes stage 4's.
* The image: ``tools/build-app-image.sh`` bakes stage 3's gunicorn shape into the image's
  default ``GUNICORN_CMD_ARGS`` (the ECS task definition and the lab pass it too).
* The test stacks (tools/devstack.py, loadtest/stacks.py): stage 1's workers and threads.
* The capacity lab (``capacity.lab_sizes``): container limits from the classes.

    python -m capacity.shapes 3 workers      # one fact, for shell scripts
    python -m capacity.shapes 2              # a stage's shape as JSON

A worker is a gunicorn process: it owns one psycopg_pool of up to ``pool_max_size``
connections and runs ``threads`` requests at once. ``app_max_copies`` is the most copies the
stage may run (autoscaling ceilings): the connection budget is checked against it.
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class StageShape:
    stage: str
    app_class: str            # one app host / task / k3s node (capacity.instances)
    app_copies: int           # app hosts, tasks or pods deployed
    app_max_copies: int       # autoscaling ceiling (= app_copies where nothing scales)
    workers: int              # gunicorn processes per copy, one pool each
    threads: int              # concurrent requests per worker
    pool_max_size: int        # DB_POOL_MAX_SIZE: connections per worker
    db_max_connections: int   # PostgreSQL's max_connections (on RDS: the parameter group's)
    db_class: str | None      # None: PostgreSQL on the app host
    cache_class: str | None   # None: Redis on the app host


SHAPES: dict[str, StageShape] = {s.stage: s for s in (
    # one host for every tier: nginx, gunicorn, pgbouncer, PostgreSQL, Redis
    StageShape("1", "t3.small", 1, 1, workers=2, threads=4, pool_max_size=8,
               db_max_connections=50, db_class=None, cache_class=None),
    # ALB -> 2 hosts; 2 x 2 x 10 = 40 connections of db.t3.micro's ~87
    StageShape("2", "t3.small", 2, 2, workers=2, threads=4, pool_max_size=10,
               db_max_connections=80, db_class="db.t3.micro", cache_class="cache.t3.micro"),
    # Fargate 512/1024 tasks, 2 to 6: 6 x 2 x 5 = 60 connections
    StageShape("3", "fargate-512-1024", 2, 6, workers=2, threads=4, pool_max_size=5,
               db_max_connections=80, db_class="db.t3.micro", cache_class="cache.t3.micro"),
    # one k3s node, 2 to 4 pods: 4 x 2 x 8 = 64 connections
    StageShape("4", "t3.large", 2, 4, workers=2, threads=4, pool_max_size=8,
               db_max_connections=80, db_class="db.t3.micro", cache_class="cache.t3.micro"),
)}


def shape(stage) -> StageShape:
    key = str(stage).removeprefix("stage")
    if key not in SHAPES:
        raise ValueError(f"stage {stage!r}: expected one of {', '.join(SHAPES)}")
    return SHAPES[key]


def gunicorn_args(s: StageShape) -> str:
    return f"--workers {s.workers} --threads {s.threads}"


def pulumi_defaults(stage) -> dict:
    """The Pulumi knobs this table owns, for one stack (stage1..stage4)."""
    s = shape(stage)
    knobs = {"gunicornWorkers": s.workers, "gunicornThreads": s.threads,
             "dbPoolMaxSize": s.pool_max_size, "dbMaxConnections": s.db_max_connections}
    if s.db_class:
        knobs["dbInstanceClass"] = s.db_class
    if s.cache_class:
        knobs["cacheNodeType"] = s.cache_class
    if s.app_class.startswith("fargate-"):
        cpu, memory = s.app_class.split("-")[1:]
        knobs.update(taskCpu=int(cpu), taskMemory=int(memory), taskCount=s.app_copies,
                     taskMinCount=s.app_copies, taskMaxCount=s.app_max_copies)
    elif s.stage == "4":
        knobs["k3sInstanceType"] = s.app_class
    else:
        knobs["instanceType"] = s.app_class
        if s.stage == "2":
            knobs["appCount"] = s.app_copies
    return knobs


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python -m capacity.shapes STAGE [FIELD]", file=sys.stderr)
        return 2
    facts = asdict(shape(argv[0]))
    print(json.dumps(facts) if len(argv) == 1 else facts[argv[1]])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
