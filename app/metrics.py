"""/metrics in Prometheus format: request latency by route template and status, this
worker's connection pool statistics from ``ConnectionPool.get_stats()``, and the order
lifecycle's events (holds expired, stock released, late payments refunded, payment
mismatches...) counted from the order_events table, so that what the reaper (a process of its
own) did shows here too.

Multi-worker gunicorn: by default each worker has its own registry, so a scrape through the
load balancer sees one worker at a time (fine for latency histograms summed over time by
Prometheus' rate(), and each worker's pool is what you want to see when tuning it). With
PROMETHEUS_MULTIPROC_DIR set (an empty directory, wiped before gunicorn starts),
prometheus_client's multiprocess mode aggregates all workers: counters and histograms are
summed, the pool gauges are summed over live workers.
"""
from __future__ import annotations

import time

import logging

import prometheus_client
from prometheus_client import CollectorRegistry, Gauge, Histogram, multiprocess
from prometheus_client.core import CounterMetricFamily

from app.db import Database
from app.store.orders import OrderStore

log = logging.getLogger("shop.metrics")

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
POOL_STATS = {
    "pool_min": "configured min_size", "pool_max": "configured max_size",
    "pool_size": "connections currently managed by the pool",
    "pool_available": "idle connections in the pool",
    "requests_waiting": "requests waiting for a connection now",
    "requests_num": "connection requests since start",
    "requests_queued": "connection requests that had to wait",
    "requests_wait_ms": "total milliseconds spent waiting for a connection",
    "requests_errors": "connection requests that failed (timeout, queue full)",
    "returns_bad": "connections returned in a bad state",
    "connections_num": "connection attempts to the server",
    "connections_errors": "failed connection attempts",
    "connections_lost": "connections found broken by a check",
    "usage_ms": "total milliseconds connections were lent out",
}

REQUEST_LATENCY = Histogram(
    "shop_http_request_duration_seconds", "Request latency by route template and status",
    ["method", "route", "status"], buckets=LATENCY_BUCKETS)
POOL_GAUGES = {key: Gauge(f"shop_db_{key}", help_, multiprocess_mode="livesum")
               for key, help_ in POOL_STATS.items()}


class Metrics:
    """Records requests (called by the access log) and serves /metrics."""

    def __init__(self, db: Database, orders: OrderStore, multiprocess_dir: str = ""):
        # prometheus_client itself picks its value storage at import from the same
        # variable (PROMETHEUS_MULTIPROC_DIR); this only decides how /metrics collects
        self.db, self.multiprocess = db, bool(multiprocess_dir)
        self.lifecycle = CollectorRegistry(auto_describe=False)
        self.lifecycle.register(OrderEvents(orders))
        self._pool_updated = 0.0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        REQUEST_LATENCY.labels(method, route, str(status)).observe(seconds)
        # in multiprocess mode the scraped worker cannot see the others' pools, so each
        # worker publishes its own stats now and then
        if self.multiprocess and time.monotonic() - self._pool_updated > 1.0:
            self.update_pool()

    def update_pool(self) -> None:
        self._pool_updated = time.monotonic()
        if not self.db.started:
            return
        stats = self.db.pool.get_stats()
        for key, gauge in POOL_GAUGES.items():
            gauge.set(stats.get(key, 0))

    def on_get(self, req, resp):
        self.update_pool()
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = prometheus_client.REGISTRY
        resp.content_type = prometheus_client.CONTENT_TYPE_LATEST
        resp.data = (prometheus_client.generate_latest(registry)
                     + prometheus_client.generate_latest(self.lifecycle))


class OrderEvents:
    """shop_order_events_total{kind}: every order event ever recorded, by kind."""

    def __init__(self, orders: OrderStore):
        self.orders = orders

    def collect(self):
        family = CounterMetricFamily("shop_order_events", "Order lifecycle events recorded "
                                     "(order_events table), by kind", labels=["kind"])
        try:
            counts = self.orders.event_counts()
        except Exception as exc:  # the database is down: the other metrics still answer
            log.warning("order events not counted: %s", exc)
            counts = {}
        for kind, count in sorted(counts.items()):
            family.add_metric([kind], count)
        yield family
