"""The fake Stripe on its own, through the real stripe SDK: the key check, charges, refunds,
disputes, the test-only event routes and idempotency under concurrency. Every delivered
webhook is verified with stripe.Webhook.construct_event, as the shop verifies it.

The fake runs in this process on a free loopback port (no stack needed), and its webhooks go
to a small receiver that records them.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import stripe

from fakestripe.server import FakeStripe, StripeError, main, serve

KEY = "sk_test_fakestripe_tests_0123456789"
WEBHOOK_SECRET = "whsec_fakestripe_tests"


class Receiver:
    """The shop's side of the webhooks: verifies each one like the shop and keeps the events."""

    def __init__(self):
        self.events, self.lock = [], threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                payload = self.rfile.read(int(self.headers["Content-Length"])).decode()
                try:
                    stripe.Webhook.construct_event(
                        payload, self.headers.get("Stripe-Signature"), WEBHOOK_SECRET)
                except stripe.SignatureVerificationError:
                    status = 400  # never recorded: the tests wait for verified events only
                else:
                    with receiver.lock:
                        receiver.events.append(json.loads(payload))
                    status = 200
                body = json.dumps({"received": status == 200}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, type_: str, object_id: str, timeout: float = 10.0) -> dict:
        """The first verified event of that type whose object is, or belongs to, object_id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for event in self.events:
                    obj = event["data"]["object"]
                    if event["type"] == type_ and object_id in (
                            obj.get("id"), obj.get("payment_intent"), obj.get("charge")):
                        return event
            time.sleep(0.05)
        raise AssertionError(f"no {type_} event for {object_id} within {timeout}s")


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture(scope="module")
def fake(receiver):
    app = FakeStripe(receiver.url, WEBHOOK_SECRET, KEY)
    server = serve("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield app
    server.shutdown()
    server.server_close()


def client(fake, key=KEY, retries=0) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": fake.base},
                               max_network_retries=retries)


def paid_intent(fake, card="pm_card_visa", amount=2500):
    c = client(fake)
    intent = c.v1.payment_intents.create(params={
        "amount": amount, "currency": "usd", "metadata": {"order_id": "42"}})
    return c.v1.payment_intents.confirm(intent.id, params={"payment_method": card})


def fake_post(fake, path, key=KEY, **kw):
    return requests.post(f"{fake.base}{path}", headers={"Authorization": f"Bearer {key}"},
                         timeout=15, **kw)


# --- the key check ---------------------------------------------------------------------------
def test_wrong_or_missing_key_is_401(fake):
    with pytest.raises(stripe.AuthenticationError) as exc:
        client(fake, key="sk_test_not_the_right_key_9876").v1.payment_intents.create(
            params={"amount": 1000, "currency": "usd"})
    assert exc.value.http_status == 401
    message = exc.value.error.message
    assert message.startswith("Invalid API Key provided: sk_test_****") and message.endswith(
        "9876") and "right" not in message  # masked as Stripe masks it
    r = requests.post(f"{fake.base}/v1/payment_intents", data={"amount": 1000}, timeout=5)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert r.json()["error"]["message"].startswith("You did not provide an API key.")
    # a key that only starts like the right one, and the test-only routes, are refused too
    assert requests.get(f"{fake.base}/v1/payment_intents/pi_1", timeout=5, headers={
        "Authorization": f"Bearer {KEY}x"}).status_code == 401
    assert requests.get(f"{fake.base}/_fake/events", timeout=5).status_code == 401
    assert fake_post(fake, "/_fake/events/emit", key="sk_test_other",
                     json={"type": "payment_intent.succeeded", "object": {}}).status_code == 401
    # the right key works
    assert client(fake).v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd"}).status == "requires_payment_method"


def test_the_command_line_requires_a_test_key(monkeypatch, capsys):
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    for argv in ([], ["--secret-key", "sk_live_abcdefgh"], ["--secret-key", "pk_test_x"]):
        with pytest.raises(SystemExit) as exc:
            main(["--port", "0", *argv])
        assert exc.value.code == 2
    assert "sk_live_abcdefgh" not in capsys.readouterr().err  # never echoes a key


# --- charges and refunds ---------------------------------------------------------------------
def test_a_payment_makes_a_charge(fake):
    intent = paid_intent(fake)
    assert intent.status == "succeeded" and intent.latest_charge.startswith("ch_")
    charge = client(fake).v1.charges.retrieve(intent.latest_charge)
    assert (charge.object, charge.status, charge.payment_intent) == (
        "charge", "succeeded", intent.id)
    assert (charge.amount, charge.amount_captured, charge.amount_refunded) == (2500, 2500, 0)
    assert (charge.refunded, charge.disputed, charge.currency) == (False, False, "usd")
    assert charge.metadata.to_dict() == {"order_id": "42"}


def test_a_declined_card_leaves_a_failed_charge(fake):
    c = client(fake)
    intent = c.v1.payment_intents.create(params={"amount": 900, "currency": "usd"})
    with pytest.raises(stripe.CardError) as exc:
        c.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_chargeDeclined"})
    assert exc.value.code == "card_declined"
    intent = c.v1.payment_intents.retrieve(intent.id)
    assert intent.status == "requires_payment_method"
    assert c.v1.charges.retrieve(intent.latest_charge).status == "failed"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        c.v1.refunds.create(params={"payment_intent": intent.id})
    assert "does not have a successful charge to refund" in exc.value.user_message


def test_refunds(fake, receiver):
    c = client(fake)
    intent = paid_intent(fake, amount=3000)
    part = c.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000,
                                       "reason": "requested_by_customer",
                                       "metadata": {"why": "one item"}})
    assert (part.object, part.amount, part.status, part.reason) == (
        "refund", 1000, "succeeded", "requested_by_customer")
    assert (part.charge, part.payment_intent, part.currency) == (
        intent.latest_charge, intent.id, "usd")
    assert part.metadata.to_dict() == {"why": "one item"}
    assert c.v1.refunds.retrieve(part.id).amount == 1000
    charge = c.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (1000, False)

    with pytest.raises(stripe.InvalidRequestError) as exc:
        c.v1.refunds.create(params={"payment_intent": intent.id, "amount": 2001})
    assert (exc.value.code, exc.value.param) == ("amount_too_large", "amount")

    rest = c.v1.refunds.create(params={"charge": intent.latest_charge})  # by charge this time
    assert rest.amount == 2000 and rest.payment_intent == intent.id
    charge = c.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (3000, True)
    assert c.v1.payment_intents.retrieve(intent.id).status == "succeeded"  # as Stripe
    with pytest.raises(stripe.InvalidRequestError) as exc:
        c.v1.refunds.create(params={"payment_intent": intent.id})
    assert exc.value.code == "charge_already_refunded"

    # the events: refund.created with the refund, charge.refunded with the CHARGE
    event = receiver.wait("refund.created", part.id)
    assert event["data"]["object"]["object"] == "refund"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the partial and the full refund's events, any order
        with receiver.lock:
            refunded = [e["data"]["object"] for e in receiver.events
                        if e["type"] == "charge.refunded"
                        and e["data"]["object"]["payment_intent"] == intent.id]
        if len(refunded) == 2:
            break
        time.sleep(0.05)
    assert sorted((o["amount_refunded"], o["refunded"]) for o in refunded) == [
        (1000, False), (3000, True)]
    assert {(o["object"], o["id"]) for o in refunded} == {("charge", intent.latest_charge)}


def test_refunds_of_unpaid_intents_are_refused(fake):
    c = client(fake)
    unpaid = c.v1.payment_intents.create(params={"amount": 700, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        c.v1.refunds.create(params={"payment_intent": unpaid.id})
    assert exc.value.http_status == 400 and exc.value.param == "payment_intent"
    assert f"This PaymentIntent ({unpaid.id}) does not have a successful charge" in str(
        exc.value.user_message)
    c.v1.payment_intents.cancel(unpaid.id, params={"cancellation_reason": "abandoned"})
    with pytest.raises(stripe.InvalidRequestError):
        c.v1.refunds.create(params={"payment_intent": unpaid.id})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        c.v1.refunds.create(params={"payment_intent": "pi_doesnotexist"})
    assert exc.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        c.v1.refunds.create(params={})
    assert exc.value.code == "parameter_missing"


def test_a_refund_with_an_idempotency_key_happens_once(fake):
    c = client(fake)
    intent = paid_intent(fake)
    opts = {"idempotency_key": f"refund-{intent.id}"}
    first = c.v1.refunds.create(params={"payment_intent": intent.id}, options=opts)
    again = c.v1.refunds.create(params={"payment_intent": intent.id}, options=opts)
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert c.v1.charges.retrieve(intent.latest_charge).amount_refunded == 2500


# --- disputes --------------------------------------------------------------------------------
def test_dispute_open_and_close(fake, receiver):
    intent = paid_intent(fake)
    r = fake_post(fake, f"/_fake/charges/{intent.latest_charge}/dispute")
    assert r.status_code == 200, r.text
    dispute = r.json()
    assert (dispute["object"], dispute["status"], dispute["reason"]) == (
        "dispute", "needs_response", "fraudulent")
    assert (dispute["charge"], dispute["payment_intent"], dispute["amount"]) == (
        intent.latest_charge, intent.id, 2500)
    assert client(fake).v1.charges.retrieve(intent.latest_charge).disputed is True
    created = receiver.wait("charge.dispute.created", dispute["id"])["data"]["object"]
    assert created == dispute
    # a disputed charge cannot be refunded, nor disputed again
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client(fake).v1.refunds.create(params={"payment_intent": intent.id})
    assert exc.value.code == "charge_disputed"
    assert fake_post(fake, f"/_fake/charges/{intent.latest_charge}/dispute").status_code == 400

    assert fake_post(fake, f"/_fake/disputes/{dispute['id']}/close",
                     data={"status": "maybe"}).status_code == 400
    r = fake_post(fake, f"/_fake/disputes/{dispute['id']}/close", data={"status": "won"})
    assert r.status_code == 200 and r.json()["status"] == "won"
    closed = receiver.wait("charge.dispute.closed", dispute["id"])["data"]["object"]
    assert (closed["status"], closed["payment_intent"]) == ("won", intent.id)
    assert fake_post(fake, f"/_fake/disputes/{dispute['id']}/close?status=lost").status_code == 400


def test_the_dispute_test_card_and_accepting_a_dispute(fake, receiver):
    intent = paid_intent(fake, card="pm_card_createDispute")
    assert intent.status == "succeeded"
    receiver.wait("payment_intent.succeeded", intent.id)
    dispute = receiver.wait("charge.dispute.created", intent.id)["data"]["object"]
    accepted = client(fake).v1.disputes.close(dispute["id"])  # Stripe's own call: lost
    assert accepted.status == "lost"
    assert receiver.wait("charge.dispute.closed", dispute["id"])["data"]["object"][
        "status"] == "lost"


# --- events ----------------------------------------------------------------------------------
def test_emit_delivers_an_arbitrary_signed_event(fake, receiver):
    obj = {"id": "pi_fromthetest", "object": "payment_intent", "status": "succeeded",
           "amount_received": 100, "metadata": {"order_id": "7"}}
    r = fake_post(fake, "/_fake/events/emit",
                  json={"type": "payment_intent.succeeded", "object": obj, "sync": True})
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["delivered"] is True
    assert [d["status"] for d in record["deliveries"]] == [200]
    assert json.loads(record["deliveries"][0]["body"]) == {"received": True}
    received = receiver.wait("payment_intent.succeeded", "pi_fromthetest")
    assert received == record["event"] and received["data"]["object"] == obj
    # asynchronous (the default), and listed by intent
    r = fake_post(fake, "/_fake/events/emit",
                  json={"type": "payment_intent.canceled", "object": obj})
    assert r.status_code == 200 and r.json()["event"]["type"] == "payment_intent.canceled"
    receiver.wait("payment_intent.canceled", "pi_fromthetest")
    listed = requests.get(f"{fake.base}/_fake/events", timeout=5,
                          params={"payment_intent": "pi_fromthetest"},
                          headers={"Authorization": f"Bearer {KEY}"}).json()["data"]
    assert [e["event"]["type"] for e in listed] == ["payment_intent.succeeded",
                                                   "payment_intent.canceled"]
    # a resend is the same event again
    r = fake_post(fake, f"/_fake/events/{record['event']['id']}/resend")
    assert r.json() == {"delivered": True}
    with receiver.lock:
        assert sum(e["id"] == record["event"]["id"] for e in receiver.events) == 2
    for bad in ({"type": "nonsense", "object": obj}, {"type": "charge.refunded"},
                {"type": "charge.refunded", "object": [1]}):
        assert fake_post(fake, "/_fake/events/emit", json=bad).status_code == 400


# --- idempotency -----------------------------------------------------------------------------
def test_concurrent_requests_with_one_key_execute_once(fake, monkeypatch):
    """The first request is held inside the fake while a second one with the same key comes
    in: the second gets 409 (Stripe's answer to a concurrent duplicate), nothing runs twice,
    and once the first is done the key replays its intent."""
    calls, entered, release = [], threading.Event(), threading.Event()
    create = fake.create_intent

    def held_create(params):
        calls.append(params)
        entered.set()
        release.wait(10)
        return create(params)

    monkeypatch.setattr(fake, "create_intent", held_create)
    params, opts = {"amount": 1234, "currency": "usd"}, {"idempotency_key": "concurrent-1"}
    first = {}
    t = threading.Thread(target=lambda: first.update(
        intent=client(fake).v1.payment_intents.create(params=params, options=opts)))
    t.start()
    try:
        assert entered.wait(10)
        with pytest.raises(stripe.APIError) as exc:
            client(fake).v1.payment_intents.create(params=params, options=opts)
        assert exc.value.http_status == 409
        assert exc.value.error.type == "idempotency_error"
        # other parameters with that key are refused outright
        with pytest.raises(stripe.IdempotencyError):
            client(fake).v1.payment_intents.create(params={**params, "amount": 999},
                                                   options=opts)
    finally:
        release.set()
        t.join(10)
    again = client(fake).v1.payment_intents.create(params=params, options=opts)
    assert again.id == first["intent"].id
    assert len(calls) == 1


def test_the_sdk_retries_a_concurrent_duplicate_into_the_same_intent(fake, monkeypatch):
    """With retries on (the shop's client has max_network_retries=2) the duplicate gets 409,
    and its retry, sent after the first request finished, gets the first one's intent."""
    create, handle = fake.create_intent, fake.handle
    entered, answers, statuses = threading.Event(), [], []

    def slow_create(params):
        entered.set()
        time.sleep(0.3)  # shorter than the SDK's first retry delay (at least 0.5 s)
        return create(params)

    def recording_handle(*args):
        try:
            return handle(*args)
        except StripeError as exc:
            statuses.append(exc.status)
            raise

    monkeypatch.setattr(fake, "create_intent", slow_create)
    monkeypatch.setattr(fake, "handle", recording_handle)
    params, opts = {"amount": 4321, "currency": "usd"}, {"idempotency_key": "concurrent-2"}

    def call():
        answers.append(client(fake, retries=2).v1.payment_intents.create(
            params=params, options=opts))

    first = threading.Thread(target=call)
    first.start()
    assert entered.wait(10)
    call()
    first.join(10)
    assert statuses == [409]
    assert len(answers) == 2 and answers[0].id == answers[1].id
    assert sum(i["amount"] == 4321 for i in fake.intents.values()) == 1
