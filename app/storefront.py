"""The storefront (app/static/) served by the app itself where no nginx stands in front of it:
stages 3 and 4, whose ALB and Istio gateway send every path to the app (SERVE_STOREFRONT).

It answers as the nginx role does: the files at /, index.html for any other path (the
storefront's own routes, nginx's ``try_files``), with the storefront's headers
(STOREFRONT_HEADERS; a test holds the nginx role's ``nginx_storefront_csp`` equal to
STOREFRONT_CSP). The API's routes come first (Falcon tries sinks only when no route matches),
and a path under /api/ that no route knows stays the API's JSON 404.
"""
from __future__ import annotations

from pathlib import Path

import falcon
from falcon.routing import StaticRoute

STATIC_DIR = Path(__file__).resolve().parent / "static"
# its own modules, styles and images, the API on the same origin, and Stripe.js with its
# Payment Element (app/static/js/checkout.js loads js.stripe.com only for a real key)
STOREFRONT_CSP = (
    "default-src 'self'",
    "script-src 'self' https://js.stripe.com https://*.js.stripe.com",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self' https://api.stripe.com",
    "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
STOREFRONT_HEADERS = {
    "Content-Security-Policy": "; ".join(STOREFRONT_CSP),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


class Storefront(StaticRoute):
    """app/static/ at /, index.html for paths that name no file; marks the request so the
    security-headers middleware sends the storefront's headers instead of the API's."""

    def __init__(self):
        super().__init__("/", str(STATIC_DIR), fallback_filename="index.html")

    def __call__(self, req, resp, **kwargs):
        req.context.storefront = True
        super().__call__(req, resp, **kwargs)


def api_not_found(req, resp, **kwargs):
    raise falcon.HTTPNotFound()


def install(app: falcon.App) -> None:
    # sinks are tried last added first: /api/ before the storefront's catch-all
    app.add_sink(Storefront(), "/")
    app.add_sink(api_not_found, "/api/")
