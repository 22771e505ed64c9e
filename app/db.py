"""PostgreSQL: the connection pool of this process (the queries live in app/store/).

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
    """The process's pool, created on first use; the stores borrow connections from it."""

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
