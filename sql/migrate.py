"""Apply the numbered migrations in sql/migrations/ that the database has not seen yet.

    python -m sql.migrate          # as MIGRATION_DATABASE_URL's role (the schema's owner), and
                                   # DATABASE_URL's role becomes the app's (sql/app_role.py);
                                   # without MIGRATION_DATABASE_URL, as DATABASE_URL's role
    python -m sql.migrate --list   # what is applied and what is pending

Each migration runs in its own transaction together with its row in ``schema_migrations``,
under a transaction-scoped advisory lock: two hosts running this at once apply each file
exactly once (the second waits, then sees it applied). Transaction-scoped locks also work
through pgbouncer in transaction mode, where session locks would not.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
from importlib import resources

import psycopg

from app.settings import Settings
from sql import NO_STATEMENT_TIMEOUT, OWNER_URL_ENV, app_role, owner_url

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


@contextlib.contextmanager
def _locked(conn: psycopg.Connection):
    """A transaction holding the migrator's lock, so hosts take their turns (also concurrent
    GRANTs, which fail with "tuple concurrently updated"), with the statement timeout lifted:
    waiting for another host's lock may take long."""
    with conn.transaction():
        conn.execute(NO_STATEMENT_TIMEOUT)
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        yield


def applied(conn: psycopg.Connection) -> dict[str, str]:
    with _locked(conn):
        conn.execute(BOOTSTRAP)
    return dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())


def migrate(database_url: str, *, app_url: str | None = None, log=print) -> list[str]:
    """Apply the pending migrations as ``database_url``'s role; return their versions.
    Refuses edited applied files. When ``app_url`` names another role, that role is then
    granted the app's privileges (sql/app_role.py)."""
    done = []
    with psycopg.connect(database_url, autocommit=True, prepare_threshold=None) as conn:
        seen = applied(conn)
        for version, text in migrations():
            if version in seen:
                if seen[version] != _checksum(text):
                    raise SystemExit(f"migration {version} was edited after it was applied; "
                                     "add a new migration instead")
                continue
            with _locked(conn):
                # another host may have applied it while we waited for the lock
                if conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s",
                                (version,)).fetchone():
                    continue
                conn.execute(text)
                conn.execute("INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                             (version, _checksum(text)))
            log(f"applied {version}")
            done.append(version)
        if app_url is not None:
            _grant_app_role(conn, app_url, log)
    return done


def _grant_app_role(conn: psycopg.Connection, app_url: str, log) -> None:
    user, password = app_role.credentials(app_url)
    if user == conn.info.user:
        return                              # one role owns the schema and serves the app
    with _locked(conn):
        done = app_role.grant(conn, user, password)
    log(f"app role {user}: {', '.join(done + ['privileges granted'])}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="apply the shop's SQL migrations")
    p.add_argument("--database-url",
                   help=f"the schema owner's URL; default: {OWNER_URL_ENV}, else DATABASE_URL")
    p.add_argument("--list", action="store_true", help="show applied and pending, change nothing")
    args = p.parse_args(argv)
    settings_url = Settings.from_env().database_url
    url = owner_url(args.database_url, settings_url)
    # the app's role is DATABASE_URL's, when the environment names one
    app_url = settings_url if "DATABASE_URL" in os.environ else None
    if args.list:
        with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
            seen = applied(conn)
        for version, _ in migrations():
            print(f"{'applied' if version in seen else 'pending'}  {version}")
        return 0
    done = migrate(url, app_url=app_url)
    print(f"{len(done)} migration(s) applied" if done else "schema up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
