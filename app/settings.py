"""Every setting of the shop, read from the environment in one place.

Nothing else in the project reads ``os.environ`` for the app: the Ansible ``shop_app`` role,
the container image, the Pulumi task definitions and the Kubernetes manifests all set these
variables, and ``Settings.describe()`` lists them with their defaults for the docs.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from decimal import Decimal


def _env(name: str, default, cast=str, help: str = ""):
    """A dataclass field read from ``name`` in the environment (see ``Settings.from_env``)."""
    return field(default=default, metadata={"env": name, "cast": cast, "help": help})


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    # --- services -------------------------------------------------------------------------
    database_url: str = _env("DATABASE_URL", "postgresql://shop_app@127.0.0.1:5432/shop",
                             help="libpq URL of PostgreSQL or of pgbouncer in front of it")
    redis_url: str = _env("REDIS_URL", "redis://127.0.0.1:6379/0",
                          help="Redis for carts and rate limits; rediss:// for TLS")
    redis_ca_file: str = _env("REDIS_CA_FILE", "",
                              help="CA file a rediss:// server's certificate must chain to "
                                   "(host name checked too); empty = the system's trust store")
    # --- connection pool (psycopg_pool.ConnectionPool, one per gunicorn worker) ------------
    pool_min_size: int = _env("DB_POOL_MIN_SIZE", 2, int, "connections opened at start and kept")
    pool_max_size: int = _env("DB_POOL_MAX_SIZE", 10, int,
                              "most connections one worker may hold; hosts x workers x this "
                              "must fit the database budget (site.yml asserts it)")
    pool_timeout: float = _env("DB_POOL_TIMEOUT", 2.0, float,
                               "seconds a request waits for a connection before a 503")
    pool_max_waiting: int = _env("DB_POOL_MAX_WAITING", 50, int,
                                 "requests allowed to queue for a connection; more get 503 at once")
    pool_max_lifetime: float = _env("DB_POOL_MAX_LIFETIME", 1800.0, float,
                                    "seconds before a connection is replaced")
    pool_max_idle: float = _env("DB_POOL_MAX_IDLE", 300.0, float,
                                "seconds an idle connection above min_size is kept")
    pool_reconnect_timeout: float = _env("DB_POOL_RECONNECT_TIMEOUT", 30.0, float,
                                         "seconds the pool keeps trying to reconnect")
    connect_timeout: int = _env("DB_CONNECT_TIMEOUT", 5, int,
                                "seconds one new database connection may take (libpq)")
    statement_timeout_ms: int = _env("DB_STATEMENT_TIMEOUT_MS", 5000, int,
                                     "server-side limit on one statement")
    prepare_threshold: int | None = _env(
        "DB_PREPARE_THRESHOLD", None, lambda v: None if v.lower() in {"", "none"} else int(v),
        "psycopg prepare_threshold; none (default) is required behind pgbouncer 1.18 "
        "in transaction mode")
    redis_timeout: float = _env("REDIS_TIMEOUT", 0.5, float,
                                "seconds a Redis command (or connect) may take before a 503")
    # --- secrets ---------------------------------------------------------------------------
    jwt_secret: str = _env("JWT_SECRET", "", help="HS256 key for tokens (required)")
    jwt_ttl_hours: int = _env("JWT_EXPIRY_HOURS", 24, int, "token lifetime")
    stripe_secret_key: str = _env("STRIPE_SECRET_KEY", "sk_test_shoplab",
                                  help="Stripe secret key (a test key in the lab)")
    stripe_publishable_key: str = _env("STRIPE_PUBLISHABLE_KEY", "pk_test_shoplab",
                                       help="publishable key handed to the storefront")
    stripe_webhook_secret: str = _env("STRIPE_WEBHOOK_SECRET", "",
                                      help="whsec_... used to verify webhook signatures")
    stripe_api_base: str = _env("STRIPE_API_BASE", "",
                                help="Stripe API base URL; empty = api.stripe.com, the lab "
                                     "points it at the local fake Stripe")
    stripe_timeout: float = _env("STRIPE_TIMEOUT", 5.0, float,
                                 "seconds one Stripe request may take (connect and read); with "
                                 "one retry at most, a Stripe call holds a request thread for "
                                 "about twice this before the answer is a 503")
    stripe_max_retries: int = _env("STRIPE_MAX_RETRIES", 1, int,
                                   "retries of a failed Stripe request (idempotency keys make "
                                   "them safe)")
    # --- orders ----------------------------------------------------------------------------
    order_hold_minutes: int = _env("ORDER_HOLD_MINUTES", 15, int,
                                   "minutes an unpaid order holds its stock; then the reaper "
                                   "cancels its PaymentIntent and the stock returns")
    order_max_pending: int = _env("ORDER_MAX_PENDING", 3, int,
                                  "unpaid orders one account may hold at once")
    order_max_line_quantity: int = _env("ORDER_MAX_LINE_QUANTITY", 20, int,
                                        "units of one product in a cart or an order")
    order_max_total: Decimal = _env("ORDER_MAX_TOTAL", Decimal("10000"), Decimal,
                                    "largest order value in USD (Stripe's per-charge maximum "
                                    "is $999,999.99)")
    # --- abuse limits ----------------------------------------------------------------------
    trusted_proxy_hops: int = _env("TRUSTED_PROXY_HOPS", 0, int,
                                   "proxies in front of the app that append the address they "
                                   "saw to X-Forwarded-For: the client is that many entries from "
                                   "its right; 0 = the socket peer (X-Forwarded-For ignored)")
    login_max_failures: int = _env("LOGIN_MAX_FAILURES", 10, int,
                                   "failed logins per account and client address in one window "
                                   "before 429 (0 = off)")
    login_max_account_failures: int = _env("LOGIN_MAX_ACCOUNT_FAILURES", 100, int,
                                           "failed logins per account from all addresses in "
                                           "one window before 429 (0 = off)")
    login_failure_window: int = _env("LOGIN_FAILURE_WINDOW", 900, int,
                                     "seconds over which failed logins are counted")
    # --- behaviour -------------------------------------------------------------------------
    readiness_interval: float = _env("READINESS_INTERVAL", 5.0, float,
                                     "seconds a /readyz answer is reused, however often probed")
    cart_ttl_seconds: int = _env("CART_TTL_SECONDS", 7 * 24 * 3600, int,
                                 "a cart expires this long after its last use")
    rate_limit_ip_per_minute: int = _env("RATE_LIMIT_IP_PER_MINUTE", 6000, int,
                                         "requests per client IP per minute (0 = off)")
    rate_limit_user_per_minute: int = _env("RATE_LIMIT_USER_PER_MINUTE", 600, int,
                                           "requests per signed-in user per minute (0 = off)")
    product_count_ttl: float = _env("PRODUCT_COUNT_TTL", 30.0, float,
                                    "seconds a worker reuses a catalogue count for pagination")
    listing_cache_ttl: float = _env("LISTING_CACHE_TTL", 1.0, float,
                                    "seconds a worker reuses a listing page or product detail; "
                                    "the shop's own stock changes empty it at once (0 = off)")
    max_body_bytes: int = _env("MAX_BODY_BYTES", 65536, int, "largest accepted request body")
    serve_storefront: bool = _env("SERVE_STOREFRONT", False, _bool,
                                  "serve the storefront (app/static/) at / too: where no nginx "
                                  "stands in front of the app (stages 3 and 4)")
    metrics_dir: str = _env("PROMETHEUS_MULTIPROC_DIR", "",
                            help="empty: each worker serves its own /metrics; a directory: "
                                 "prometheus_client multiprocess mode, one view of all workers "
                                 "(prometheus_client reads this variable itself at import)")
    log_level: str = _env("LOG_LEVEL", "INFO", help="Python logging level")
    debug: bool = _env("SHOP_DEBUG", False, _bool,
                       "500 answers carry the exception text; never in production")

    @classmethod
    def from_env(cls, environ=None, **overrides) -> "Settings":
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is not None:
                try:
                    values[f.name] = f.metadata["cast"](raw)
                except ValueError as exc:
                    raise ValueError(f"{f.metadata['env']}={raw!r}: {exc}") from None
        values.update(overrides)
        return cls(**values)

    @classmethod
    def describe(cls) -> list[tuple[str, object, str]]:
        """(variable, default, meaning) for every setting, for docs and role templates."""
        return [(f.metadata["env"], f.default, f.metadata["help"]) for f in dataclasses.fields(cls)]
