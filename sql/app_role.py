"""The app's own database role: it reads and writes the shop's rows and can change nothing else.

The migrator (sql/migrate.py) connects as the schema's owner — the database's owner role on
hosts, the RDS master user on the managed stages — and, when the app connects as a different
role (DATABASE_URL's user), grants that role what the app needs after every run:

- CONNECT on the database and USAGE on the schema, never CREATE (PUBLIC has none in 15);
- SELECT, INSERT, UPDATE, DELETE on every table and USAGE, SELECT on every sequence, now and
  for what the owner creates later (default privileges);
- nothing on ``schema_migrations``: the app cannot forge or erase the record of its schema.

The role itself: if the owner may create roles (RDS' master user), the role is created, or its
password set, with DATABASE_URL's password (as a SCRAM verifier: the password itself never
reaches the server), so rotating the secret and re-running the migrator rotates it. An owner
without CREATEROLE (the hosts' PostgreSQL, where the postgresql role creates the app's role)
leaves the role as it is and fails with a clear message if it does not exist.
"""
from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

SCHEMA = "public"
MIGRATIONS_TABLE = "schema_migrations"
TABLE_PRIVILEGES = sql.SQL("SELECT, INSERT, UPDATE, DELETE")
SEQUENCE_PRIVILEGES = sql.SQL("USAGE, SELECT")


def credentials(url: str) -> tuple[str, str | None]:
    """(user, password) of a libpq URL or conninfo string."""
    params = conninfo_to_dict(url)
    if not params.get("user"):
        raise SystemExit("DATABASE_URL names no user: the app's role must be explicit")
    return params["user"], params.get("password")


def grant(conn: psycopg.Connection, user: str, password: str | None) -> list[str]:
    """Make ``user`` the app's role on the current database (see the module's contract), in
    the caller's transaction; return what was done to the role itself ([] when nothing)."""
    done = []
    role = sql.Identifier(user)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
    may_create = conn.execute(
        "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"
    ).fetchone()[0]
    if may_create and password is None:
        raise SystemExit(f"DATABASE_URL gives no password for the app's role {user!r}")
    if not exists and not may_create:
        raise SystemExit(f"the app's role {user!r} does not exist and {conn.info.user!r} may "
                         "not create roles: create it first (postgresql_users)")
    if may_create:
        # the verifier, never the password, goes to the server (and so to any statement log)
        verifier = conn.pgconn.encrypt_password(password.encode(), user.encode(),
                                                b"scram-sha-256").decode()
        conn.execute(sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(
            sql.SQL("ALTER" if exists else "CREATE"), role, sql.Literal(verifier)))
        done.append("password set" if exists else "created")
    database = conn.execute("SELECT current_database()").fetchone()[0]  # pgbouncer may alias it
    schema, database = sql.Identifier(SCHEMA), sql.Identifier(database)
    for statement in (
        "GRANT CONNECT ON DATABASE {database} TO {role}",
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "GRANT {tables} ON ALL TABLES IN SCHEMA {schema} TO {role}",
        "GRANT {sequences} ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {tables} ON TABLES TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {sequences} ON SEQUENCES TO {role}",
        "REVOKE ALL ON TABLE {schema}.{migrations} FROM {role}",
    ):
        conn.execute(sql.SQL(statement).format(
            database=database, role=role, schema=schema, tables=TABLE_PRIVILEGES,
            sequences=SEQUENCE_PRIVILEGES, migrations=sql.Identifier(MIGRATIONS_TABLE)))
    return done
