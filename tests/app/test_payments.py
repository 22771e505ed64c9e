"""Stripe through the real SDK against the fake Stripe: one intent per order, the signed
webhook applied exactly once, stock back on the shelf when a payment is canceled."""
import json
import time
import uuid

import pytest
import requests
import stripe

from fakestripe.server import sign

from conftest import stock_of


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def place_order(api, make_product, *, stock=10, qty=2, price="24.95"):
    token = api.token()
    pid = make_product(stock=stock, price=price)
    api.post("/api/cart", token=token, json={"product_id": pid, "quantity": qty})
    r = api.post("/api/orders", token=token)
    assert r.status_code == 201, r.text
    return token, r.json["data"]["id"], pid


def order_row(db, oid):
    return db.execute("SELECT status, payment_status, stripe_payment_intent_id, updated_at"
                      " FROM orders WHERE id = %s", (oid,)).fetchone()


def test_config(api):
    assert api.get("/api/payment/config").json["data"] == {
        "publishable_key": "pk_test_shoplab_devstack", "test_mode": True}


def test_one_intent_per_order(api, db, stack, make_product):
    token, oid, _ = place_order(api, make_product)
    first = api.post("/api/payment/create-intent", token=token, json={"order_id": oid})
    assert first.status_code == 200, first.text
    data = first.json["data"]
    assert data["amount"] == 4990 and data["client_secret"].startswith(data["payment_intent_id"])
    again = api.post("/api/payment/create-intent", token=token, json={"order_id": oid}).json
    assert again["data"]["payment_intent_id"] == data["payment_intent_id"]
    assert order_row(db, oid)[2] == data["payment_intent_id"]
    intent = requests.get(f"{stack.stripe_api_base}/v1/payment_intents/{data['payment_intent_id']}",
                          headers=_fake_auth(stack), timeout=5).json()
    assert intent["metadata"]["order_id"] == str(oid) and intent["currency"] == "usd"
    r = api.post("/api/payment/create-intent", token=api.token(), json={"order_id": oid})
    assert (r.status_code, r.json["error"]["code"]) == (403, "FORBIDDEN")
    r = api.post("/api/payment/create-intent", token=token, json={"order_id": 987654321})
    assert (r.status_code, r.json["error"]["code"]) == (404, "NOT_FOUND")


def test_confirm_then_webhook_marks_paid(api, db, make_product):
    token, oid, _ = place_order(api, make_product)
    r = api.post("/api/payment/confirm-test", token=token, json={"order_id": oid})
    assert r.status_code == 200 and r.json["data"]["status"] == "succeeded"
    # Stripe (the fake) posts payment_intent.succeeded to the live shop through nginx
    wait_for(lambda: order_row(db, oid)[0] == "paid")
    assert order_row(db, oid)[1] == "succeeded"
    detail = api.get(f"/api/orders/{oid}", token=token).json["data"]
    assert (detail["status"], detail["payment_status"]) == ("paid", "succeeded")
    r = api.post("/api/payment/create-intent", token=token, json={"order_id": oid})
    assert (r.status_code, r.json["error"]["code"]) == (400, "ALREADY_PAID")


def test_declined_card(api, db, make_product):
    token, oid, _ = place_order(api, make_product)
    r = api.post("/api/payment/confirm-test", token=token,
                 json={"order_id": oid, "payment_method": "pm_card_chargeDeclined"})
    assert r.status_code == 200 and r.json["data"]["decline_code"] == "card_declined"
    wait_for(lambda: order_row(db, oid)[1] == "failed")
    assert order_row(db, oid)[0] == "pending"  # a failed payment can be retried


def _fake_auth(stack):
    """The fake Stripe answers only to the stack's secret key (its /_fake/ routes too)."""
    return {"Authorization": f"Bearer {stack.stripe_secret_key}"}


def _events(stack, intent_id):
    data = requests.get(f"{stack.stripe_api_base}/_fake/events", headers=_fake_auth(stack),
                        timeout=5).json()["data"]
    return [e for e in data if e["event"]["data"]["object"]["id"] == intent_id]


def test_replayed_event_changes_nothing(api, db, stack, make_product):
    token, oid, _ = place_order(api, make_product)
    intent_id = api.post("/api/payment/confirm-test", token=token,
                         json={"order_id": oid}).json["data"]["payment_intent_id"]
    wait_for(lambda: order_row(db, oid)[0] == "paid")
    event = wait_for(lambda: [e for e in _events(stack, intent_id) if e["delivered"]])[0]
    before = order_row(db, oid)
    r = requests.post(f"{stack.stripe_api_base}/_fake/events/{event['event']['id']}/resend",
                      headers=_fake_auth(stack), timeout=15)
    assert r.json() == {"delivered": True}
    assert order_row(db, oid) == before  # updated_at included: nothing was written
    assert db.execute("SELECT count(*) FROM stripe_events WHERE id = %s",
                      (event["event"]["id"],)).fetchone()[0] == 1


def _signed(stack, event: dict, secret=None):
    payload = json.dumps(event)
    return payload, {"Stripe-Signature": sign(payload, secret or stack.secrets["webhook_secret"]),
                     "Content-Type": "application/json"}


def _event(type_, oid, intent_id="pi_test"):
    return {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": type_,
            "created": int(time.time()), "livemode": False, "api_version": "2024-06-20",
            "data": {"object": {"id": intent_id, "object": "payment_intent",
                                "metadata": {"order_id": str(oid)}}}}


def test_bad_signatures_are_400(api, stack, make_product):
    _, oid, _ = place_order(api, make_product)
    event = _event("payment_intent.succeeded", oid)
    payload, headers = _signed(stack, event, secret="whsec_wrong")
    for hdrs in (headers, {"Stripe-Signature": "t=1,v1=00"}, {}):
        r = api.post("/api/webhook/stripe", body=payload, headers=hdrs)
        assert (r.status_code, r.json["error"]["code"]) == (400, "INVALID_SIGNATURE")
    # a valid signature over a different body does not count either
    _, headers = _signed(stack, event)
    r = api.post("/api/webhook/stripe", body=payload.replace("succeeded", "canceled"),
                 headers=headers)
    assert r.status_code == 400


def test_cancel_restores_stock_once(api, db, stack, make_product):
    _, oid, pid = place_order(api, make_product, stock=10, qty=4)
    assert stock_of(db, pid) == 6
    event = _event("payment_intent.canceled", oid)
    payload, headers = _signed(stack, event)
    r = api.post("/api/webhook/stripe", body=payload, headers=headers)
    assert r.json["data"] == {"received": True, "result": "applied"}
    assert order_row(db, oid)[:2] == ("canceled", "canceled")
    assert stock_of(db, pid) == 10
    # the same event again, and another cancel event for the same order: no second refill
    r = api.post("/api/webhook/stripe", body=payload, headers=headers)
    assert r.json["data"]["result"] == "duplicate"
    payload2, headers2 = _signed(stack, _event("payment_intent.canceled", oid))
    assert api.post("/api/webhook/stripe", body=payload2, headers=headers2
                    ).json["data"]["result"] == "ignored"
    # a late success cannot resurrect a canceled order
    payload3, headers3 = _signed(stack, _event("payment_intent.succeeded", oid))
    assert api.post("/api/webhook/stripe", body=payload3, headers=headers3
                    ).json["data"]["result"] == "ignored"
    assert stock_of(db, pid) == 10 and order_row(db, oid)[0] == "canceled"


def test_unknown_events_are_acknowledged(api, stack):
    payload, headers = _signed(stack, _event("charge.refunded", 1))
    r = api.post("/api/webhook/stripe", body=payload, headers=headers)
    assert r.status_code == 200 and r.json["data"]["result"] == "ignored"
    payload, headers = _signed(stack, _event("payment_intent.succeeded", 987654321, "pi_none"))
    assert api.post("/api/webhook/stripe", body=payload, headers=headers
                    ).json["data"]["result"] == "no_order"


def test_fake_stripe_honours_idempotency_keys(stack):
    client = stripe.StripeClient(stack.stripe_secret_key,
                                 base_addresses={"api": stack.stripe_api_base})
    key = f"test-{uuid.uuid4().hex}"
    params = {"amount": 1000, "currency": "usd"}
    a = client.v1.payment_intents.create(params=params, options={"idempotency_key": key})
    b = client.v1.payment_intents.create(params=params, options={"idempotency_key": key})
    assert a.id == b.id
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd"},
                                         options={"idempotency_key": key})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.retrieve("pi_doesnotexist")
    assert exc.value.code == "resource_missing"
    canceled = client.v1.payment_intents.cancel(a.id)
    assert canceled.status == "canceled"
