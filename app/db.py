"""PostgreSQL: the connection pool of this worker and every query the shop runs.

One ``psycopg_pool.ConnectionPool`` per process, built from the settings and opened lazily on
first use, so it is created in each gunicorn worker after the fork (never inherited from the
master) and closed when the worker exits. Connections are in autocommit: a read is one round
trip, and writes that must be atomic open an explicit ``conn.transaction()``.

``prepare_threshold=None`` (the default setting) disables server-side prepared statements,
which pgbouncer 1.18 in transaction mode cannot keep across transactions.
"""
from __future__ import annotations

import atexit
import contextvars
import logging
import threading
import time
from contextlib import contextmanager
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from app.settings import Settings

log = logging.getLogger("shop.db")

# milliseconds this request waited for pool connections (read by the access log)
pool_wait_ms: contextvars.ContextVar[float] = contextvars.ContextVar("pool_wait_ms", default=0.0)


def make_pool(settings: Settings, *, open: bool = False, **overrides) -> ConnectionPool:
    """A pool with every parameter from the settings (``overrides`` for tests)."""
    kwargs = {"autocommit": True, "prepare_threshold": settings.prepare_threshold,
              "connect_timeout": settings.connect_timeout}
    if settings.statement_timeout_ms:
        # a startup parameter: no extra round trip. pgbouncer drops it (it must be listed in
        # ignore_startup_parameters), so behind pgbouncer the role carries the same default.
        kwargs["options"] = f"-c statement_timeout={settings.statement_timeout_ms}"
    params = dict(
        min_size=settings.pool_min_size, max_size=settings.pool_max_size,
        timeout=settings.pool_timeout, max_waiting=settings.pool_max_waiting,
        max_lifetime=settings.pool_max_lifetime, max_idle=settings.pool_max_idle,
        reconnect_timeout=settings.pool_reconnect_timeout, name="shop")
    params.update(overrides)
    return ConnectionPool(settings.database_url, kwargs=kwargs, open=open, **params)


class Database:
    """The worker's pool (created on first use) and the shop's queries."""

    def __init__(self, settings: Settings, pool: ConnectionPool | None = None):
        self.settings = settings
        self._pool = pool
        self._owns_pool = pool is None
        self._lock = threading.Lock()
        self._checking = threading.Event()

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    pool = make_pool(self.settings)
                    # don't wait for min_size connections: a worker must start (and answer
                    # /healthz) even while the database is down
                    pool.open(wait=False)
                    atexit.register(pool.close, timeout=2)
                    self._pool = pool
        return self._pool

    @property
    def started(self) -> bool:
        return self._pool is not None

    def close(self) -> None:
        if self._pool is not None and self._owns_pool:
            self._pool.close(timeout=2)

    @contextmanager
    def connection(self):
        started = time.perf_counter()
        with self.pool.connection() as conn:
            pool_wait_ms.set(pool_wait_ms.get() + (time.perf_counter() - started) * 1000)
            yield conn

    def broken_connection_seen(self) -> None:
        """After a connection failed (e.g. Postgres restarted), test the idle ones now, in the
        background, instead of failing one request per stale connection."""
        if self._pool is None or self._checking.is_set():
            return
        self._checking.set()

        def check():
            try:
                self._pool.check()
            except Exception as exc:  # the pool logs and replaces what is broken
                log.warning("pool check failed: %s", exc)
            finally:
                self._checking.clear()
        threading.Thread(target=check, name="pool-check", daemon=True).start()

    def ping(self, timeout: float) -> None:
        with self.pool.connection(timeout=timeout) as conn:
            conn.execute("SELECT 1")

    # --- accounts ------------------------------------------------------------------------
    def create_user(self, email, password_hash, first_name, last_name) -> int | None:
        """The new user's id, or None when the email is taken."""
        with self.connection() as conn:
            row = conn.execute(
                "INSERT INTO users (email, password_hash, first_name, last_name)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (email) DO NOTHING RETURNING id",
                (email, password_hash, first_name, last_name)).fetchone()
        return row[0] if row else None

    def user_credentials(self, email) -> tuple[int, str] | None:
        with self.connection() as conn:
            return conn.execute("SELECT id, password_hash FROM users WHERE email = %s",
                                (email,)).fetchone()

    def update_password_hash(self, user_id, password_hash) -> None:
        with self.connection() as conn:
            conn.execute("UPDATE users SET password_hash = %s, updated_at = now() WHERE id = %s",
                         (password_hash, user_id))

    # --- catalogue -----------------------------------------------------------------------
    PRODUCT_COLUMNS = "id, name, description, price, category, stock, image_url"

    def product_page_json(self, category: str | None, limit: int, offset: int,
                          *, count: bool) -> tuple[str, int | None]:
        """One page of the catalogue, newest first, as JSON text built by PostgreSQL, and the
        number of products (None unless ``count``), in one round trip.

        The rows never become Python objects: the page is spliced into the response as it
        came. The query lives in the function product_page (migration 004), whose plans
        PostgreSQL keeps even behind pgbouncer in transaction mode."""
        with self.connection() as conn:
            return conn.execute("SELECT page, total FROM product_page(%s, %s, %s, %s)",
                                (category, limit, offset, count)).fetchone()

    def product_json(self, product_id: int) -> str | None:
        """One product as JSON text (PostgreSQL's), or None."""
        with self.connection() as conn:
            row = conn.execute(f"SELECT row_to_json(p)::text FROM (SELECT {self.PRODUCT_COLUMNS}"
                               " FROM products WHERE id = %s) p", (product_id,)).fetchone()
        return row[0] if row else None

    def categories(self) -> list[dict]:
        with self.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            return cur.execute("SELECT category AS name, count(*) AS count FROM products"
                               " GROUP BY category ORDER BY category").fetchall()

    def product(self, product_id: int) -> dict | None:
        with self.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            return cur.execute(f"SELECT {self.PRODUCT_COLUMNS} FROM products WHERE id = %s",
                               (product_id,)).fetchone()

    def search_products(self, q: str, limit: int = 50) -> list[dict]:
        # substring match on name + description (products_search_trgm_idx); LIKE wildcards
        # typed by the client are matched literally
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            return cur.execute(
                f"SELECT {self.PRODUCT_COLUMNS} FROM products"
                " WHERE lower(name || ' ' || description) LIKE %s"
                " ORDER BY id LIMIT %s", (pattern, limit)).fetchall()

    def products_by_id(self, ids) -> dict[int, dict]:
        with self.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            rows = cur.execute(f"SELECT {self.PRODUCT_COLUMNS} FROM products WHERE id = ANY(%s)",
                               (list(ids),)).fetchall()
        return {r["id"]: r for r in rows}

    # --- orders --------------------------------------------------------------------------
    def place_order(self, user_id: int, cart: dict[int, int]):
        """Turn a cart {product_id: qty} into an order in one transaction.

        Returns (order, None), or (None, shortages) when some product has too little stock,
        in which case nothing changed. Rows are locked in product-id order, so concurrent
        checkouts of overlapping carts queue instead of deadlocking.
        """
        ids = sorted(cart)
        with self.connection() as conn, conn.transaction():
            rows = conn.execute(
                "SELECT id, name, price, stock FROM products WHERE id = ANY(%s)"
                " ORDER BY id FOR UPDATE", (ids,)).fetchall()
            found = {r[0]: r for r in rows}
            shortages = [{"product_id": pid, "requested": cart[pid],
                          "available": found[pid][3] if pid in found else 0}
                         for pid in ids if pid not in found or found[pid][3] < cart[pid]]
            if shortages:
                return None, shortages
            conn.execute(
                "UPDATE products p SET stock = p.stock - c.qty, updated_at = now()"
                " FROM unnest(%s::bigint[], %s::int[]) AS c(id, qty) WHERE p.id = c.id",
                (ids, [cart[i] for i in ids]))
            lines = [(pid, found[pid][1], cart[pid], found[pid][2],
                      found[pid][2] * cart[pid]) for pid in ids]
            total = sum((line[4] for line in lines), Decimal("0"))
            order_id, status, created = conn.execute(
                "INSERT INTO orders (user_id, total) VALUES (%s, %s)"
                " RETURNING id, status, created_at", (user_id, total)).fetchone()
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO order_items (order_id, product_id, product_name, quantity,"
                    " price, subtotal) VALUES (%s, %s, %s, %s, %s, %s)",
                    [(order_id, *line) for line in lines])
        return {"id": order_id, "total": total, "status": status, "created_at": created}, None

    def list_orders(self, user_id: int, limit: int, offset: int) -> list[dict]:
        with self.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            return cur.execute(
                "SELECT id, total, status, payment_status, created_at FROM orders"
                " WHERE user_id = %s ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s",
                (user_id, limit, offset)).fetchall()

    def order(self, order_id: int, *, items: bool = False) -> dict | None:
        with self.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            order = cur.execute(
                "SELECT id, user_id, total, status, payment_status, stripe_payment_intent_id,"
                " created_at, updated_at FROM orders WHERE id = %s", (order_id,)).fetchone()
            if order is not None and items:
                order["items"] = cur.execute(
                    "SELECT product_id, product_name AS name, quantity, price, subtotal"
                    " FROM order_items WHERE order_id = %s ORDER BY id", (order_id,)).fetchall()
        return order

    def set_payment_intent(self, order_id: int, intent_id: str) -> None:
        with self.connection() as conn:
            conn.execute(
                "UPDATE orders SET stripe_payment_intent_id = %s, updated_at = now()"
                " WHERE id = %s AND stripe_payment_intent_id IS NULL", (intent_id, order_id))

    # --- payments (webhook) --------------------------------------------------------------
    def apply_payment_event(self, event_id: str, event_type: str, order_id: int | None,
                            intent_id: str | None) -> str:
        """Record a Stripe event and apply it to its order, exactly once, atomically.

        Returns what happened: "duplicate", "no_order", "applied" or "ignored" (the order was
        already past the state this event moves it out of)."""
        with self.connection() as conn, conn.transaction():
            row = None
            if order_id is not None:
                row = conn.execute("SELECT id FROM orders WHERE id = %s", (order_id,)).fetchone()
            if row is None and intent_id:
                row = conn.execute("SELECT id FROM orders WHERE stripe_payment_intent_id = %s",
                                   (intent_id,)).fetchone()
            oid = row[0] if row else None
            fresh = conn.execute(
                "INSERT INTO stripe_events (id, type, order_id) VALUES (%s, %s, %s)"
                " ON CONFLICT (id) DO NOTHING RETURNING id", (event_id, event_type, oid)).fetchone()
            if fresh is None:
                return "duplicate"
            if oid is None:
                return "no_order"
            if event_type == "payment_intent.succeeded":
                cur = conn.execute(
                    "UPDATE orders SET status = 'paid', payment_status = 'succeeded',"
                    " stripe_payment_intent_id = coalesce(stripe_payment_intent_id, %s),"
                    " updated_at = now() WHERE id = %s AND status = 'pending'", (intent_id, oid))
            elif event_type == "payment_intent.payment_failed":
                cur = conn.execute(
                    "UPDATE orders SET payment_status = 'failed', updated_at = now()"
                    " WHERE id = %s AND status = 'pending'", (oid,))
            elif event_type == "payment_intent.canceled":
                cur = conn.execute(
                    "UPDATE orders SET status = 'canceled', payment_status = 'canceled',"
                    " updated_at = now() WHERE id = %s AND status = 'pending'", (oid,))
                if cur.rowcount:
                    # the stock this order took goes back on the shelf
                    conn.execute(
                        "UPDATE products p SET stock = p.stock + i.qty, updated_at = now()"
                        " FROM (SELECT product_id, sum(quantity) AS qty FROM order_items"
                        "       WHERE order_id = %s GROUP BY product_id) AS i"
                        " WHERE p.id = i.product_id", (oid,))
            else:
                return "ignored"
            return "applied" if cur.rowcount else "ignored"
