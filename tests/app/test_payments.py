"""Stripe through the real SDK against the fake Stripe: one intent per order, the signed
webhook applied exactly once and only to the order whose intent and amount it names, stock
back on the shelf when a payment is canceled, refunds and disputes, events in any order."""
import json
import time
import uuid

import requests

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
    assert (r.status_code, r.json["error"]["code"]) == (404, "NOT_FOUND")
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
    assert (r.status_code, r.json["error"]["code"]) == (409, "ALREADY_PAID")


def test_declined_card(api, db, make_product):
    token, oid, _ = place_order(api, make_product)
    r = api.post("/api/payment/confirm-test", token=token,
                 json={"order_id": oid, "payment_method": "pm_card_chargeDeclined"})
    assert r.status_code == 200 and r.json["data"]["decline_code"] == "generic_decline"
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


def deliver(api, stack, event: dict) -> str:
    """Post a signed event to the in-process app: its result."""
    payload, headers = _signed(stack, event)
    r = api.post("/api/webhook/stripe", body=payload, headers=headers)
    assert r.status_code == 200, r.text
    return r.json["data"]["result"]


def _event(type_, obj: dict) -> dict:
    return {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": type_,
            "created": int(time.time()), "livemode": False, "api_version": "2024-06-20",
            "data": {"object": obj}}


def intent_event(type_, intent_id, oid, amount=None, currency="usd", **extra) -> dict:
    return _event(type_, {"id": intent_id, "object": "payment_intent", "amount": amount,
                          "amount_received": amount if type_.endswith("succeeded") else 0,
                          "currency": currency, "metadata": {"order_id": str(oid)}, **extra})


def charge_event(type_, intent_id, amount, **extra) -> dict:
    return _event(type_, {"id": f"ch_{uuid.uuid4().hex[:24]}", "object": "charge",
                          "payment_intent": intent_id, "amount": amount, "currency": "usd",
                          **extra})


def order_with_intent(api, make_product, **kw):
    """A pending order whose PaymentIntent exists (not confirmed): (token, oid, pid, intent, cents)."""
    token, oid, pid = place_order(api, make_product, **kw)
    data = api.post("/api/payment/create-intent", token=token, json={"order_id": oid}).json["data"]
    return token, oid, pid, data["payment_intent_id"], data["amount"]


def test_cancel_restores_stock_once(api, db, stack, make_product):
    _, oid, pid, intent, amount = order_with_intent(api, make_product, stock=10, qty=4)
    assert stock_of(db, pid) == 6
    event = intent_event("payment_intent.canceled", intent, oid)
    assert deliver(api, stack, event) == "applied"
    assert order_row(db, oid)[:2] == ("canceled", "canceled")
    assert stock_of(db, pid) == 10
    # the same event again, and another cancel event for the same order: no second refill
    assert deliver(api, stack, event) == "duplicate"
    assert deliver(api, stack, intent_event("payment_intent.canceled", intent, oid)) == "ignored"
    # a success arriving after the cancel cannot resurrect the order: it is a late payment,
    # recorded for a refund
    late = intent_event("payment_intent.succeeded", intent, oid, amount)
    assert deliver(api, stack, late) == "late_payment"
    assert stock_of(db, pid) == 10 and order_row(db, oid)[0] == "canceled"
    assert db.execute("SELECT order_id FROM late_payments WHERE payment_intent_id = %s",
                      (intent,)).fetchone() == (oid,)


def test_payment_must_match_the_order(api, db, stack, make_product):
    _, oid, _, intent, amount = order_with_intent(api, make_product)
    for event in (intent_event("payment_intent.succeeded", intent, oid, amount - 1),
                  intent_event("payment_intent.succeeded", intent, oid, amount, "eur"),
                  # another intent naming this order in its metadata (a payment link, another
                  # environment sharing the Stripe account)
                  intent_event("payment_intent.succeeded", "pi_foreign", oid, amount)):
        assert deliver(api, stack, event) == "mismatch"
    assert order_row(db, oid)[:2] == ("pending", "pending")
    reasons = [r[0] for r in db.execute(
        "SELECT detail->>'reason' FROM order_events WHERE kind = 'payment_mismatch'"
        " AND (order_id = %s OR detail->>'intent' = 'pi_foreign') ORDER BY id DESC LIMIT 3",
        (oid,))]
    assert set(reasons) == {"amount", "currency", "unknown_intent"}
    assert deliver(api, stack, intent_event("payment_intent.succeeded", intent, oid, amount)) \
        == "applied"
    assert order_row(db, oid)[:2] == ("paid", "succeeded")


def test_intent_not_yet_stored_is_adopted_only_by_its_order(api, db, stack, make_product):
    _, oid, _ = place_order(api, make_product)  # no create-intent: no intent id stored
    ref, total = db.execute("SELECT ref::text, total FROM orders WHERE id = %s", (oid,)).fetchone()
    amount = int(total * 100)
    wrong = intent_event("payment_intent.succeeded", "pi_other_ref", oid, amount)
    wrong["data"]["object"]["metadata"]["order_ref"] = "00000000-0000-0000-0000-000000000000"
    assert deliver(api, stack, wrong) == "mismatch"
    right = intent_event("payment_intent.succeeded", "pi_adopted_" + uuid.uuid4().hex[:8], oid,
                         amount)
    right["data"]["object"]["metadata"]["order_ref"] = ref
    assert deliver(api, stack, right) == "applied"
    assert order_row(db, oid)[:3] == ("paid", "succeeded", right["data"]["object"]["id"])


def test_refunds_and_disputes(api, db, stack, make_product):
    _, oid, pid, intent, amount = order_with_intent(api, make_product, stock=10, qty=2)
    assert deliver(api, stack, intent_event("payment_intent.succeeded", intent, oid, amount)) \
        == "applied"
    assert deliver(api, stack, charge_event("charge.dispute.created", intent, amount)) == "applied"
    assert order_row(db, oid)[:2] == ("paid", "disputed")
    assert deliver(api, stack, charge_event("charge.dispute.closed", intent, amount,
                                            status="won")) == "applied"
    assert order_row(db, oid)[:2] == ("paid", "succeeded")
    assert deliver(api, stack, charge_event("charge.refunded", intent, amount, refunded=False,
                                            amount_refunded=100)) == "applied"
    assert order_row(db, oid)[:2] == ("paid", "partially_refunded")
    assert deliver(api, stack, charge_event("charge.refunded", intent, amount, refunded=True,
                                            amount_refunded=amount)) == "applied"
    # refunded; the goods of a paid order may have shipped: the stock is not put back
    assert order_row(db, oid)[:2] == ("refunded", "refunded")
    assert stock_of(db, pid) == 8
    # a lost dispute on another order takes it to refunded as well
    _, oid2, _, intent2, amount2 = order_with_intent(api, make_product)
    deliver(api, stack, intent_event("payment_intent.succeeded", intent2, oid2, amount2))
    assert deliver(api, stack, charge_event("charge.dispute.closed", intent2, amount2,
                                            status="lost")) == "applied"
    assert order_row(db, oid2)[0] == "refunded"


def test_events_in_any_order(api, db, stack, make_product):
    # refund reported before the payment: the order ends refunded, its stock back, once
    _, oid, pid, intent, amount = order_with_intent(api, make_product, stock=10, qty=3)
    assert deliver(api, stack, charge_event("charge.refunded", intent, amount, refunded=True,
                                            amount_refunded=amount)) == "applied"
    assert deliver(api, stack, intent_event("payment_intent.succeeded", intent, oid, amount)) \
        == "ignored"
    assert order_row(db, oid)[0] == "refunded" and stock_of(db, pid) == 10
    # failed or canceled after succeeded: the order stays paid, its stock taken
    _, oid, pid, intent, amount = order_with_intent(api, make_product, stock=10, qty=3)
    deliver(api, stack, intent_event("payment_intent.succeeded", intent, oid, amount))
    assert deliver(api, stack, intent_event("payment_intent.payment_failed", intent, oid)) \
        == "ignored"
    assert deliver(api, stack, intent_event("payment_intent.canceled", intent, oid)) == "ignored"
    assert order_row(db, oid)[:2] == ("paid", "succeeded") and stock_of(db, pid) == 7
    # failed, then succeeded (a second card): paid
    _, oid, _, intent, amount = order_with_intent(api, make_product)
    assert deliver(api, stack, intent_event("payment_intent.payment_failed", intent, oid)) \
        == "applied"
    assert order_row(db, oid)[:2] == ("pending", "failed")
    assert deliver(api, stack, intent_event("payment_intent.succeeded", intent, oid, amount)) \
        == "applied"
    assert order_row(db, oid)[:2] == ("paid", "succeeded")


def test_other_events_are_acknowledged(api, stack):
    assert deliver(api, stack, _event("customer.created", {"id": "cus_1"})) == "ignored"
    assert deliver(api, stack, intent_event("payment_intent.succeeded", "pi_none", 987654321,
                                            100)) == "mismatch"


def test_bad_signatures_are_400(api, stack, make_product):
    _, oid, _ = place_order(api, make_product)
    event = intent_event("payment_intent.succeeded", "pi_test", oid, 100)
    payload, headers = _signed(stack, event, secret="whsec_wrong")
    for hdrs in (headers, {"Stripe-Signature": "t=1,v1=00"}, {}):
        r = api.post("/api/webhook/stripe", body=payload, headers=hdrs)
        assert (r.status_code, r.json["error"]["code"]) == (400, "INVALID_SIGNATURE")
    # a valid signature over a different body does not count either
    _, headers = _signed(stack, event)
    r = api.post("/api/webhook/stripe", body=payload.replace("succeeded", "canceled"),
                 headers=headers)
    assert r.status_code == 400
