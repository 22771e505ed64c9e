"""Security headers on every answer of the app, set here once (nginx sets the storefront's).

The API answers JSON only: nothing may sniff it into something else, frame it, or load
anything from it. Answers that carry tokens, carts, orders or payments are never stored by a
browser or a proxy."""
from __future__ import annotations

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
PRIVATE = ("/api/auth/", "/api/cart", "/api/orders", "/api/payment/")


class SecurityHeaders:
    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_headers(HEADERS)
        if req.path.startswith(PRIVATE):
            resp.set_header("Cache-Control", "no-store")
