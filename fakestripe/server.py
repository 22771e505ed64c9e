"""Fake Stripe: the PaymentIntents calls the shop makes, with Stripe's shapes and semantics.

    python -m fakestripe --host 127.0.0.1 --port 12111 \
        --webhook-url http://127.0.0.1:8080/api/webhook/stripe --webhook-secret whsec_...

Implements ``POST /v1/payment_intents`` (honouring ``Idempotency-Key`` like Stripe: same key
and same parameters -> the same response; different parameters -> 400 idempotency_error),
``GET /v1/payment_intents/{id}``, ``POST /v1/payment_intents/{id}/confirm`` and
``POST /v1/payment_intents/{id}/cancel``. Confirming with the test card
``pm_card_chargeDeclined`` declines (402 card_error); any other ``pm_card_*`` succeeds.
Every state change sends the matching event (``payment_intent.succeeded``,
``payment_intent.payment_failed``, ``payment_intent.canceled``) to --webhook-url, signed as
Stripe signs: ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>``,
from a background thread, retried with backoff (at most 6 attempts), as Stripe would.

For tests and demos: ``GET /_fake/events`` lists the events and their delivery state, and
``POST /_fake/events/{id}/resend`` delivers one again (a replay, same id and body).
State lives in memory: a restart forgets every intent.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
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
MIN_AMOUNT = 50  # Stripe's minimum charge in cents for USD
DECLINE_CARDS = {"pm_card_chargeDeclined"}
DELIVERY_ATTEMPTS = 6
INTENT_PATH = re.compile(r"^/v1/payment_intents/(pi_[A-Za-z0-9]+)(/confirm|/cancel)?$")


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, code: str | None = None,
                 param: str | None = None, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **extra}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header value for a payload."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


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


class FakeStripe:
    def __init__(self, webhook_url: str = "", webhook_secret: str = ""):
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.intents: dict[str, dict] = {}
        self.events: dict[str, dict] = {}
        self.idempotent: dict[str, tuple[str, int, dict]] = {}
        self.lock = threading.Lock()
        self.outbox: queue.Queue = queue.Queue()
        threading.Thread(target=self._deliver_forever, daemon=True, name="webhooks").start()

    # --- API -----------------------------------------------------------------------------
    def handle(self, method: str, path: str, params: dict, idem_key: str | None):
        if idem_key and method == "POST":
            fingerprint = hashlib.sha256(
                json.dumps([path, params], sort_keys=True).encode()).hexdigest()
            with self.lock:
                seen = self.idempotent.get(idem_key)
            if seen:
                if seen[0] != fingerprint:
                    raise StripeError(400, "idempotency_error",
                                      "Keys for idempotent requests can only be used with the "
                                      "same parameters they were first used with.")
                return seen[1], seen[2]
            status, body = self._route(method, path, params)
            with self.lock:
                self.idempotent[idem_key] = (fingerprint, status, body)
            return status, body
        return self._route(method, path, params)

    def _route(self, method, path, params):
        if path == "/v1/payment_intents" and method == "POST":
            return 200, self.create(params)
        m = INTENT_PATH.match(path)
        if not m:
            raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")
        with self.lock:
            intent = self.intents.get(m.group(1))
        if intent is None:
            raise StripeError(404, "invalid_request_error",
                              f"No such payment_intent: '{m.group(1)}'",
                              code="resource_missing", param="intent")
        action = m.group(2)
        if method == "GET" and not action:
            return 200, intent
        if method == "POST" and action == "/confirm":
            return 200, self.confirm(intent, params)
        if method == "POST" and action == "/cancel":
            return 200, self.cancel(intent)
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def create(self, params: dict) -> dict:
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            raise StripeError(400, "invalid_request_error", "Missing required param: amount.",
                              code="parameter_missing", param="amount") from None
        if amount < MIN_AMOUNT:
            raise StripeError(400, "invalid_request_error",
                              "Amount must be at least $0.50 usd", code="amount_too_small",
                              param="amount")
        if not params.get("currency"):
            raise StripeError(400, "invalid_request_error", "Missing required param: currency.",
                              code="parameter_missing", param="currency")
        pid = "pi_" + secrets.token_hex(12)
        intent = {
            "id": pid, "object": "payment_intent", "amount": amount, "amount_received": 0,
            "currency": params["currency"].lower(), "status": "requires_payment_method",
            "client_secret": f"{pid}_secret_{secrets.token_hex(12)}",
            "created": int(time.time()), "livemode": False,
            "metadata": params.get("metadata", {}), "payment_method": None,
            "last_payment_error": None, "canceled_at": None,
            "automatic_payment_methods": {"enabled": str(params.get(
                "automatic_payment_methods", {}).get("enabled", "false")).lower() == "true"},
        }
        with self.lock:
            self.intents[pid] = intent
        return intent

    def confirm(self, intent: dict, params: dict) -> dict:
        method = params.get("payment_method") or ""
        with self.lock:
            if intent["status"] in ("succeeded", "canceled"):
                raise StripeError(400, "invalid_request_error",
                                  f"This PaymentIntent's status is {intent['status']}.",
                                  code="payment_intent_unexpected_state")
            if not method.startswith("pm_card_"):
                raise StripeError(400, "invalid_request_error",
                                  "You must provide a payment_method (e.g. pm_card_visa).",
                                  code="parameter_missing", param="payment_method")
            intent["payment_method"] = "pm_" + secrets.token_hex(8)
            if method in DECLINE_CARDS:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {"type": "card_error", "code": "card_declined",
                                                "decline_code": "generic_decline",
                                                "message": "Your card was declined."}
                snapshot = dict(intent)
            else:
                intent["status"] = "succeeded"
                intent["amount_received"] = intent["amount"]
                intent["last_payment_error"] = None
                snapshot = dict(intent)
        if snapshot["status"] != "succeeded":
            self.emit("payment_intent.payment_failed", snapshot)
            raise StripeError(402, "card_error", "Your card was declined.", code="card_declined",
                              decline_code="generic_decline", payment_intent=snapshot)
        self.emit("payment_intent.succeeded", snapshot)
        return snapshot

    def cancel(self, intent: dict) -> dict:
        with self.lock:
            if intent["status"] in ("succeeded", "canceled"):
                raise StripeError(400, "invalid_request_error",
                                  f"You cannot cancel this PaymentIntent because it has a status "
                                  f"of {intent['status']}.",
                                  code="payment_intent_unexpected_state")
            intent["status"] = "canceled"
            intent["canceled_at"] = int(time.time())
            snapshot = dict(intent)
        self.emit("payment_intent.canceled", snapshot)
        return snapshot

    # --- webhooks ------------------------------------------------------------------------
    def emit(self, type_: str, obj: dict) -> dict:
        event = {"id": "evt_" + secrets.token_hex(12), "object": "event",
                 "api_version": "2024-06-20", "created": int(time.time()), "livemode": False,
                 "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                 "type": type_, "data": {"object": obj}}
        record = {"event": event, "deliveries": [], "delivered": False}
        with self.lock:
            self.events[event["id"]] = record
        self.outbox.put(event["id"])
        return event

    def _deliver_forever(self):
        while True:
            event_id = self.outbox.get()
            threading.Thread(target=self.deliver, args=(event_id,), daemon=True).start()

    def deliver(self, event_id: str, attempts: int = DELIVERY_ATTEMPTS) -> bool:
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
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError as exc:
                status = f"error: {exc}"
            with self.lock:
                record["deliveries"].append({"at": time.time(), "status": status})
                if isinstance(status, int) and 200 <= status < 300:
                    record["delivered"] = True
                    return True
            log.warning("webhook %s attempt %d: %s", event_id, attempt + 1, status)
            if attempt + 1 < attempts:
                time.sleep(delay)
                delay = min(delay * 2, 8)
        return False

    def event_list(self) -> list[dict]:
        with self.lock:
            return [dict(r) for r in self.events.values()]


def make_handler(fake: FakeStripe):
    class Handler(BaseHTTPRequestHandler):
        server_version = "fakestripe/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            log.info("%s %s", self.address_string(), fmt % args)

        def _send(self, status: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(8))
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self, method: str):
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            try:
                if url.path == "/_fake/events" and method == "GET":
                    return self._send(200, {"data": fake.event_list()})
                m = re.match(r"^/_fake/events/(evt_[a-f0-9]+)/resend$", url.path)
                if m and method == "POST":
                    if m.group(1) not in fake.events:
                        raise StripeError(404, "invalid_request_error", "No such event")
                    return self._send(200, {"delivered": fake.deliver(m.group(1), attempts=1)})
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer sk_"):
                    raise StripeError(401, "invalid_request_error",
                                      "You did not provide an API key.")
                pairs = urllib.parse.parse_qsl(raw or url.query, keep_blank_values=True)
                status, body = fake.handle(method, url.path, nest(pairs),
                                           self.headers.get("Idempotency-Key"))
                self._send(status, body)
            except StripeError as exc:
                self._send(exc.status, exc.body)

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
    p = argparse.ArgumentParser(description="a local fake of Stripe's PaymentIntents API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=12111)
    p.add_argument("--webhook-url", default="", help="where to POST signed events")
    p.add_argument("--webhook-secret", default="", help="whsec_... shared with the shop")
    args = p.parse_args(argv)
    if args.webhook_url and not args.webhook_secret:
        p.error("--webhook-url needs --webhook-secret")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s fakestripe %(levelname)s %(message)s")
    server = serve(args.host, args.port, FakeStripe(args.webhook_url, args.webhook_secret))
    log.info("listening on http://%s:%d, webhooks to %s", args.host, args.port,
             args.webhook_url or "(none)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
