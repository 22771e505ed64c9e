"""Fake Stripe: the calls the shop makes, with Stripe's shapes and semantics (lab and tests only).

    STRIPE_SECRET_KEY=sk_test_... STRIPE_WEBHOOK_SECRET=whsec_... \\
    python -m fakestripe --host 127.0.0.1 --port 12111 \\
        --webhook-url http://127.0.0.1:8080/api/webhook/stripe

Options: ``--secret-key`` (default ``$STRIPE_SECRET_KEY``; required, and it must be a test key,
``sk_test_...``), ``--webhook-secret`` (default ``$STRIPE_WEBHOOK_SECRET``; required with
``--webhook-url``), ``--host``, ``--port``. Taking the secrets from the environment keeps them
out of the process list.

Authentication: every request, ``/v1/`` and ``/_fake/`` alike, must carry
``Authorization: Bearer <the secret key>``, or it gets 401 with Stripe's body
(``{"error": {"type": "invalid_request_error", "message": "Invalid API Key provided:
sk_test_****abcd"}}``, the stripe SDK raises ``stripe.AuthenticationError``). So a fake that
listens beyond loopback (lab stage 2) lets nobody without the key create, pay or sign anything.

API (form-encoded like Stripe's; errors in Stripe's shapes)
- ``POST /v1/payment_intents`` (amount >= 50, currency, metadata, automatic_payment_methods),
  ``GET /v1/payment_intents/{pi}``,
  ``POST /v1/payment_intents/{pi}/confirm`` with a test card ``payment_method=pm_card_*``:
  ``pm_card_chargeDeclined`` declines (402 card_error ``card_declined``, a failed charge,
  ``payment_intent.payment_failed``); ``pm_card_createDispute`` succeeds and is disputed at
  once (as Stripe's test card of that name, which Stripe disputes moments later); any other
  ``pm_card_*`` succeeds: status ``succeeded``, ``amount_received``, a Charge, and
  ``payment_intent.succeeded``. An intent's ``latest_charge`` is its charge's id (the shape of
  API versions 2022-11-15 and later: no embedded ``charges`` list).
  ``POST /v1/payment_intents/{pi}/cancel`` (optional ``cancellation_reason``): not once
  succeeded or canceled (400 ``payment_intent_unexpected_state``); ``payment_intent.canceled``.
- ``GET /v1/charges/{ch}``: ``{"id": "ch_...", "object": "charge", "amount",
  "amount_captured", "amount_refunded", "captured", "paid", "refunded" (fully refunded),
  "disputed", "currency", "payment_intent", "payment_method", "status" ("succeeded" or
  "failed"), "failure_code", "metadata" (the intent's), "created", "livemode"}``.
- ``POST /v1/refunds`` with ``payment_intent`` or ``charge``, optional ``amount`` (default: what
  is left), ``reason`` (duplicate, fraudulent, requested_by_customer) and ``metadata``.
  Refused with 400 ``invalid_request_error``: no succeeded charge ("This PaymentIntent (pi_..)
  does not have a successful charge to refund.", no ``code``, as Stripe), nothing left
  (``charge_already_refunded``), more than is left (``amount_too_large``), a disputed charge
  (``charge_disputed``). Creates ``{"id": "re_...", "object": "refund", "amount", "charge",
  "payment_intent", "currency", "status": "succeeded", "reason", "metadata", "created"}``,
  adds to the charge's ``amount_refunded`` and sends ``refund.created`` (the refund) and
  ``charge.refunded`` (data.object is the CHARGE, as Stripe: ``payment_intent``,
  ``amount_refunded``, ``refunded``). The intent stays ``succeeded``. ``GET /v1/refunds/{re}``.
- ``GET /v1/disputes/{dp}``; ``POST /v1/disputes/{dp}/close`` accepts the dispute, as Stripe
  (status ``lost``, ``charge.dispute.closed``).

Idempotency, as Stripe: a POST with ``Idempotency-Key`` is executed once. The same key with
the same method, path and parameters replays the saved status and body (header
``Idempotent-Replayed: true``); other parameters or another endpoint -> 400
``idempotency_error``; while the first request is still executing -> 409 ``idempotency_error``
(the stripe SDK retries a 409 when ``max_network_retries`` > 0). Successes and 402 card errors
are saved; other errors are treated as failed validation and not saved (a retry runs again).
Keys expire after 24 hours.

Webhooks: every event is POSTed to ``--webhook-url``, signed as Stripe signs
(``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>``; the SDK's
``stripe.Webhook.construct_event`` verifies it), each from its own thread, retried with backoff
(at most 6 attempts). As with Stripe, events of one object may arrive in any order. Events:
``{"id": "evt_...", "object": "event", "api_version", "created", "livemode": false,
"pending_webhooks", "request", "type", "data": {"object": <snapshot at the time>}}``.

Test-only routes (no Stripe API creates disputes; tests need deterministic events)
- ``GET /_fake/events`` (optional ``?type=`` and ``?payment_intent=pi_..``: events whose object
  is that intent or belongs to it): ``{"data": [{"event", "delivered", "deliveries": [{"at",
  "status", "body"}]}]}``, oldest first.
- ``POST /_fake/events/{evt}/resend``: one more delivery of the same event (same id and body,
  one attempt): ``{"delivered": bool}``.
- ``POST /_fake/events/emit`` with JSON ``{"type": "payment_intent.succeeded", "object": {...},
  "sync": false}``: a new event of that type around that object, signed and delivered like any
  other (so tests can deliver events out of order or about objects that do not exist). With
  ``"sync": true`` it is delivered once before the answer. Answers the event's record (as in
  ``GET /_fake/events``).
- ``POST /_fake/charges/{ch}/dispute`` (optional ``amount``, default the charge's, and
  ``reason``, default ``fraudulent``): opens a dispute ``{"id": "dp_...", "object": "dispute",
  "amount", "charge", "payment_intent", "currency", "reason", "status": "needs_response",
  "is_charge_refundable": false, "metadata", "created", "livemode"}``, sets the charge's
  ``disputed``, sends ``charge.dispute.created`` (data.object: the dispute). One per charge.
- ``POST /_fake/disputes/{dp}/close`` with ``status=won`` or ``status=lost`` (form, query or
  JSON): sends ``charge.dispute.closed`` with the dispute in that status.
The ``/_fake/`` POSTs take a form, a query string or a JSON body; all answer JSON.

State lives in memory: a restart forgets everything.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import json
import logging
import os
import queue
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("fakestripe")
API_VERSION = "2024-06-20"
MIN_AMOUNT = 50  # Stripe's minimum charge in cents for USD
DECLINE_CARDS = {"pm_card_chargeDeclined"}
DISPUTE_CARDS = {"pm_card_createDispute"}
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
DELIVERY_ATTEMPTS = 6
IDEMPOTENCY_TTL = 24 * 3600  # Stripe may prune keys after 24 hours
EVENT_TYPE = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
ID = r"[A-Za-z0-9]+"

# (method, path pattern, FakeStripe method name); the pattern's group is the object id
API_ROUTES = [
    ("POST", r"/v1/payment_intents", "create_intent"),
    ("GET", rf"/v1/payment_intents/(pi_{ID})", "get_intent"),
    ("POST", rf"/v1/payment_intents/(pi_{ID})/confirm", "confirm_intent"),
    ("POST", rf"/v1/payment_intents/(pi_{ID})/cancel", "cancel_intent"),
    ("GET", rf"/v1/charges/(ch_{ID})", "get_charge"),
    ("POST", r"/v1/refunds", "create_refund"),
    ("GET", rf"/v1/refunds/(re_{ID})", "get_refund"),
    ("GET", rf"/v1/disputes/(dp_{ID})", "get_dispute"),
    ("POST", rf"/v1/disputes/(dp_{ID})/close", "accept_dispute"),
]
FAKE_ROUTES = [
    ("GET", r"/_fake/events", "list_events"),
    ("POST", r"/_fake/events/emit", "emit_custom"),
    ("POST", rf"/_fake/events/(evt_{ID})/resend", "resend"),
    ("POST", rf"/_fake/charges/(ch_{ID})/dispute", "open_dispute"),
    ("POST", rf"/_fake/disputes/(dp_{ID})/close", "close_dispute"),
]


class StripeError(Exception):
    """An error answer: ``status`` and Stripe's body ``{"error": {type, message, code, param}}``."""

    def __init__(self, status: int, type_: str, message: str, code: str | None = None,
                 param: str | None = None, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **extra}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def invalid(message: str, code: str | None = None, param: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, code=code, param=param)


def missing(kind: str, object_id: str, param: str) -> StripeError:
    return StripeError(404, "invalid_request_error", f"No such {kind}: '{object_id}'",
                       code="resource_missing", param=param)


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header value for a payload."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def mask_key(key: str) -> str:
    """A key as Stripe quotes it in errors: its prefix and last four characters."""
    prefix = key[:8] if key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")) else ""
    tail = key[-4:] if len(key) > len(prefix) + 8 else ""
    return prefix + "*" * max(len(key) - len(prefix) - len(tail), 4) + tail


def nest(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (``metadata[order_id]=7``) back into nested dicts."""
    out: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts:
            node[parts[-1]] = value
    return out


def positive_int(params: dict, name: str, default: int) -> int:
    if name not in params:
        return default
    try:
        value = int(params[name])
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {params[name]}", code="parameter_invalid_integer",
                      param=name) from None
    if value < 1:
        raise invalid("This value must be greater than or equal to 1.",
                      code="parameter_invalid_integer", param=name)
    return value


def one_of(params: dict, name: str, allowed: tuple[str, ...]) -> str | None:
    value = params.get(name) or None
    if value is not None and value not in allowed:
        raise invalid(f"Invalid {name}: must be one of {', '.join(allowed)}", param=name)
    return value


class FakeStripe:
    """The fake's state and operations; ``make_handler`` puts HTTP in front of it.

    One re-entrant lock guards every object, so a state change and the events it sends are
    recorded together; events are delivered outside it, by background threads.
    """

    def __init__(self, webhook_url: str = "", webhook_secret: str = "", secret_key: str = ""):
        if not secret_key:
            raise ValueError("the fake needs its secret key (sk_test_...)")
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.secret_key = secret_key
        self.intents: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.disputes: dict[str, dict] = {}
        self.events: dict[str, dict] = {}
        # key -> {"fingerprint", "path", "at", "response": (status, body) or None while running}
        self.idempotent: dict[str, dict] = {}
        self.lock = threading.RLock()
        self.outbox: queue.Queue = queue.Queue()
        threading.Thread(target=self._deliver_forever, daemon=True, name="webhooks").start()

    # --- requests ------------------------------------------------------------------------
    def check_key(self, authorization: str) -> None:
        """401 unless the header is exactly ``Bearer <secret key>``."""
        scheme, _, key = authorization.partition(" ")
        if scheme != "Bearer" or not key:
            raise StripeError(
                401, "invalid_request_error",
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').")
        if not hmac.compare_digest(key.encode(), self.secret_key.encode()):
            raise StripeError(401, "invalid_request_error",
                              f"Invalid API Key provided: {mask_key(key)}")

    def handle(self, method: str, path: str, params: dict, idem_key: str | None = None
               ) -> tuple[int, dict, dict]:
        """One authenticated request -> (status, body, extra headers)."""
        for route_method, pattern, name in FAKE_ROUTES:
            m = re.fullmatch(pattern, path)
            if m and method == route_method:
                return 200, getattr(self, name)(*m.groups(), params), {}
        if idem_key and method == "POST":
            return self._idempotent(idem_key, method, path, params)
        return (*self._route(method, path, params), {})

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        for route_method, pattern, name in API_ROUTES:
            m = re.fullmatch(pattern, path)
            if m and method == route_method:
                return 200, getattr(self, name)(*m.groups(), params)
        raise StripeError(404, "invalid_request_error",
                          f"Unrecognized request URL ({method}: {path}).")

    def _idempotent(self, key: str, method: str, path: str, params: dict):
        fingerprint = hashlib.sha256(
            json.dumps([method, path, params], sort_keys=True).encode()).hexdigest()
        with self.lock:  # check and claim the key in one step (a concurrent duplicate gets 409)
            seen = self.idempotent.get(key)
            if seen and time.time() - seen["at"] > IDEMPOTENCY_TTL:
                seen = None
            if seen:
                if seen["path"] != path:
                    raise StripeError(400, "idempotency_error",
                                      "Keys for idempotent requests can only be used for the "
                                      f"same endpoint they were first used for ('{seen['path']}'"
                                      f" vs '{path}').")
                if seen["fingerprint"] != fingerprint:
                    raise StripeError(400, "idempotency_error",
                                      "Keys for idempotent requests can only be used with the "
                                      "same parameters they were first used with.")
                if seen["response"] is None:
                    raise StripeError(409, "idempotency_error",
                                      "There is currently another in-progress request using "
                                      f"this idempotency key: {key}. Please try again later.")
                status, body = seen["response"]
                return status, copy.deepcopy(body), {"Idempotent-Replayed": "true"}
            claim = {"fingerprint": fingerprint, "path": path, "at": time.time(),
                     "response": None}
            self.idempotent[key] = claim
        try:
            status, body = self._route(method, path, params)
        except StripeError as exc:
            with self.lock:
                if exc.status == 402:  # the payment was attempted: Stripe saves this answer
                    claim["response"] = (exc.status, copy.deepcopy(exc.body))
                else:  # failed validation: nothing saved, a retry runs again
                    self.idempotent.pop(key, None)
            raise
        except BaseException:
            with self.lock:
                self.idempotent.pop(key, None)
            raise
        with self.lock:
            claim["response"] = (status, copy.deepcopy(body))
        return status, body, {}

    def _get(self, table: dict, kind: str, object_id: str, param: str = "id") -> dict:
        obj = table.get(object_id)
        if obj is None:
            raise missing(kind, object_id, param)
        return obj

    # --- payment intents -----------------------------------------------------------------
    def create_intent(self, params: dict) -> dict:
        try:
            amount = int(params.get("amount", ""))
        except (TypeError, ValueError):
            raise invalid("Missing required param: amount.", code="parameter_missing",
                          param="amount") from None
        if amount < MIN_AMOUNT:
            raise invalid("Amount must be at least $0.50 usd", code="amount_too_small",
                          param="amount")
        if not params.get("currency"):
            raise invalid("Missing required param: currency.", code="parameter_missing",
                          param="currency")
        pid = "pi_" + secrets.token_hex(12)
        automatic = params.get("automatic_payment_methods", {})
        intent = {
            "id": pid, "object": "payment_intent", "amount": amount, "amount_received": 0,
            "currency": params["currency"].lower(), "status": "requires_payment_method",
            "client_secret": f"{pid}_secret_{secrets.token_hex(12)}",
            "created": int(time.time()), "livemode": False,
            "metadata": params.get("metadata", {}), "payment_method": None,
            "latest_charge": None, "last_payment_error": None,
            "canceled_at": None, "cancellation_reason": None,
            "automatic_payment_methods": {"enabled": str(
                automatic.get("enabled", "false")).lower() == "true"},
        }
        with self.lock:
            self.intents[pid] = intent
            return copy.deepcopy(intent)

    def get_intent(self, pid: str, params: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._get(self.intents, "payment_intent", pid, "intent"))

    def confirm_intent(self, pid: str, params: dict) -> dict:
        card = params.get("payment_method") or ""
        with self.lock:
            intent = self._get(self.intents, "payment_intent", pid, "intent")
            if intent["status"] in ("succeeded", "canceled"):
                raise invalid(f"This PaymentIntent's status is {intent['status']}.",
                              code="payment_intent_unexpected_state")
            if not card.startswith("pm_card_"):
                raise invalid("You must provide a payment_method (e.g. pm_card_visa).",
                              code="parameter_missing", param="payment_method")
            intent["payment_method"] = "pm_" + secrets.token_hex(8)
            declined = card in DECLINE_CARDS
            charge = self._new_charge(intent, succeeded=not declined)
            intent["latest_charge"] = charge["id"]
            if declined:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "type": "card_error", "code": "card_declined",
                    "decline_code": "generic_decline", "message": "Your card was declined.",
                    "charge": charge["id"]}
                self.emit("payment_intent.payment_failed", intent)
                raise StripeError(402, "card_error", "Your card was declined.",
                                  code="card_declined", decline_code="generic_decline",
                                  charge=charge["id"], payment_intent=copy.deepcopy(intent))
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
            intent["last_payment_error"] = None
            self.emit("payment_intent.succeeded", intent)
            if card in DISPUTE_CARDS:
                self.open_dispute(charge["id"], {})
            return copy.deepcopy(intent)

    def _new_charge(self, intent: dict, succeeded: bool) -> dict:
        charge = {
            "id": "ch_" + secrets.token_hex(12), "object": "charge",
            "amount": intent["amount"], "amount_captured": intent["amount"] if succeeded else 0,
            "amount_refunded": 0, "captured": succeeded, "paid": succeeded,
            "refunded": False, "disputed": False, "currency": intent["currency"],
            "payment_intent": intent["id"], "payment_method": intent["payment_method"],
            "status": "succeeded" if succeeded else "failed",
            "failure_code": None if succeeded else "card_declined",
            "failure_message": None if succeeded else "Your card was declined.",
            "metadata": copy.deepcopy(intent["metadata"]),
            "created": int(time.time()), "livemode": False,
        }
        self.charges[charge["id"]] = charge
        return charge

    def cancel_intent(self, pid: str, params: dict) -> dict:
        reason = one_of(params, "cancellation_reason", CANCELLATION_REASONS)
        with self.lock:
            intent = self._get(self.intents, "payment_intent", pid, "intent")
            if intent["status"] in ("succeeded", "canceled"):
                raise invalid("You cannot cancel this PaymentIntent because it has a status "
                              f"of {intent['status']}.", code="payment_intent_unexpected_state")
            intent["status"] = "canceled"
            intent["canceled_at"] = int(time.time())
            intent["cancellation_reason"] = reason
            self.emit("payment_intent.canceled", intent)
            return copy.deepcopy(intent)

    # --- charges and refunds -------------------------------------------------------------
    def get_charge(self, ch: str, params: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._get(self.charges, "charge", ch))

    def create_refund(self, params: dict) -> dict:
        pid, ch = params.get("payment_intent"), params.get("charge")
        if not pid and not ch:
            raise invalid("One of the following params should be provided for this request: "
                          "payment_intent or charge.", code="parameter_missing")
        reason = one_of(params, "reason", REFUND_REASONS)
        with self.lock:
            if pid:
                intent = self._get(self.intents, "payment_intent", pid, "payment_intent")
                charge = self.charges.get(intent["latest_charge"] or "")
                if ch and (charge is None or ch != charge["id"]):
                    raise invalid(f"Charge {ch} does not belong to PaymentIntent {pid}.",
                                  param="charge")
                param = "payment_intent"
            else:
                charge = self._get(self.charges, "charge", ch, "charge")
                pid, param = charge["payment_intent"], "charge"
            if charge is None or charge["status"] != "succeeded":
                raise invalid(f"This PaymentIntent ({pid}) does not have a successful charge "
                              "to refund.", param=param)
            if charge["disputed"]:
                raise invalid(f"Charge {charge['id']} has been charged back; cannot issue a "
                              "refund.", code="charge_disputed")
            left = charge["amount_captured"] - charge["amount_refunded"]
            if left <= 0:
                raise invalid(f"Charge {charge['id']} has already been refunded.",
                              code="charge_already_refunded")
            amount = positive_int(params, "amount", left)
            if amount > left:
                raise invalid(f"Refund amount (${amount / 100:.2f}) is greater than unrefunded "
                              f"amount on charge (${left / 100:.2f})", code="amount_too_large",
                              param="amount")
            refund = {
                "id": "re_" + secrets.token_hex(12), "object": "refund", "amount": amount,
                "charge": charge["id"], "payment_intent": charge["payment_intent"],
                "currency": charge["currency"], "status": "succeeded", "reason": reason,
                "metadata": params.get("metadata", {}), "created": int(time.time()),
            }
            self.refunds[refund["id"]] = refund
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
            self.emit("refund.created", refund)
            self.emit("charge.refunded", charge)
            return copy.deepcopy(refund)

    def get_refund(self, re_id: str, params: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._get(self.refunds, "refund", re_id))

    # --- disputes ------------------------------------------------------------------------
    def open_dispute(self, ch: str, params: dict) -> dict:
        with self.lock:
            charge = self._get(self.charges, "charge", ch, "charge")
            if charge["status"] != "succeeded":
                raise invalid(f"Charge {ch} did not succeed: it cannot be disputed.")
            if charge["disputed"]:
                raise invalid(f"Charge {ch} has already been disputed.", code="charge_disputed")
            dispute = {
                "id": "dp_" + secrets.token_hex(12), "object": "dispute",
                "amount": positive_int(params, "amount", charge["amount"]), "charge": ch,
                "payment_intent": charge["payment_intent"], "currency": charge["currency"],
                "reason": params.get("reason") or "fraudulent", "status": "needs_response",
                "is_charge_refundable": False, "metadata": {},
                "created": int(time.time()), "livemode": False,
            }
            self.disputes[dispute["id"]] = dispute
            charge["disputed"] = True
            self.emit("charge.dispute.created", dispute)
            return copy.deepcopy(dispute)

    def get_dispute(self, dp: str, params: dict) -> dict:
        with self.lock:
            return copy.deepcopy(self._get(self.disputes, "dispute", dp))

    def accept_dispute(self, dp: str, params: dict) -> dict:
        """Stripe's ``POST /v1/disputes/{id}/close``: the merchant gives up, the dispute is lost."""
        return self.close_dispute(dp, {"status": "lost"})

    def close_dispute(self, dp: str, params: dict) -> dict:
        status = params.get("status")
        if status not in ("won", "lost"):
            raise invalid("status must be won or lost", param="status")
        with self.lock:
            dispute = self._get(self.disputes, "dispute", dp)
            if dispute["status"] in ("won", "lost"):
                raise invalid(f"Dispute {dp} is already closed ({dispute['status']}).")
            dispute["status"] = status
            self.emit("charge.dispute.closed", dispute)
            return copy.deepcopy(dispute)

    # --- webhooks ------------------------------------------------------------------------
    def _record(self, type_: str, obj: dict) -> dict:
        """A new event about a snapshot of ``obj``, stored with its (empty) delivery record."""
        event = {"id": "evt_" + secrets.token_hex(12), "object": "event",
                 "api_version": API_VERSION, "created": int(time.time()), "livemode": False,
                 "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                 "type": type_, "data": {"object": copy.deepcopy(obj)}}
        record = {"event": event, "deliveries": [], "delivered": False}
        with self.lock:
            self.events[event["id"]] = record
        return record

    def emit(self, type_: str, obj: dict) -> dict:
        """Send an event: recorded now, delivered by a background thread (with retries)."""
        record = self._record(type_, obj)
        self.outbox.put(record["event"]["id"])
        return record

    def _deliver_forever(self):
        while True:
            event_id = self.outbox.get()
            threading.Thread(target=self.deliver, args=(event_id,), daemon=True).start()

    def deliver(self, event_id: str, attempts: int = DELIVERY_ATTEMPTS) -> bool:
        """POST the event, signed, until a 2xx or ``attempts`` tries; whether it arrived."""
        if not self.webhook_url:
            return False
        record = self.events[event_id]
        payload = json.dumps(record["event"])
        delay = 0.5
        for attempt in range(attempts):
            req = urllib.request.Request(
                self.webhook_url, data=payload.encode(), method="POST",
                headers={"Content-Type": "application/json; charset=utf-8",
                         "Stripe-Signature": sign(payload, self.webhook_secret),
                         "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})
            body = ""
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    status, body = resp.status, resp.read(2000).decode(errors="replace")
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read(2000).decode(errors="replace")
            except OSError as exc:
                status = f"error: {exc}"
            with self.lock:
                record["deliveries"].append({"at": time.time(), "status": status, "body": body})
                if isinstance(status, int) and 200 <= status < 300:
                    record["delivered"] = True
                    return True
            log.warning("webhook %s attempt %d: %s", event_id, attempt + 1, status)
            if attempt + 1 < attempts:
                time.sleep(delay)
                delay = min(delay * 2, 8)
        return False

    # --- test-only routes ----------------------------------------------------------------
    def list_events(self, params: dict) -> dict:
        type_, pid = params.get("type"), params.get("payment_intent")
        with self.lock:
            records = copy.deepcopy(list(self.events.values()))
        if type_:
            records = [r for r in records if r["event"]["type"] == type_]
        if pid:
            records = [r for r in records if pid in (r["event"]["data"]["object"].get("id"),
                       r["event"]["data"]["object"].get("payment_intent"))]
        return {"data": records}

    def resend(self, event_id: str, params: dict) -> dict:
        if event_id not in self.events:
            raise missing("event", event_id, "id")
        return {"delivered": self.deliver(event_id, attempts=1)}

    def emit_custom(self, params: dict) -> dict:
        type_, obj = params.get("type"), params.get("object")
        if not isinstance(type_, str) or not EVENT_TYPE.match(type_):
            raise invalid("type must be an event type such as payment_intent.succeeded",
                          param="type")
        if not isinstance(obj, dict):
            raise invalid("object must be a JSON object (the event's data.object)",
                          param="object")
        if params.get("sync") in (True, "true"):
            record = self._record(type_, obj)
            self.deliver(record["event"]["id"], attempts=1)
        else:
            record = self.emit(type_, obj)
        with self.lock:
            return copy.deepcopy(record)


def make_handler(fake: FakeStripe):
    class Handler(BaseHTTPRequestHandler):
        server_version = "fakestripe/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            log.info("%s %s", self.address_string(), fmt % args)

        def _send(self, status: int, body: dict, headers: dict | None = None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(8))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _params(self, url, raw: str) -> dict:
            if url.path.startswith("/_fake/") and raw and "json" in (
                    self.headers.get("Content-Type") or ""):
                try:
                    params = json.loads(raw)
                except ValueError:
                    raise invalid("The body is not valid JSON.") from None
                if not isinstance(params, dict):
                    raise invalid("The body must be a JSON object.")
                return params
            return nest(urllib.parse.parse_qsl(raw or url.query, keep_blank_values=True))

        def _dispatch(self, method: str):
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            try:
                fake.check_key(self.headers.get("Authorization", ""))
                status, body, headers = fake.handle(
                    method, url.path, self._params(url, raw), self.headers.get("Idempotency-Key"))
                self._send(status, body, headers)
            except StripeError as exc:
                self._send(exc.status, exc.body)
            except Exception:  # a bug in the fake: answer as Stripe would, keep serving
                log.exception("%s %s", method, url.path)
                self._send(500, {"error": {"type": "api_error",
                                           "message": "An unknown error occurred."}})

        def do_GET(self):
            self._dispatch("GET")

        def do_POST(self):
            self._dispatch("POST")

        def do_DELETE(self):
            self._dispatch("DELETE")

    return Handler


def serve(host: str, port: int, fake: FakeStripe) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(fake))
    server.daemon_threads = True
    return server


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="a local fake of Stripe's API (lab and tests only)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=12111)
    p.add_argument("--secret-key", default=os.environ.get("STRIPE_SECRET_KEY", ""),
                   help="sk_test_... every request must present (default $STRIPE_SECRET_KEY)")
    p.add_argument("--webhook-url", default="", help="where to POST signed events")
    p.add_argument("--webhook-secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
                   help="whsec_... shared with the shop (default $STRIPE_WEBHOOK_SECRET)")
    args = p.parse_args(argv)
    if not args.secret_key.startswith("sk_test_"):
        p.error("--secret-key (or STRIPE_SECRET_KEY) must be a test key, sk_test_..."
                if args.secret_key else "--secret-key (or STRIPE_SECRET_KEY) is required")
    if args.webhook_url and not args.webhook_secret:
        p.error("--webhook-url needs --webhook-secret (or STRIPE_WEBHOOK_SECRET)")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s fakestripe %(levelname)s %(message)s")
    fake = FakeStripe(args.webhook_url, args.webhook_secret, args.secret_key)
    server = serve(args.host, args.port, fake)
    log.info("listening on http://%s:%d, webhooks to %s", args.host, args.port,
             args.webhook_url or "(none)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
