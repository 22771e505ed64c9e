"""Rate limits in Redis, shared by every worker and host.

- Per client address (every request but probes, scrapes and Stripe's webhook, whose signature
  is its authentication) and per signed-in user (protected routes): a fixed one-minute window;
  over the limit, 429 ``RATE_LIMIT_EXCEEDED`` with ``Retry-After`` = seconds to the next
  window. When Redis is unreachable these let requests through (and stop asking Redis for a
  few seconds) rather than take the catalogue down with it.
- Failed logins (``LoginLimiter``): per account and client address together, so a stranger
  cannot lock a shopper out, and a higher ceiling per account across all addresses, against
  credential stuffing from many addresses. Checked before the password hash is computed, so a
  blocked attempt costs no argon2 time. When Redis is unreachable login answers 503: it fails
  safe, since an unlimited login is what the limit exists to prevent.

The client address is the socket peer, or with TRUSTED_PROXY_HOPS = N proxies in front that
each append the address they saw to ``X-Forwarded-For``, the Nth entry from its right: what the
outermost trusted proxy saw. Entries further left are the client's own words and never trusted.
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import time

import redis

from app.errors import ApiError
from app.settings import Settings

log = logging.getLogger("shop.ratelimit")
WINDOW = 60
# probes, scrapes and Stripe's webhook are never limited
EXEMPT = {"/healthz", "/readyz", "/metrics", "/api/health", "/api/webhook/stripe"}
REDIS_BACKOFF = 5.0


def client_ip(req, trusted_hops: int) -> str:
    """The client's address (see the module docstring)."""
    peer = req.remote_addr or "unknown"
    if trusted_hops <= 0:
        return peer
    hops = [h.strip() for h in (req.get_header("X-Forwarded-For") or "").split(",") if h.strip()]
    if len(hops) < trusted_hops:  # not through all the proxies: only the peer is known
        return peer
    candidate = hops[-trusted_hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


def too_many(retry_after: int) -> ApiError:
    return ApiError(429, "RATE_LIMIT_EXCEEDED", "Too many requests. Please try again later.",
                    headers={"Retry-After": str(max(1, retry_after))})


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
            raise too_many(int((window + 1) * WINDOW - now) + 1)


class ClientRateLimit:
    def __init__(self, settings: Settings, redis_client):
        self.limiter = _Limiter(redis_client, "ip", settings.rate_limit_ip_per_minute)
        self.hops = settings.trusted_proxy_hops

    def process_request(self, req, resp):
        req.context.client_ip = client_ip(req, self.hops)
        if req.path not in EXEMPT:
            self.limiter.hit(req.context.client_ip)


class UserRateLimit:
    """After AuthMiddleware: only requests that carry a valid token count against a user."""

    def __init__(self, settings: Settings, redis_client):
        self.limiter = _Limiter(redis_client, "user", settings.rate_limit_user_per_minute)

    def process_resource(self, req, resp, resource, params):
        if req.context.get("user_id"):
            self.limiter.hit(str(req.context.user_id))


class LoginLimiter:
    """Failed logins counted per (account, address) and per account over
    LOGIN_FAILURE_WINDOW seconds (the window starts at the first failure)."""

    def __init__(self, settings: Settings, redis_client):
        self.redis, self.window = redis_client, settings.login_failure_window
        self.limits = (settings.login_max_failures, settings.login_max_account_failures)

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        account = hashlib.sha256(email.encode()).hexdigest()[:32]  # no emails in Redis
        return f"login:fail:{account}:{address}", f"login:fail:{account}"

    def check(self, email: str, address: str) -> None:
        """429 when either count is at its limit (a limit of 0 is off)."""
        keys = self._keys(email, address)
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
            pipe.ttl(key)
        pair, pair_ttl, account, account_ttl = pipe.execute()
        for count, ttl, limit in ((pair, pair_ttl, self.limits[0]),
                                  (account, account_ttl, self.limits[1])):
            if limit > 0 and int(count or 0) >= limit:
                raise too_many(ttl if ttl and ttl > 0 else self.window)

    def failed(self, email: str, address: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        for key in self._keys(email, address):
            pipe.incr(key)
            pipe.expire(key, self.window, nx=True)
        pipe.execute()

    def succeeded(self, email: str, address: str) -> None:
        """The shopper is in: their own address starts afresh (the account ceiling stays)."""
        self.redis.delete(self._keys(email, address)[0])
