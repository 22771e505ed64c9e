"""Seed data: the reference's 50 products, or a large catalogue and many users for load tests.

    python -m sql.seed --products 50                      # the reference catalogue
    python -m sql.seed --products 100000 --users 50000    # load-test data, in seconds (COPY)
    python -m sql.seed --reset --products 50               # empty the shop's tables first
    python -m sql.seed --products 50 --loadtest-products 20   # + the load test's own products

Idempotent: it only adds what is missing (products up to --products, users
``loadtest-<n>@shoplab.test`` up to --users, load-test products up to --loadtest-products),
so running it twice changes nothing. The first 50 products are always the reference ones;
the rest are generated, deterministically, and older, so the reference products stay on the
first page. Load-test users all share the password ``LOADTEST_PASSWORD`` (a lab-only account
set, documented in app/README.md).

``--loadtest-products`` adds the catalogue the load test's shopper journey buys from
(category ``LOADTEST_CATEGORY``, ``LOADTEST_STOCK`` units each, older than every other
product: see sql/catalogue.py), after the reference catalogue, so ids 1..50 stay the
reference's. A load test then leaves every reference product at the stock real orders left
it: nothing here restocks anything, so no completed order is ever undone. The load-test
products are not restocked either; their stock lasts hundreds of full load tests. They are
not counted in --products.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import psycopg

from app.settings import Settings
from sql import NO_STATEMENT_TIMEOUT, OWNER_URL_ENV, owner_url
from sql.catalogue import (CATEGORIES, LOADTEST_CATEGORY, image_url, loadtest_products,
                           reference_products)

LOADTEST_PASSWORD = "loadtest-password"
ADJECTIVES = ["Classic", "Premium", "Compact", "Deluxe", "Eco", "Smart", "Vintage", "Pro",
              "Ultra", "Essential", "Modern", "Rugged", "Slim", "Cozy", "Bold"]
NOUNS = {"Electronics": ["Headphones", "Speaker", "Monitor", "Keyboard", "Charger", "Camera",
                         "Tablet", "Router", "Drone", "Projector"],
         "Clothing": ["Jacket", "Sneakers", "Hoodie", "Jeans", "Scarf", "Boots", "Shirt",
                      "Cap", "Sweater", "Coat"],
         "Home": ["Lamp", "Blender", "Kettle", "Pillow", "Rug", "Toaster", "Vase", "Pan",
                  "Chair", "Clock"]}
PRICE_RANGE = {"Electronics": (89, 2599), "Clothing": (19, 399), "Home": (39, 699)}


def generated_products(start: int, count: int):
    """Rows for COPY, reproducible: product n is the same whichever run creates it."""
    cats = list(CATEGORIES)
    base = datetime.now(timezone.utc) - timedelta(days=1)
    for n in range(start, start + count):
        rnd = random.Random(n)
        cat = cats[n % len(cats)]
        lo, hi = PRICE_RANGE[cat]
        name = f"{rnd.choice(ADJECTIVES)} {rnd.choice(NOUNS[cat])} {n}"
        yield (name, f"{name}: generated load-test product in {cat}",
               Decimal(rnd.randint(lo, hi)) + Decimal("0.99"), cat, rnd.randint(10, 500),
               image_url(cat), base - timedelta(seconds=n))


def _shop_products(conn: psycopg.Connection) -> int:
    """Products other than the load test's own."""
    return conn.execute("SELECT count(*) FROM products WHERE category <> %s",
                        (LOADTEST_CATEGORY,)).fetchone()[0]


def seed_products(conn: psycopg.Connection, total: int) -> int:
    have = _shop_products(conn)
    if have >= total:
        return 0
    added = 0
    with conn.transaction():
        conn.execute(NO_STATEMENT_TIMEOUT)
        if have == 0:
            ref = reference_products()[:total]
            with conn.cursor().copy("COPY products (name, description, price, category, stock,"
                                    " image_url) FROM STDIN") as copy:
                for row in ref:
                    copy.write_row(row)
            have = added = len(ref)
        if total > have:
            with conn.cursor().copy("COPY products (name, description, price, category, stock,"
                                    " image_url, created_at) FROM STDIN") as copy:
                for row in generated_products(have, total - have):
                    copy.write_row(row)
            added += total - have
    return added


def seed_loadtest_products(conn: psycopg.Connection, total: int) -> int:
    """The load test's own catalogue, up to ``total`` products; refused before the reference
    catalogue exists (its products would take the reference's ids 1..50)."""
    if total <= 0:
        return 0
    if _shop_products(conn) < len(reference_products()):
        raise SystemExit("seed the reference catalogue first (--products 50): the load-test "
                         "products must not take the reference's ids 1..50")
    with conn.transaction():
        conn.execute(NO_STATEMENT_TIMEOUT)
        have = conn.execute("SELECT count(*) FROM products WHERE category = %s",
                            (LOADTEST_CATEGORY,)).fetchone()[0]
        if have >= total:
            return 0
        with conn.cursor().copy("COPY products (name, description, price, category, stock,"
                                " image_url, created_at) FROM STDIN") as copy:
            for row in loadtest_products(have, total - have):
                copy.write_row(row)
    return total - have


def seed_users(conn: psycopg.Connection, total: int) -> int:
    from app.accounts import hash_password
    if total <= 0:
        return 0
    # one hash for all: argon2 is deliberately slow, 50k hashes would take minutes
    pw_hash = hash_password(LOADTEST_PASSWORD)
    with conn.transaction():
        conn.execute(NO_STATEMENT_TIMEOUT)
        conn.execute("CREATE TEMP TABLE seed_users (email text, first_name text, last_name text)"
                     " ON COMMIT DROP")
        with conn.cursor().copy("COPY seed_users FROM STDIN") as copy:
            for n in range(total):
                copy.write_row((f"loadtest-{n}@shoplab.test", "Load", f"Tester {n}"))
        cur = conn.execute(
            "INSERT INTO users (email, password_hash, first_name, last_name)"
            " SELECT email, %s, first_name, last_name FROM seed_users"
            " ON CONFLICT (email) DO NOTHING", (pw_hash,))
        return cur.rowcount


def reset(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute(NO_STATEMENT_TIMEOUT)
        conn.execute("TRUNCATE stripe_events, order_events, late_payments, checkout_keys,"
                     " order_items, orders, products, users"
                     " RESTART IDENTITY")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="seed the shop's database")
    p.add_argument("--products", type=int, default=50, help="products wanted in total")
    p.add_argument("--users", type=int, default=0, help="load-test users wanted in total")
    p.add_argument("--loadtest-products", type=int, default=0,
                   help="products of the load test's own catalogue wanted in total")
    p.add_argument("--reset", action="store_true", help="empty users, products and orders first")
    p.add_argument("--database-url",
                   help=f"the schema owner's URL; default: {OWNER_URL_ENV}, else DATABASE_URL")
    args = p.parse_args(argv)
    url = owner_url(args.database_url, Settings.from_env().database_url)
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        if args.reset:
            reset(conn)
        products = seed_products(conn, args.products)
        products += seed_loadtest_products(conn, args.loadtest_products)
        users = seed_users(conn, args.users)
        if products or users:
            with conn.transaction():
                conn.execute(NO_STATEMENT_TIMEOUT)
                conn.execute("ANALYZE products, users")
    print(f"seeded {products} product(s), {users} user(s) in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
