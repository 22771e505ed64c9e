"""Security headers on every answer of the app, set here once (the storefront's, where the app
serves it, are app/storefront.py's; nginx sets them where it serves the storefront).

The API answers JSON only: nothing may sniff it into something else, frame it, or load
anything from it. Answers that carry tokens, carts, orders or payments are never stored by a
browser or a proxy."""
from __future__ import annotations

from app.storefront import STOREFRONT_HEADERS

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
PRIVATE = ("/api/auth/", "/api/cart", "/api/orders", "/api/payment/")


class SecurityHeaders:
    def process_response(self, req, resp, resource, req_succeeded):
        if req.context.get("storefront"):     # app/storefront.py: its own headers
            resp.set_headers(STOREFRONT_HEADERS)
            return
        resp.set_headers(HEADERS)
        if req.path.startswith(PRIVATE):
            resp.set_header("Cache-Control", "no-store")
