"""Rate limits in Redis, shared by every worker and host: a fixed one-minute window per client
IP (every request) and per signed-in user (protected routes). Over the limit: 429
``RATE_LIMIT_EXCEEDED`` with ``Retry-After`` = seconds to the next window.

The client IP is nginx's ``X-Real-IP``, else the last ``X-Forwarded-For`` hop (the one our
proxy appended), else the socket peer: the app must only be reachable through its proxy.

When Redis is unreachable the limiter lets requests through (and stops asking Redis for a few
seconds) rather than take the catalogue down with it; the cart, which needs Redis, answers 503.
"""
from __future__ import annotations

import logging
import time

import redis

from app.errors import ApiError
from app.settings import Settings

log = logging.getLogger("shop.ratelimit")
WINDOW = 60
# probes and scrapes are never limited
EXEMPT = {"/healthz", "/readyz", "/metrics", "/api/health"}
REDIS_BACKOFF = 5.0


def client_ip(req) -> str:
    real = req.get_header("X-Real-IP")
    if real:
        return real.strip()[:64]
    forwarded = req.get_header("X-Forwarded-For")
    if forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()[:64]
    return req.remote_addr or "unknown"


class _Limiter:
    def __init__(self, redis_client, kind: str, limit: int):
        self.redis, self.kind, self.limit = redis_client, kind, limit
        self._skip_until = 0.0

    def hit(self, key: str) -> None:
        if self.limit <= 0 or time.monotonic() < self._skip_until:
            return
        now = time.time()
        window = int(now // WINDOW)
        rkey = f"rl:{self.kind}:{key}:{window}"
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(rkey)
            pipe.expire(rkey, WINDOW + 1)
            count = pipe.execute()[0]
        except redis.exceptions.RedisError as exc:
            log.warning("rate limit skipped for %ss, Redis: %s", REDIS_BACKOFF, exc)
            self._skip_until = time.monotonic() + REDIS_BACKOFF
            return
        if count > self.limit:
            retry = max(1, int((window + 1) * WINDOW - now) + 1)
            raise ApiError(429, "RATE_LIMIT_EXCEEDED", "Too many requests. Please try again later.",
                           headers={"Retry-After": str(retry)})


class ClientRateLimit:
    def __init__(self, settings: Settings, redis_client):
        self.limiter = _Limiter(redis_client, "ip", settings.rate_limit_ip_per_minute)

    def process_request(self, req, resp):
        if req.path not in EXEMPT:
            self.limiter.hit(client_ip(req))


class UserRateLimit:
    """After AuthMiddleware: only requests that carry a valid token count against a user."""

    def __init__(self, settings: Settings, redis_client):
        self.limiter = _Limiter(redis_client, "user", settings.rate_limit_user_per_minute)

    def process_resource(self, req, resp, resource, params):
        if req.context.get("user_id"):
            self.limiter.hit(str(req.context.user_id))
