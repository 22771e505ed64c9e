"""Migrations (recorded, once each, safe from two hosts at once) and the seed generator."""
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg import sql as pgsql

from sql import migrate, seed
from sql.catalogue import reference_products

from conftest import ROOT


@pytest.fixture
def fresh_db(stack):
    """An empty database owned by the shop's role; its URL. Its statement timeout is tiny,
    as a role default could be: migrations and seeding must lift it for themselves."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(stack.superuser_url, autocommit=True) as conn:
        conn.execute(pgsql.SQL("CREATE DATABASE {} OWNER shop").format(pgsql.Identifier(name)))
        conn.execute(pgsql.SQL("ALTER ROLE shop IN DATABASE {} SET statement_timeout = '40ms'"
                               ).format(pgsql.Identifier(name)))
    url = stack.database_url("postgres").rsplit("/", 1)[0] + f"/{name}"
    yield url
    with psycopg.connect(stack.superuser_url, autocommit=True) as conn:
        conn.execute(pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(name)))


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
