"""Holds that expire and the owner's cancel, by the rule that decides every race: stock goes
back only once the intent is canceled at Stripe; an intent Stripe says succeeded makes the
order paid; Stripe unreachable keeps the hold; a payment after the order closed is refunded.

These tests run their own fake Stripe that sends no webhooks, so that each race is set up by
hand (the session's fake would deliver every event to the live shop at once)."""
import threading

import pytest
import stripe
from falcon.testing import TestClient

from app import create_app
from app.reaper import Reaper
from fakestripe.server import FakeStripe, serve
from test_payments import deliver, intent_event, order_row

from conftest import Api, settings_for, stock_of


@pytest.fixture(scope="module")
def quiet_stripe(stack):
    """A fake Stripe of this module's own, without webhooks: its base URL."""
    fake = FakeStripe(secret_key=stack.stripe_secret_key)
    server = serve("127.0.0.1", 0, fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def settings(stack, quiet_stripe):
    return settings_for(stack, stripe_api_base=quiet_stripe)


@pytest.fixture(scope="module")
def shop(settings):
    app = create_app(settings)
    yield Api(app, "pgbouncer")
    app.close()


@pytest.fixture
def reaper(settings):
    r = Reaper(settings)
    yield r
    r.close()


@pytest.fixture
def stripe_client(settings):
    return stripe.StripeClient(settings.stripe_secret_key,
                               base_addresses={"api": settings.stripe_api_base})


def checkout(shop, make_product, *, stock=10, qty=3, intent=True):
    """A pending order: (token, order id, product id, intent id or None)."""
    token = shop.token()
    pid = make_product(stock=stock, price="12.50")
    shop.post("/api/cart", token=token, json={"product_id": pid, "quantity": qty})
    oid = shop.post("/api/orders", token=token).json["data"]["id"]
    intent_id = None
    if intent:
        intent_id = shop.post("/api/payment/create-intent", token=token,
                              json={"order_id": oid}).json["data"]["payment_intent_id"]
    return token, oid, pid, intent_id


def lapse(db, *order_ids):
    db.execute("UPDATE orders SET hold_expires_at = now() - interval '1 second'"
               " WHERE id = ANY(%s)", (list(order_ids),))


def test_checkout_holds_stock_for_the_configured_time(shop, db, settings, make_product):
    _, oid, pid, _ = checkout(shop, make_product, intent=False)
    minutes = db.execute("SELECT extract(epoch FROM hold_expires_at - created_at) / 60"
                         " FROM orders WHERE id = %s", (oid,)).fetchone()[0]
    assert abs(float(minutes) - settings.order_hold_minutes) < 0.1
    assert stock_of(db, pid) == 7


def test_lapsed_hold_expires_cancels_the_intent_and_returns_stock(shop, db, reaper,
                                                                  stripe_client, make_product):
    _, oid, pid, intent_id = checkout(shop, make_product)
    _, no_intent, pid2, _ = checkout(shop, make_product, intent=False)
    lapse(db, oid, no_intent)
    done = reaper.run_pass()
    assert done["expired"] >= 2
    assert order_row(db, oid)[:2] == ("expired", "canceled")
    assert order_row(db, no_intent)[0] == "expired"
    assert (stock_of(db, pid), stock_of(db, pid2)) == (10, 10)
    intent = stripe_client.v1.payment_intents.retrieve(intent_id)
    assert (intent.status, intent.cancellation_reason) == ("canceled", "abandoned")
    # a second pass finds nothing more to do for them
    reaper.run_pass()
    assert (stock_of(db, pid), stock_of(db, pid2)) == (10, 10)
    assert db.execute("SELECT count(*) FROM order_events WHERE order_id = ANY(%s)"
                      " AND kind = 'stock_released'", ([oid, no_intent],)).fetchone()[0] == 2


def test_expiry_racing_a_successful_payment_keeps_the_sale(shop, db, stack, reaper,
                                                          stripe_client, make_product):
    _, oid, pid, intent_id = checkout(shop, make_product)
    # paid at Stripe, but the webhook has not arrived yet when the hold lapses
    stripe_client.v1.payment_intents.confirm(intent_id, params={"payment_method": "pm_card_visa"})
    lapse(db, oid)
    reaper.run_pass()
    assert order_row(db, oid)[:2] == ("paid", "succeeded")
    assert stock_of(db, pid) == 7
    # then the webhook: nothing more happens
    amount = stripe_client.v1.payment_intents.retrieve(intent_id).amount
    assert deliver(shop, stack, intent_event("payment_intent.succeeded", intent_id, oid,
                                             amount)) == "ignored"
    assert order_row(db, oid)[0] == "paid" and stock_of(db, pid) == 7


def test_payment_after_expiry_is_refunded(shop, db, stack, reaper, stripe_client, make_product):
    _, oid, pid, _ = checkout(shop, make_product, intent=False)
    lapse(db, oid)
    reaper.run_pass()
    assert order_row(db, oid)[0] == "expired" and stock_of(db, pid) == 10
    # an intent for that order still gets paid (created before the expiry, id not stored)
    ref, total = db.execute("SELECT ref::text, total FROM orders WHERE id = %s", (oid,)).fetchone()
    intent = stripe_client.v1.payment_intents.create(params={
        "amount": int(total * 100), "currency": "usd",
        "metadata": {"order_id": str(oid), "order_ref": ref}})
    stripe_client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    event = intent_event("payment_intent.succeeded", intent.id, oid, int(total * 100))
    event["data"]["object"]["metadata"]["order_ref"] = ref
    assert deliver(shop, stack, event) == "late_payment"
    # refunded through Stripe at once, recorded; the order stays expired, its stock free
    refund_id, refunded_at = db.execute(
        "SELECT refund_id, refunded_at FROM late_payments WHERE payment_intent_id = %s",
        (intent.id,)).fetchone()
    assert refund_id.startswith("re_") and refunded_at is not None
    charge = stripe_client.v1.charges.retrieve(
        stripe_client.v1.payment_intents.retrieve(intent.id).latest_charge)
    assert charge.refunded
    assert order_row(db, oid)[0] == "expired" and stock_of(db, pid) == 10
    # the replayed event does not refund twice
    assert deliver(shop, stack, event) == "duplicate"


def test_stripe_unreachable_keeps_the_hold(stack, shop, db, make_product):
    token, oid, pid, _ = checkout(shop, make_product)
    lapse(db, oid)
    unreachable = settings_for(stack, stripe_api_base="http://127.0.0.1:9", stripe_timeout=0.5,
                               stripe_max_retries=0)
    dead = Reaper(unreachable)
    assert dead.run_pass()["kept"] >= 1
    dead.close()
    assert order_row(db, oid)[0] == "pending" and stock_of(db, pid) == 7
    # the claim leased the order: it is retried after the lease, not at once
    assert db.execute("SELECT hold_expires_at > now() FROM orders WHERE id = %s",
                      (oid,)).fetchone()[0]
    # the owner's cancel answers 503 with Retry-After, changing nothing either
    app = create_app(unreachable)
    r = Api(app, "pgbouncer").post(f"/api/orders/{oid}/cancel", token=token)
    assert (r.status_code, r.json["error"]["code"]) == (503, "PAYMENT_PROVIDER_UNAVAILABLE")
    assert r.headers["retry-after"]
    assert order_row(db, oid)[0] == "pending" and stock_of(db, pid) == 7
    app.close()


def test_two_reapers_at_once_expire_each_order_once(settings, shop, db, make_product):
    orders = [checkout(shop, make_product, stock=10, qty=2)[1:3] for _ in range(12)]
    lapse(db, *[oid for oid, _ in orders])
    reapers = [Reaper(settings), Reaper(settings)]
    threads = [threading.Thread(target=r.run_pass) for r in reapers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for r in reapers:
        r.close()
    assert all(order_row(db, oid)[0] == "expired" for oid, _ in orders)
    assert all(stock_of(db, pid) == 10 for _, pid in orders)
    assert db.execute("SELECT count(*) FROM order_events WHERE kind = 'expired'"
                      " AND order_id = ANY(%s)", ([o for o, _ in orders],)).fetchone()[0] == 12


def test_owner_cancels_a_pending_order(shop, db, stripe_client, make_product):
    token, oid, pid, intent_id = checkout(shop, make_product)
    r = shop.post(f"/api/orders/{oid}/cancel", token=token)
    assert r.status_code == 200, r.text
    assert r.json["data"]["status"] == "canceled" and stock_of(db, pid) == 10
    intent = stripe_client.v1.payment_intents.retrieve(intent_id)
    assert (intent.status, intent.cancellation_reason) == ("canceled", "requested_by_customer")
    # again: the same answer, nothing more released
    again = shop.post(f"/api/orders/{oid}/cancel", token=token).json["data"]
    assert again == r.json["data"]
    assert stock_of(db, pid) == 10
    # not someone else's
    assert shop.post(f"/api/orders/{oid}/cancel", token=shop.token()).status_code == 404


def test_a_paid_order_cannot_be_canceled(shop, db, stripe_client, make_product):
    token, oid, pid, intent_id = checkout(shop, make_product)
    stripe_client.v1.payment_intents.confirm(intent_id, params={"payment_method": "pm_card_visa"})
    # the webhook has not arrived: Stripe's answer to the cancel decides, the order is paid
    r = shop.post(f"/api/orders/{oid}/cancel", token=token)
    assert (r.status_code, r.json["error"]["code"]) == (409, "ORDER_NOT_PENDING")
    assert order_row(db, oid)[0] == "paid" and stock_of(db, pid) == 7


def test_metrics_count_the_lifecycle(shop, db, reaper, make_product):
    _, oid, _, _ = checkout(shop, make_product, intent=False)
    lapse(db, oid)
    reaper.run_pass()
    text = shop.get("/metrics").text
    counts = {line.split('"')[1]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line.startswith("shop_order_events_total{")}
    assert counts["expired"] >= 1 and counts["stock_released"] >= 1 and counts["placed"] >= 1


def test_metrics_without_database_still_answer(stack):
    app = create_app(settings_for(stack, database_url="postgresql://x@127.0.0.1:9/x",
                                  pool_timeout=0.5))
    r = TestClient(app).simulate_get("/metrics")
    assert r.status_code == 200 and "shop_http_request_duration_seconds" in r.text
    app.close()
