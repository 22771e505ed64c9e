"""Shoplab's shop: a Falcon 4 WSGI API on PostgreSQL (psycopg_pool) and Redis, with Stripe.

``create_app(settings)`` builds the app from its dependencies; tests pass their own pool,
Redis client or Stripe client. ``app.wsgi:application`` is what gunicorn serves.
"""
from __future__ import annotations

import falcon

from app.settings import Settings

__all__ = ["create_app", "Settings"]


class ShopApp(falcon.App):
    """The Falcon app and its database; gunicorn's worker_exit calls ``close``."""

    def __init__(self, *args, db=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.db = db

    def close(self) -> None:
        """Close the pool this app opened (a pool passed in stays the caller's)."""
        if self.db is not None:
            self.db.close()


def create_app(settings: Settings, *, pool=None, redis=None, stripe=None) -> ShopApp:
    # imported here, not at the top: `import app.settings` (sql.migrate, the Ansible role's
    # checks) stays free of Falcon, Stripe and the rest
    from app import (accesslog, accounts, auth, cart, errors, headers, health, media, metrics,
                     openapi, orders, payment_provider, payments, products, ratelimit,
                     storefront)
    from app.catalogue_cache import CatalogueCache
    from app.db import Database
    from app.fields import ROUTE_ID as ID
    from app.lifecycle import Lifecycle
    from app.store.accounts import AccountStore
    from app.store.catalogue import CatalogueStore
    from app.store.orders import OrderStore
    from app.store.payments import PaymentStore

    if not settings.jwt_secret:
        raise ValueError("JWT_SECRET is required (see app/README.md)")
    db = Database(settings, pool)
    redis = redis if redis is not None else cart.make_redis(settings)
    stripe = stripe if stripe is not None else payment_provider.make_stripe(settings)
    account_store, catalogue_store = AccountStore(db), CatalogueStore(db)
    order_store, payment_store = OrderStore(db), PaymentStore(db)
    stats = metrics.Metrics(db, order_store, settings.metrics_dir)

    app = ShopApp(
        db=db,
        cors_enable=True,  # any origin: the API takes bearer tokens, never cookies
        middleware=[accesslog.AccessLog(stats), headers.SecurityHeaders(),
                    ratelimit.ClientRateLimit(settings, redis), auth.AuthMiddleware(settings),
                    ratelimit.UserRateLimit(settings, redis)])
    app.req_options.strip_url_path_trailing_slash = True
    media.install(app)
    errors.register(app, on_db_error=db.broken_connection_seen, debug=settings.debug)

    liveness = health.Liveness()
    app.add_route("/healthz", liveness)
    app.add_route("/api/health", liveness)
    app.add_route("/readyz", health.Readiness(settings, db, redis))
    app.add_route("/metrics", stats)
    app.add_route("/openapi.json", openapi.Document(settings))

    app.add_route("/api/auth/register", accounts.Register(settings, account_store))
    app.add_route("/api/auth/login", accounts.Login(
        settings, account_store, ratelimit.LoginLimiter(settings, redis)))

    catalogue = CatalogueCache(settings.listing_cache_ttl, redis)
    app.add_route("/api/products", products.ProductList(settings, catalogue_store, catalogue))
    app.add_route("/api/products/search", products.ProductSearch(catalogue_store))
    app.add_route(f"/api/products/{{product_id:{ID}}}",
                  products.ProductDetail(catalogue_store, catalogue))
    app.add_route("/api/categories", products.Categories(settings, catalogue_store))

    carts = cart.CartStore(settings, redis)
    app.add_route("/api/cart", cart.Cart(settings, catalogue_store, carts))
    app.add_route("/api/cart/clear", cart.CartClear(carts))
    app.add_route(f"/api/cart/{{product_id:{ID}}}", cart.CartLine(settings, catalogue_store, carts))

    lifecycle = Lifecycle(order_store, payment_store, stripe, catalogue)
    app.add_route("/api/orders", orders.Orders(settings, order_store, carts, catalogue))
    app.add_route(f"/api/orders/{{order_id:{ID}}}", orders.OrderDetail(order_store))
    app.add_route(f"/api/orders/{{order_id:{ID}}}/cancel", orders.OrderCancel(order_store, lifecycle))

    pay = payments.Payments(order_store, stripe)
    app.add_route("/api/payment/config", payments.Config(settings))
    app.add_route("/api/payment/create-intent", payments.CreateIntent(settings, pay))
    app.add_route("/api/payment/confirm-test", payments.ConfirmTest(settings, pay))
    app.add_route("/api/webhook/stripe", payments.Webhook(settings, payment_store, lifecycle,
                                                          catalogue))

    # unknown paths get the JSON 404 (Falcon's not-found goes through errors.py like every
    # other error); with the storefront served here, unknown paths outside /api/ are its own
    if settings.serve_storefront:
        storefront.install(app)
    return app
