"""Catalogue responses (listing pages, product details) kept for a moment by each worker.

A hit answers from memory, with no pool checkout and no query: that is what lets the listing run
near the speed of a trivial route. Staleness is bounded two ways:

- every change the shop itself makes to the catalogue (checkout takes stock, a canceled payment
  puts it back) empties this worker's cache and publishes on a Redis channel that every worker
  of every host listens to, so their copies go too;
- ``LISTING_CACHE_TTL`` bounds what a change made outside the shop (SQL, a seed) or a missed
  message (Redis down) can leave behind. 0 turns the cache off.

Checkout never reads from here: it locks the rows and takes prices from PostgreSQL.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import redis

log = logging.getLogger("shop.catalogue_cache")

CHANNEL = "shop:catalogue-changed"
MAX_ENTRIES = 2000  # distinct pages and products kept; past this the cache starts over


class CatalogueCache:
    def __init__(self, ttl: float, client: redis.Redis | None):
        self.ttl, self.redis = ttl, client
        self._entries: dict[tuple, tuple[float, bytes]] = {}
        self._generation = 0  # bumped by clear(): a body built across a change is not kept
        self._listener: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def get_or_build(self, key: tuple, build: Callable[[], bytes | None]) -> bytes | None:
        """The cached body for ``key``, or ``build()``'s, kept unless it is None."""
        if not self.enabled:
            return build()
        self._ensure_listener()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        generation = self._generation
        body = build()
        if body is not None and generation == self._generation:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl, body)
        return body

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()

    def changed(self) -> None:
        """The catalogue changed: drop this worker's copies now and tell the other workers."""
        self.clear()
        if self.redis is None:
            return
        try:
            self.redis.publish(CHANNEL, "1")
        except redis.RedisError as exc:  # the others fall back on the TTL
            log.warning("catalogue change not published: %s", exc)

    # --- the listener: one daemon thread per worker, started after the fork on first use ----
    def _ensure_listener(self) -> None:
        if self._listener is not None or self.redis is None:
            return
        with self._lock:
            if self._listener is None:
                self._listener = threading.Thread(target=self._listen, name="catalogue-listener",
                                                  daemon=True)
                self._listener.start()

    def _listen(self) -> None:
        lost = False  # Redis went away: changes may have been missed meanwhile
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(CHANNEL)
                if lost:
                    self.clear()  # whatever changed while we were not subscribed
                    log.info("catalogue listener back on Redis")
                    lost = False
                while True:
                    # get_message waits with its own timeout, not the client's short
                    # socket_timeout; ping keeps a silent connection checked
                    if pubsub.get_message(timeout=5.0) is not None:
                        self.clear()
                    pubsub.check_health()
            except (redis.RedisError, OSError) as exc:
                if not lost:  # once per outage, not once per retry
                    log.warning("catalogue listener lost Redis (%s); until it is back, "
                                "other workers' changes reach this one after the TTL", exc)
                lost = True
                time.sleep(1.0)
            finally:
                try:
                    pubsub.close()
                except Exception:  # closing a broken connection: nothing left to do
                    pass
