"""Migrations (recorded, once each, safe from two hosts at once), the app's own role the
migrator grants, and the seed generator."""
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg import sql as pgsql

from sql import OWNER_URL_ENV, migrate, seed
from sql.catalogue import reference_products

from conftest import ROOT


@pytest.fixture
def fresh_db(stack):
    """An empty database owned by the schema's owner; the owner's URL (one role for all).
    Its statement timeout is tiny, as a role default could be: migrations and seeding must lift
    it for themselves."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(stack.superuser_url, autocommit=True) as conn:
        conn.execute(pgsql.SQL("CREATE DATABASE {} OWNER shop").format(pgsql.Identifier(name)))
        conn.execute(pgsql.SQL("ALTER ROLE shop IN DATABASE {} SET statement_timeout = '40ms'"
                               ).format(pgsql.Identifier(name)))
    url = stack.owner_url().rsplit("/", 1)[0] + f"/{name}"
    yield url
    with psycopg.connect(stack.superuser_url, autocommit=True) as conn:
        conn.execute(pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(name)))


def _url(user: str, password: str, base_url: str, database: str) -> str:
    """``base_url``'s host and port, as ``user`` on ``database``."""
    host = base_url.rsplit("@", 1)[1].rsplit("/", 1)[0]
    return f"postgresql://{user}:{password}@{host}/{database}"


@pytest.fixture
def owned_db(stack):
    """An empty database owned by a schema owner that is not the app's role, which (as the
    postgresql role leaves it) PUBLIC may not connect to: (owner's URL, the app role's URL)."""
    from devstack import DB_OWNER, DB_USER
    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(stack.superuser_url, autocommit=True) as conn:
        conn.execute(pgsql.SQL("CREATE DATABASE {} OWNER {}").format(
            pgsql.Identifier(name), pgsql.Identifier(DB_OWNER)))
        conn.execute(pgsql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(
            pgsql.Identifier(name)))
    base = stack.database_url("postgres")
    yield (_url(DB_OWNER, stack.secrets["owner_password"], base, name),
           _url(DB_USER, stack.secrets["db_password"], base, name))
    with psycopg.connect(stack.superuser_url, autocommit=True) as conn:
        conn.execute(pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(name)))


def _refused(conn: psycopg.Connection, statement: str) -> bool:
    try:
        with conn.transaction():
            conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def test_the_app_role_reads_and_writes_rows_and_changes_nothing_else(owned_db):
    owner_url, app_url = owned_db
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(app_url).close()           # nothing before the migrator granted it
    migrate.migrate(owner_url, app_url=app_url, log=lambda *_: None)
    with psycopg.connect(app_url, autocommit=True) as app:
        pid = app.execute("INSERT INTO products (name, price, category, stock)"
                          " VALUES ('x', 1, 'c', 5) RETURNING id").fetchone()[0]
        app.execute("UPDATE products SET stock = 4 WHERE id = %s", (pid,))
        assert app.execute("SELECT stock FROM products WHERE id = %s FOR UPDATE",
                           (pid,)).fetchone() == (4,)
        app.execute("DELETE FROM products WHERE id = %s", (pid,))
        for statement in ("CREATE TABLE mine (x int)", "DROP TABLE products",
                          "ALTER TABLE products ADD COLUMN x int", "TRUNCATE products",
                          "CREATE INDEX ON products (stock)",
                          "SELECT * FROM schema_migrations",
                          "DELETE FROM schema_migrations"):
            assert _refused(app, statement), statement
    # what a later migration creates is the app's to use as well (default privileges)
    with psycopg.connect(owner_url, autocommit=True) as owner:
        owner.execute("CREATE TABLE later (id bigserial PRIMARY KEY, x int)")
    with psycopg.connect(app_url, autocommit=True) as app:
        app.execute("INSERT INTO later (x) VALUES (1)")
        assert app.execute("SELECT x FROM later").fetchall() == [(1,)]
    assert migrate.migrate(owner_url, app_url=app_url, log=lambda *_: None) == []  # idempotent


def test_an_owner_that_may_not_create_roles_needs_the_app_role_to_exist(owned_db):
    owner_url, app_url = owned_db
    with pytest.raises(SystemExit, match="does not exist and 'shop' may not create"):
        migrate.migrate(owner_url, app_url=_url("t_nobody", "x", app_url, "unused"),
                        log=lambda *_: None)


def test_an_owner_that_may_create_roles_creates_the_app_role_and_sets_its_password(stack):
    """The managed stages: RDS' master user owns the schema and creates the app's role."""
    tag = uuid.uuid4().hex[:8]
    master, app, name = f"t_master_{tag}", f"t_app_{tag}", f"t_{tag}"
    base = stack.database_url("postgres")
    with psycopg.connect(stack.superuser_url, autocommit=True) as conn:
        conn.execute(pgsql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD 'm'").format(
            pgsql.Identifier(master)))
        conn.execute(pgsql.SQL("CREATE DATABASE {} OWNER {}").format(
            pgsql.Identifier(name), pgsql.Identifier(master)))
    try:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
               OWNER_URL_ENV: _url(master, "m", base, name)}
        outs = []
        for password in ("first", "rotated"):
            outs.append(subprocess.run(
                [sys.executable, "-m", "sql.migrate"], cwd=ROOT, check=True, text=True,
                capture_output=True,
                env={**env, "DATABASE_URL": _url(app, password, base, name)}).stdout)
            with psycopg.connect(_url(app, password, base, name)) as conn:
                assert conn.execute("SELECT count(*) FROM products").fetchone() == (0,)
        assert f"app role {app}: created" in outs[0]
        assert f"app role {app}: password set" in outs[1]
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(_url(app, "first", base, name)).close()
    finally:
        with psycopg.connect(stack.superuser_url, autocommit=True) as conn:
            conn.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                pgsql.Identifier(name)))
            for role in (app, master):
                conn.execute(pgsql.SQL("DROP ROLE IF EXISTS {}").format(pgsql.Identifier(role)))


def test_migrations_apply_once_even_concurrently(fresh_db):
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: migrate.migrate(fresh_db, log=lambda *_: None),
                                range(4)))
    versions = [v for v, _ in migrate.migrations()]
    assert sorted(v for r in results for v in r) == versions  # each applied by exactly one
    assert migrate.migrate(fresh_db, log=lambda *_: None) == []
    with psycopg.connect(fresh_db) as conn:
        assert [r[0] for r in conn.execute(
            "SELECT version FROM schema_migrations ORDER BY version")] == versions
        # the fixes over the reference schema hold
        conn.execute("INSERT INTO products (name, price, category, stock) VALUES ('x', 1, 'c', 0)")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE products SET stock = stock - 1")


def test_edited_migration_is_refused(fresh_db, monkeypatch):
    migrate.migrate(fresh_db, log=lambda *_: None)
    original = migrate.migrations()
    monkeypatch.setattr(migrate, "migrations",
                        lambda: [(original[0][0], original[0][1] + "\n-- edited")] + original[1:])
    with pytest.raises(SystemExit, match="edited"):
        migrate.migrate(fresh_db)


def test_seed_reference_then_large_idempotent(fresh_db):
    migrate.migrate(fresh_db, log=lambda *_: None)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert seed.seed_products(conn, 50) == 50
        assert seed.seed_products(conn, 50) == 0
        rows = conn.execute("SELECT name, price, category, stock FROM products ORDER BY id"
                            ).fetchall()
        assert rows == [(n, p, c, s) for n, _, p, c, s, _ in reference_products()]
        assert sum(r[3] for r in rows) == 5317
        assert seed.seed_products(conn, 20000) == 19950  # > 40 ms of COPY
        assert conn.execute("SELECT count(DISTINCT category) FROM products").fetchone()[0] == 3
        assert seed.seed_users(conn, 20) == 20
        assert seed.seed_users(conn, 20) == 0
        # the reference products stay the newest, on page 1
        first = conn.execute("SELECT name FROM products ORDER BY created_at DESC, id DESC"
                             " LIMIT 50").fetchall()
        assert {r[0] for r in first} == {p[0] for p in reference_products()}


def test_seed_command_line(fresh_db):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATABASE_URL": fresh_db}
    subprocess.run([sys.executable, "-m", "sql.migrate"], env=env, check=True, cwd=ROOT,
                   capture_output=True)
    out = subprocess.run([sys.executable, "-m", "sql.seed", "--products", "60", "--users", "3"],
                         env=env, check=True, cwd=ROOT, capture_output=True, text=True).stdout
    assert "seeded 60 product(s), 3 user(s)" in out
    listed = subprocess.run([sys.executable, "-m", "sql.migrate", "--list"], env=env,
                            check=True, cwd=ROOT, capture_output=True, text=True).stdout
    assert "pending" not in listed and "applied  001_schema" in listed


def test_loadtest_catalogue_comes_after_the_reference_and_out_of_its_way(fresh_db):
    from sql.catalogue import LOADTEST_CATEGORY, LOADTEST_STOCK
    migrate.migrate(fresh_db, log=lambda *_: None)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        with pytest.raises(SystemExit, match="reference catalogue first"):
            seed.seed_loadtest_products(conn, 20)   # it would take the reference's ids
        assert seed.seed_products(conn, 50) == 50
        assert seed.seed_loadtest_products(conn, 20) == 20
        assert seed.seed_loadtest_products(conn, 20) == 0
        assert seed.seed_products(conn, 50) == 0            # not counted as the shop's products
        # ids 1..50 are the reference's, at their seed stock; the load test's come after
        rows = conn.execute("SELECT id, name, stock FROM products WHERE id <= 50 ORDER BY id"
                            ).fetchall()
        assert rows == [(i + 1, p[0], p[4]) for i, p in enumerate(reference_products())]
        lt = conn.execute("SELECT id, stock FROM products WHERE category = %s ORDER BY id",
                          (LOADTEST_CATEGORY,)).fetchall()
        assert [r[0] for r in lt] == list(range(51, 71))
        assert {r[1] for r in lt} == {LOADTEST_STOCK}
        assert seed.seed_products(conn, 1000) == 950         # generated: still none of them
        assert conn.execute("SELECT count(*) FROM products WHERE category = %s",
                            (LOADTEST_CATEGORY,)).fetchone()[0] == 20
        # the listing (newest first, as product_page orders it) ends with them: no first page,
        # not even the reference frontend's per_page=50 grid, shows one
        last = conn.execute("SELECT category FROM products ORDER BY created_at DESC, id DESC"
                            " OFFSET 1000").fetchall()
        assert [r[0] for r in last] == [LOADTEST_CATEGORY] * 20
        # the reference's search terms (the stage-3 mix) match none of them
        for term in ("electronics", "clothing", "home"):
            assert conn.execute("SELECT count(*) FROM products WHERE category = %s AND"
                                " lower(name || ' ' || description) LIKE %s",
                                (LOADTEST_CATEGORY, f"%{term}%")).fetchone()[0] == 0


def test_seed_command_line_loadtest_products(fresh_db):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATABASE_URL": fresh_db}
    subprocess.run([sys.executable, "-m", "sql.migrate"], env=env, check=True, cwd=ROOT,
                   capture_output=True)
    seed_cmd = [sys.executable, "-m", "sql.seed", "--products", "50", "--loadtest-products", "5"]
    out = subprocess.run(seed_cmd, env=env, check=True, cwd=ROOT, capture_output=True,
                         text=True).stdout
    assert "seeded 55 product(s), 0 user(s)" in out
    again = subprocess.run(seed_cmd, env=env, check=True, cwd=ROOT, capture_output=True,
                           text=True).stdout
    assert "seeded 0 product(s)" in again
