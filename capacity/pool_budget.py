"""The connection budget: can every app pool open all its connections at once?

The reference system's main failure was 2 app copies x 25 connections against a database
allowing ~87: pools sized without looking at the server. ``pool_budget`` does that arithmetic
once, for every layer that sizes pools: ``site.yml`` (through the filter plugin
ansible/filter_plugins/pool_budget.py, refusing an over-committed inventory), the Pulumi
stacks (refusing an over-committed plan) and the load test's pool advisor. Plain Python, no
dependencies.

Demand is ``app_hosts x workers x pool_max_size``: every gunicorn worker owns one
psycopg_pool that may grow to DB_POOL_MAX_SIZE connections.

* Straight to Postgres: demand must fit ``max_connections - superuser_reserved - reserved``.
* Through pgbouncer: demand must fit ``max_client_conn`` (each pool slot is a client), and
  the server connections pgbouncer may open, ``min(default_pool_size + reserve_pool_size,
  max_db_connections)`` for the shop's one (database, user) pair, must fit Postgres. In
  session mode every client holds a server connection, so demand must fit that too.
"""
from __future__ import annotations

from capacity.instances import GIB, RDS_MEMORY_GIB

# RDS for PostgreSQL's default parameter: max_connections = LEAST({DBInstanceClassMemory/9531392}, 5000)
RDS_BYTES_PER_CONNECTION = 9531392
RDS_MAX_CONNECTIONS_CAP = 5000


def rds_max_connections(instance_class_memory_bytes: int) -> int:
    """RDS PostgreSQL's default max_connections for a DBInstanceClassMemory in bytes.

    DBInstanceClassMemory is the class's memory minus what RDS keeps for the OS and its
    agents, so it is below the nominal size (db.t3.micro: 1 GiB nominal, ~87 connections seen).
    """
    return min(int(instance_class_memory_bytes) // RDS_BYTES_PER_CONNECTION, RDS_MAX_CONNECTIONS_CAP)


# DBInstanceClassMemory is the nominal memory minus what RDS keeps for the OS and its agents,
# which AWS does not publish. This reserve is calibrated on the one figure the reference saw
# (db.t3.micro: ~87 connections): 1 GiB - 87 x 9531392 B.
RDS_OS_RESERVE_BYTES = GIB - 87 * RDS_BYTES_PER_CONNECTION


def rds_class_max_connections(instance_class: str) -> int:
    """RDS PostgreSQL's default max_connections for a class, from its nominal memory."""
    try:
        gib = RDS_MEMORY_GIB[instance_class]
    except KeyError:
        raise ValueError(f"unknown RDS class {instance_class!r}; known: "
                         f"{', '.join(sorted(RDS_MEMORY_GIB))}") from None
    return rds_max_connections(gib * GIB - RDS_OS_RESERVE_BYTES)


def pool_budget(app_hosts: int, workers: int, pool_max_size: int, max_connections: int,
                superuser_reserved: int = 3, reserved: int = 0, pgbouncer: dict | None = None) -> dict:
    """Check the pools against the database; returns the numbers, ``ok`` and a message.

    ``pgbouncer`` is None when the pools connect straight to Postgres, else a dict with
    ``pool_mode``, ``max_client_conn``, ``default_pool_size``, ``reserve_pool_size`` and
    ``max_db_connections`` (0 = no cap), as in the pgbouncer role's variables.
    """
    ints = dict(app_hosts=app_hosts, workers=workers, pool_max_size=pool_max_size,
                max_connections=max_connections, superuser_reserved=superuser_reserved,
                reserved=reserved)
    for name, value in ints.items():
        if int(value) < 0:
            raise ValueError(f"{name} must not be negative: {value}")
    app_hosts, workers, pool_max_size, max_connections, superuser_reserved, reserved = (
        int(v) for v in ints.values())
    demand = app_hosts * workers * pool_max_size
    postgres_available = max_connections - superuser_reserved - reserved
    shape = f"{app_hosts} app hosts x {workers} workers x DB_POOL_MAX_SIZE {pool_max_size} = {demand}"
    pg_text = (f"Postgres max_connections {max_connections} - superuser_reserved "
               f"{superuser_reserved} - reserved {reserved} = {postgres_available}")
    problems = []
    result = {"demand": demand, "postgres_available": postgres_available,
              "server_connections": demand, "client_limit": postgres_available}
    if pgbouncer is None:
        if demand > postgres_available:
            problems.append(f"{shape} connections exceed {pg_text}")
    else:
        mode = pgbouncer.get("pool_mode", "transaction")
        max_client = int(pgbouncer["max_client_conn"])
        per_pair = int(pgbouncer["default_pool_size"]) + int(pgbouncer.get("reserve_pool_size", 0))
        cap = int(pgbouncer.get("max_db_connections", 0) or 0)
        servers = min(per_pair, cap) if cap else per_pair
        result.update(server_connections=servers, client_limit=max_client)
        if demand > max_client:
            problems.append(f"{shape} client connections exceed pgbouncer max_client_conn {max_client}")
        if servers > postgres_available:
            problems.append(
                f"pgbouncer may open {servers} server connections (default_pool_size + "
                f"reserve_pool_size = {per_pair}, max_db_connections {cap or 'unset'}) "
                f"but {pg_text}")
        if mode == "session" and demand > servers:
            problems.append(f"{shape} clients in session mode each need a server connection, "
                            f"but pgbouncer opens at most {servers}")
    ok = not problems
    if not ok:
        message = "pool budget exceeded: " + "; ".join(problems)
    elif pgbouncer is None:
        message = f"pool budget OK: {shape} connections; {pg_text}"
    else:
        message = (f"pool budget OK: {shape} clients of pgbouncer -> "
                   f"{result['server_connections']} server connections; {pg_text}")
    result.update(ok=ok, problems=problems, message=message)
    return result
