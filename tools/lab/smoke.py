#!/usr/bin/env python3
"""Buy one product through the shop's front door: the lab's smoke test and the stage-2
molecule scenario's purchase check. Standard library only, so it also runs inside the hosts.

    python3 tools/lab/smoke.py https://127.0.0.1:8442 --cafile .state/lab-ca/ca.crt \
        [--redirect-from http://127.0.0.1:8082] [--min-products 50] [--spread 20] \
        [--prometheus http://127.0.0.1:9092]

Steps: the plain-HTTP redirect (--redirect-from: a 301 to the same path on base_url, no HSTS),
storefront page (HSTS on an https base_url), /readyz, product list, register, add to cart, order,
payment intent, test-mode confirmation, then the order turns "paid" once the (fake) Stripe
webhook arrives. --cafile: the only CA trusted for an https base_url. --prometheus: the lab's
Prometheus must scrape every target it is configured with (within PROMETHEUS_WAIT_S): it answers
queries while it scrapes nothing of a host, so the capacity figures would be silently empty.
Prints one JSON summary line; exit status 1 on the first failed step.
"""
from __future__ import annotations

import argparse
import json
import ssl
import sys
import time
import urllib.error
import urllib.request
import uuid

PAID_WAIT_S = 30  # the webhook is asynchronous: how long the order may take to turn paid
PROMETHEUS_WAIT_S = 60  # a fresh deploy's first scrapes (the scrape interval is seconds)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None     # a 3xx reaches the caller as an HTTPError


class Shop:
    def __init__(self, base: str, run: str, cafile: str | None = None):
        self.base, self.run, self.n, self.token = base.rstrip("/"), run, 0, None
        self.opener = urllib.request.build_opener(
            NoRedirect, urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cafile)))
        self.headers = {}    # of the last answer

    def call(self, method: str, path: str, body=None, expect=(200,)):
        self.n += 1
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("X-Request-ID", f"smoke-{self.run}-{self.n}")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with self.opener.open(req, timeout=15) as resp:
                status, raw, self.headers = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as err:
            status, raw, self.headers = err.code, err.read(), err.headers
        if status not in expect:
            raise AssertionError(f"{method} {path}: HTTP {status} {raw[:300]!r}")
        if path.startswith(("/api/", "/readyz")) and status < 300:
            return json.loads(raw)
        return raw.decode(errors="replace")


def check_redirect(plain: str, base: str, cafile: str | None) -> None:
    """Plain HTTP answers only a permanent redirect to the same path on the HTTPS base."""
    path = "/api/products?per_page=1"
    shop = Shop(plain, "redirect", cafile)
    shop.call("GET", path, expect=(301,))
    assert shop.headers.get("Location") == base.rstrip("/") + path, shop.headers.get("Location")
    assert "Strict-Transport-Security" not in shop.headers, "HSTS over plain HTTP"


def check_prometheus(url: str) -> list[str]:
    """Every active scrape target of the Prometheus at ``url`` is up; returns them as "job host"."""
    deadline, down = time.monotonic() + PROMETHEUS_WAIT_S, None
    while True:
        with urllib.request.urlopen(url.rstrip("/") + "/api/v1/targets?state=active", timeout=5) as r:
            targets = json.load(r)["data"]["activeTargets"]
        names = {t["scrapePool"] + " " + t["labels"].get("host", t["labels"].get("instance", "?")): t
                 for t in targets}
        down = sorted(n for n, t in names.items() if t["health"] != "up")
        if (targets and not down) or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert targets, f"Prometheus at {url} has no scrape targets"
    assert not down, "Prometheus cannot scrape: " + "; ".join(
        f"{n} ({names[n]['scrapeUrl']}: {names[n]['lastError'] or names[n]['health']})" for n in down)
    return sorted(names)


def buy(base: str, min_products: int, spread: int, cafile: str | None = None) -> dict:
    shop, steps, t0 = Shop(base, uuid.uuid4().hex[:8], cafile), {}, time.monotonic()

    def step(name, fn):
        start = time.monotonic()
        result = fn()
        steps[name] = round((time.monotonic() - start) * 1000, 1)
        return result

    page = step("storefront", lambda: shop.call("GET", "/"))
    assert "<html" in page.lower(), "storefront: no HTML page at /"
    if base.startswith("https:"):
        assert shop.headers.get("Strict-Transport-Security"), "no HSTS on an HTTPS answer"
    step("readyz", lambda: shop.call("GET", "/readyz"))
    listing = step("products", lambda: shop.call("GET", "/api/products?per_page=5"))["data"]
    total = listing["pagination"]["total"]
    assert total >= min_products, f"catalogue has {total} products, expected >= {min_products}"
    product = next(p for p in listing["products"] if p["stock"] > 0)
    email = f"smoke-{shop.run}@shoplab.test"
    reg = step("register", lambda: shop.call(
        "POST", "/api/auth/register", {"email": email, "password": "smoke-password-1",
                                       "first_name": "Smoke", "last_name": "Test"}, (201,)))
    shop.token = reg["data"]["token"]
    step("add_to_cart", lambda: shop.call("POST", "/api/cart",
                                          {"product_id": product["id"], "quantity": 1}))
    cart = step("cart", lambda: shop.call("GET", "/api/cart"))["data"]
    assert len(cart["items"]) == 1, cart
    order = step("order", lambda: shop.call("POST", "/api/orders", None, (200, 201)))["data"]
    step("create_intent", lambda: shop.call("POST", "/api/payment/create-intent",
                                            {"order_id": order["id"]}))
    step("confirm_test", lambda: shop.call("POST", "/api/payment/confirm-test",
                                           {"order_id": order["id"]}))
    deadline, status = time.monotonic() + PAID_WAIT_S, None
    while time.monotonic() < deadline:
        status = shop.call("GET", f"/api/orders/{order['id']}")["data"]["status"]
        if status == "paid":
            break
        time.sleep(0.5)
    assert status == "paid", f"order {order['id']} still {status!r} after {PAID_WAIT_S}s"
    for _ in range(spread):  # more requests, so a load balancer shows its spread in the logs
        shop.call("GET", "/api/products?per_page=1")
    return {"ok": True, "base": base, "products": total, "order_id": order["id"],
            "order_total": order["total"], "status": status, "run": shop.run,
            "steps_ms": steps, "total_s": round(time.monotonic() - t0, 2)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base_url")
    p.add_argument("--min-products", type=int, default=1)
    p.add_argument("--spread", type=int, default=0, help="extra product-list requests")
    p.add_argument("--cafile", help="the CA to trust for an https base_url (default: the system's)")
    p.add_argument("--redirect-from", help="the shop's plain-HTTP URL: must redirect to base_url")
    p.add_argument("--prometheus", help="the lab's Prometheus: must scrape every target")
    args = p.parse_args(argv)
    try:
        if args.redirect_from:
            check_redirect(args.redirect_from, args.base_url, args.cafile)
        summary = buy(args.base_url, args.min_products, args.spread, args.cafile)
        if args.prometheus:
            summary["prometheus_targets_up"] = len(check_prometheus(args.prometheus))
        print(json.dumps(summary))
    except (AssertionError, OSError, KeyError, StopIteration, ValueError) as exc:
        print(json.dumps({"ok": False, "base": args.base_url, "error": str(exc)}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
