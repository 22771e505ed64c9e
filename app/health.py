"""Liveness (/healthz, /api/health: the process answers, no backend touched) and readiness
(/readyz: Postgres and Redis answer), the latter checked at most once per READINESS_INTERVAL
per worker however often it is probed, so load-balancer probes cannot eat the pool."""
from __future__ import annotations

import logging
import threading
import time

from app.db import Database
from app.errors import ok
from app.settings import Settings

log = logging.getLogger("shop.health")


class Liveness:
    def on_get(self, req, resp):
        ok(resp, {"status": "healthy"})


class Readiness:
    def __init__(self, settings: Settings, db: Database, redis):
        self.settings, self.db, self.redis = settings, db, redis
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._result: dict[str, str] = {}

    def _check(self) -> dict[str, str]:
        result = {}
        # never wait longer than a probe would: the pool timeout caps the database check
        try:
            self.db.ping(timeout=min(self.settings.pool_timeout, 2.0))
            result["postgres"] = "ok"
        except Exception as exc:
            result["postgres"] = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
        try:
            self.redis.ping()
            result["redis"] = "ok"
        except Exception as exc:
            result["redis"] = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
        return result

    def status(self) -> dict[str, str]:
        """The cached result, refreshed by one thread when it is older than the interval;
        probes arriving during a refresh get the previous answer instead of queueing."""
        now = time.monotonic()
        if now - self._checked_at >= self.settings.readiness_interval:
            blocking = not self._result  # the very first probe waits for a real answer
            if self._lock.acquire(blocking=blocking):
                try:
                    if time.monotonic() - self._checked_at >= self.settings.readiness_interval:
                        self._result = self._check()
                        self._checked_at = time.monotonic()
                        if any(v != "ok" for v in self._result.values()):
                            log.warning("not ready: %s", self._result)
                finally:
                    self._lock.release()
        return self._result

    def on_get(self, req, resp):
        checks = self.status()
        if all(v == "ok" for v in checks.values()):
            ok(resp, {"status": "ready", "checks": checks})
            return
        resp.status = 503
        resp.set_header("Retry-After", str(max(1, round(self.settings.readiness_interval))))
        resp.media = {"success": False, "error": {
            "code": "NOT_READY", "message": "A backend is unavailable",
            "details": [{"field": k, "message": v} for k, v in checks.items() if v != "ok"]}}
