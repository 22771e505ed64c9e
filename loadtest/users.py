"""The simulated users: the reference's two k6 scenarios, exactly, and a full shopper journey.

- ``ListingUser``: the stage-1 ramp's iteration (load-test.js): GET /api/products, 1 s sleep.
- ``MixUser``: the stage-3 mix (load-test-stage3.js): 40% list, 30% detail of product 1..50,
  15% search for electronics|clothing|home, 15% list again; think time uniform 0.5-2.5 s;
  a response counts as failed unless it is a 200 with valid JSON and ``success: true``.
- ``ShopperUser``: register once, then per journey log in, browse, search, add to the cart,
  change a quantity, check out, pay through the fake Stripe and read the order history - so
  the writes, and the pool under writes, are measured too. It reads the storefront's first
  page like any shopper but buys only from the load test's own catalogue
  (loadtest/journey_catalogue.py), so the reference's products keep their stock.

Every user has its own client address (loadtest/clients.py), sent as ``X-Forwarded-For`` on
each of its requests.
"""
from __future__ import annotations

import os
import random
import uuid

import gevent.ssl
from locust import FastHttpUser, SequentialTaskSet, between, constant, task

from loadtest import reference
from loadtest.clients import CLIENT_HEADER, client_address
from loadtest.envelope import OUT_OF_STOCK, check_envelope
from loadtest.journey_catalogue import LISTING_PATH, NO_CATALOGUE, buyable

DETAIL_IDS = reference.STAGE3_DETAIL_IDS
PASSWORD = "loadtest-password-1"


def _verifying_context(cafile=None):
    """geventhttpclient hands certifi's bundle as ``cafile``: a lab client trusts the CA of
    SSL_CERT_FILE instead (edge/lab.py trust_ca), else the system's."""
    return gevent.ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE"))


class ShopClient(FastHttpUser):
    """A user with its own client address, sent as X-Forwarded-For on every request; over
    HTTPS it verifies the shop's certificate, as a browser does."""
    abstract = True
    insecure = False
    ssl_context_factory = staticmethod(_verifying_context)

    def __init__(self, environment):
        self.client_address = client_address()
        # FastHttpUser.__init__ hands default_headers to the user's own HTTP session
        self.default_headers = {CLIENT_HEADER: self.client_address}
        super().__init__(environment)


class ListingUser(ShopClient):
    """Stage-1 ramp: one listing per iteration, 1 s think time."""
    wait_time = constant(reference.STAGE1_THINK_S)

    @task
    def list_products(self):
        with self.client.get("/api/products", name="list", catch_response=True) as r:
            check_envelope(r)


class MixUser(ShopClient):
    """Stage-3 mix of list / detail / search / list."""
    wait_time = between(*reference.STAGE3_THINK_S)

    def _get(self, path: str, name: str):
        with self.client.get(path, name=name, catch_response=True) as r:
            check_envelope(r)

    @task(reference.STAGE3_MIX["list"])
    def list_products(self):
        self._get("/api/products", "list")

    @task(reference.STAGE3_MIX["detail"])
    def product_detail(self):
        self._get(f"/api/products/{random.choice(DETAIL_IDS)}", "detail")

    @task(reference.STAGE3_MIX["search"])
    def search(self):
        self._get(f"/api/products/search?q={random.choice(reference.STAGE3_SEARCH_TERMS)}",
                  "search")

    @task(reference.STAGE3_MIX["list_again"])
    def list_again(self):
        self._get("/api/products", "list")


class Journey(SequentialTaskSet):
    """One shopping trip; every step is a separate request named for the stats table."""

    def _call(self, method: str, path: str, name: str, json=None, ok=(200,),
              expected=frozenset()) -> dict | None:
        headers = {"Authorization": f"Bearer {self.user.token}"} if self.user.token else {}
        with self.client.request(method, path, name=name, json=json, headers=headers,
                                 catch_response=True) as r:
            body = check_envelope(r, ok, expected)
            return body.get("data") if body else None

    @task
    def login(self):
        if not self.user.registered:      # its registration failed: try again, not log in
            self.user.register()
            return
        data = self._call("POST", "/api/auth/login", "login",
                          json={"email": self.user.email, "password": PASSWORD})
        if data:
            self.user.token = data["token"]

    @task
    def browse(self):
        # the storefront's first page and the categories: read, as a shopper arrives
        self._call("GET", "/api/products?per_page=20", "list")
        self._call("GET", "/api/categories", "categories")
        # what this journey may buy: the load-test category, never the reference's products
        headers = {"Authorization": f"Bearer {self.user.token}"} if self.user.token else {}
        with self.client.get(LISTING_PATH, name="list by category", headers=headers,
                             catch_response=True) as r:
            body = check_envelope(r)
            if body is not None:
                self.user.seen = buyable((body.get("data") or {}).get("products") or [])
                if not self.user.seen:
                    r.failure(NO_CATALOGUE)

    @task
    def look_closer(self):
        for pid in random.sample(self.user.seen, min(2, len(self.user.seen))):
            self._call("GET", f"/api/products/{pid}", "detail")
        self._call("GET", f"/api/products/search?q="
                   f"{random.choice(reference.STAGE3_SEARCH_TERMS)}", "search")

    @task
    def fill_cart(self):
        if not self.user.seen:
            self.interrupt(reschedule=False)
            return
        pid = random.choice(self.user.seen)
        if self._call("POST", "/api/cart", "cart add", json={"product_id": pid, "quantity": 1},
                      ok=(200, 201), expected=OUT_OF_STOCK) is not None:
            self._call("PUT", f"/api/cart/{pid}", "cart set quantity", json={"quantity": 2},
                       expected=OUT_OF_STOCK)
        cart = self._call("GET", "/api/cart", "cart") or {}
        self.user.cart_filled = bool(cart.get("items"))

    @task
    def checkout_and_pay(self):
        if not self.user.cart_filled:     # sold out under our feet: nothing to buy this time
            return
        order = self._call("POST", "/api/orders", "checkout", ok=(200, 201),
                           expected=OUT_OF_STOCK)
        if not order:
            # someone bought the last ones first: empty the cart, as a shopper would
            self._call("DELETE", "/api/cart/clear", "cart clear")
            return
        oid = order["id"]
        self._call("POST", "/api/payment/create-intent", "payment intent", json={"order_id": oid})
        self._call("POST", "/api/payment/confirm-test", "payment confirm", json={"order_id": oid})

    @task
    def history(self):
        orders = self._call("GET", "/api/orders", "orders") or []
        if orders:
            self._call("GET", f"/api/orders/{orders[0]['id']}", "order detail")
        self.interrupt(reschedule=False)  # journey over: wait, then start another


class ShopperUser(ShopClient):
    """A shopper: registers once, then repeats the journey with the stage-3 think time."""
    wait_time = between(*reference.STAGE3_THINK_S)
    tasks = [Journey]

    def on_start(self):
        self.email = f"load-{uuid.uuid4().hex[:16]}@example.test"
        self.token, self.registered, self.cart_filled = None, False, False
        self.seen: list[int] = []   # filled by browse() from the load-test catalogue
        self.register()

    def register(self):
        with self.client.post("/api/auth/register", name="register", catch_response=True,
                              json={"email": self.email, "password": PASSWORD,
                                    "first_name": "Load", "last_name": "Test"}) as r:
            if r.status_code in (200, 201):
                self.token, self.registered = r.json()["data"]["token"], True
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}")
