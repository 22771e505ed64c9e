"""Apply the numbered migrations in sql/migrations/ that the database has not seen yet.

    python -m sql.migrate            # DATABASE_URL from the app's settings
    python -m sql.migrate --list     # what is applied and what is pending

Each migration runs in its own transaction together with its row in ``schema_migrations``,
under a transaction-scoped advisory lock: two hosts running this at once apply each file
exactly once (the second waits, then sees it applied). Transaction-scoped locks also work
through pgbouncer in transaction mode, where session locks would not.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from importlib import resources

import psycopg

from app.settings import Settings
from sql import NO_STATEMENT_TIMEOUT

# pg_advisory_xact_lock key: any constant the app does not use for something else
LOCK_KEY = 0x5_0_0_1AB

BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    VARCHAR(255) PRIMARY KEY,
    checksum   CHAR(64) NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


def migrations() -> list[tuple[str, str]]:
    """(version, sql) of every migration file, in order of their number."""
    files = sorted((f for f in resources.files("sql.migrations").iterdir()
                    if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def applied(conn: psycopg.Connection) -> dict[str, str]:
    with conn.transaction():
        conn.execute(NO_STATEMENT_TIMEOUT)  # waiting for another host's lock may take long
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(BOOTSTRAP)
    return dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())


def migrate(database_url: str, *, log=print) -> list[str]:
    """Apply the pending migrations; return their versions. Refuses edited applied files."""
    done = []
    with psycopg.connect(database_url, autocommit=True, prepare_threshold=None) as conn:
        seen = applied(conn)
        for version, text in migrations():
            if version in seen:
                if seen[version] != _checksum(text):
                    raise SystemExit(f"migration {version} was edited after it was applied; "
                                     "add a new migration instead")
                continue
            with conn.transaction():
                conn.execute(NO_STATEMENT_TIMEOUT)
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                # another host may have applied it while we waited for the lock
                if conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s",
                                (version,)).fetchone():
                    continue
                conn.execute(text)
                conn.execute("INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                             (version, _checksum(text)))
            log(f"applied {version}")
            done.append(version)
    return done


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="apply the shop's SQL migrations")
    p.add_argument("--database-url", help="default: DATABASE_URL (app settings)")
    p.add_argument("--list", action="store_true", help="show applied and pending, change nothing")
    args = p.parse_args(argv)
    url = args.database_url or Settings.from_env().database_url
    if args.list:
        with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
            seen = applied(conn)
        for version, _ in migrations():
            print(f"{'applied' if version in seen else 'pending'}  {version}")
        return 0
    done = migrate(url)
    print(f"{len(done)} migration(s) applied" if done else "schema up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
