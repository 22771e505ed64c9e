"""The OpenAPI 3.1 document of the shop, in code so that its shared pieces (envelopes, the
product, the error codes every route can answer) are written once, and its request bodies
come from the same fields the app validates with (app/fields.py and each route's field table).
tests/app/test_openapi.py checks that it lists exactly the app's routes, and schemathesis
checks the live app against it.
"""
from __future__ import annotations

from app import accounts, cart, payments
from app.fields import IDEMPOTENCY_KEY_MAX, MAX_PAGE, PRODUCT_ID, body_schema
from app.order_states import Status
from app.settings import Settings

INT = {"type": "integer"}
STR = {"type": "string"}
NUM = {"type": "number"}
TIME = {"type": "string", "format": "date-time"}
MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
ID = {"type": "integer", "minimum": 1}


def obj(required: dict, optional: dict | None = None) -> dict:
    props = {**required, **(optional or {})}
    return {"type": "object", "properties": props, "required": list(required)}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def ok(data: dict, description: str = "Success") -> dict:
    return {"description": description, "content": {"application/json": {"schema": obj(
        {"success": {"const": True}, "data": data})}}}


def err(description: str) -> dict:
    resp = {"description": description,
            "content": {"application/json": {"schema": ref("Error")}}}
    if description.startswith(("Rate", "Service", "Unavailable")):
        resp["headers"] = {"Retry-After": {"schema": STR, "required": True,
                                           "description": "seconds to wait"}}
    return resp


ERRORS = {
    "400": "Invalid input (VALIDATION_ERROR with details, or the route's own code)",
    "401": "Missing or invalid token (UNAUTHORIZED, INVALID_FORMAT, TOKEN_EXPIRED, "
           "TOKEN_MALFORMED, INVALID_TOKEN) or bad credentials (INVALID_CREDENTIALS)",
    "403": "Not available in live mode (TEST_MODE_ONLY)",
    "404": "No such resource, or not yours (NOT_FOUND)",
    "409": "Conflict with the current state (EMAIL_EXISTS, INSUFFICIENT_STOCK, "
           "TOO_MANY_PENDING_ORDERS, ALREADY_PAID, ORDER_CANCELED, ORDER_EXPIRED, "
           "ORDER_REFUNDED, ORDER_NOT_PENDING, PAYMENT_IN_PROGRESS, PAYMENT_STATE_CONFLICT)",
    "413": "Body larger than MAX_BODY_BYTES (PAYLOAD_TOO_LARGE)",
    "422": "Over a limit of the account or a reused key (ORDER_TOO_LARGE, "
           "LINE_QUANTITY_TOO_LARGE, IDEMPOTENCY_KEY_REUSED)",
    "429": "Rate limited (RATE_LIMIT_EXCEEDED)",
    "502": "The payment provider refused the request (PAYMENT_FAILED)",
    "503": "Service unavailable: database, Redis or the payment provider down or saturated",
}
def op(summary: str, success: dict, *codes: str, status: str = "200", body: dict | None = None,
       params: list | None = None, auth: bool = False, tag: str = "shop") -> dict:
    """An operation answering ``success`` or one of the error ``codes`` (429/503 always)."""
    responses = {status: success}
    for code in sorted({*codes, "429", "503"}):
        responses[code] = err(ERRORS[code])
    if any(p["in"] == "query" for p in params or []):
        # gunicorn (or nginx) refuses request lines over ~4 KiB before the app sees them
        responses["414"] = {"description": "URI too long (refused by the HTTP server)",
                            "content": {"text/html": {"schema": STR}}}
    operation = {"summary": summary, "tags": [tag], "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": body}}}
    if params:
        operation["parameters"] = params
    if auth:
        operation["security"] = [{"bearerAuth": []}]
    return operation


def query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": PRODUCT_ID.schema()}


PAGE = query("page", {"type": "integer", "maximum": MAX_PAGE},
             "page number from 1 (values below 1 mean 1)")
PER_PAGE = query("per_page", {"type": "integer", "maximum": MAX_PAGE},
                 "items per page, default 20, at most 100 (larger values are capped)")
MESSAGE = obj({"message": STR})
STATUS = {"type": "string", "enum": [str(s) for s in Status]}
CHECKOUT_HEADERS = {
    "Location": {"schema": STR, "required": True, "description": "the order's URL"},
    "Idempotent-Replayed": {"schema": {"const": "true"}, "required": False,
                            "description": "present when this is an order made before"}}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "schema": {"type": "string", "minLength": 1,
                                                  "maxLength": IDEMPOTENCY_KEY_MAX},
                   "description": "the same key (per account, 24 h) with the same cart gives "
                                  "back the first order; with another cart, 422"}


def spec(settings: Settings | None = None) -> dict:
    settings = settings or Settings()
    schemas = {
        "Error": obj({"success": {"const": False}, "error": obj(
            {"code": STR, "message": STR},
            {"details": {"type": "array", "items": obj({"field": STR, "message": STR})}})}),
        "Product": obj({"id": ID, "name": STR, "description": STR, "price": NUM,
                        "category": STR, "stock": {"type": "integer", "minimum": 0},
                        "image_url": STR}),
        "Auth": obj({"user_id": ID, "token": STR}),
        "CartLine": obj({"id": ID, "product_id": ID, "quantity": ID, "name": STR, "price": NUM,
                         "image_url": STR, "subtotal": NUM},
                        {"stock": {"type": "integer", "minimum": 0}}),
        "CartChange": obj({"message": STR, "product_id": ID}, {"quantity": ID}),
        "OrderSummary": obj({"id": ID, "total": NUM, "status": STATUS, "payment_status": STR,
                             "hold_expires_at": MAYBE_TIME, "created_at": TIME}),
        "Order": obj({"id": ID, "total": NUM, "status": STATUS, "payment_status": STR,
                      "hold_expires_at": MAYBE_TIME, "created_at": TIME, "updated_at": TIME,
                      "items": {"type": "array", "items": obj(
                          {"product_id": ID, "name": STR, "quantity": ID, "price": NUM,
                           "subtotal": NUM})}}),
    }
    health = op("Liveness: the process answers (no backend touched)",
                ok(obj({"status": {"const": "healthy"}})), tag="health")
    health["responses"].pop("503")
    health["responses"].pop("429")
    ready = op("Readiness: Postgres and Redis answer (cached READINESS_INTERVAL seconds)",
               ok(obj({"status": {"const": "ready"}, "checks": {"type": "object"}})),
               tag="health")
    ready["responses"].pop("429")
    metrics = {"summary": "Prometheus metrics", "tags": ["health"], "responses": {"200": {
        "description": "Prometheus text format",
        "content": {"text/plain": {"schema": STR}}}}}
    openapi = {"summary": "This document", "tags": ["health"], "responses": {"200": {
        "description": "OpenAPI 3.1", "content": {"application/json": {
            "schema": {"type": "object"}}}}}}
    credentials = ("email", "password")
    order_body = body_schema(payments.INTENT_FIELDS)
    order = ok(ref("Order"))
    paths = {
        "/healthz": {"get": health},
        "/api/health": {"get": health},
        "/readyz": {"get": ready},
        "/metrics": {"get": metrics},
        "/openapi.json": {"get": openapi},
        "/api/auth/register": {"post": op(
            "Create an account and get a token",
            ok(ref("Auth"), "Created"), "400", "409", "413", status="201",
            body=body_schema(accounts.REGISTER_FIELDS, credentials), tag="accounts")},
        "/api/auth/login": {"post": op(
            "Exchange email and password for a token (24 h)", ok(ref("Auth")),
            "400", "401", "413", body=body_schema(accounts.LOGIN_FIELDS, credentials),
            tag="accounts")},
        "/api/products": {"get": op(
            "Products, newest first, paginated, optionally one category",
            ok(obj({"products": {"type": "array", "items": ref("Product")},
                    "pagination": obj({"page": ID, "per_page": ID,
                                       "total": {"type": "integer", "minimum": 0}})})),
            "400", params=[query("category", {"type": "string", "maxLength": 100},
                                 "exact category name"), PAGE, PER_PAGE], tag="products")},
        "/api/products/search": {"get": op(
            "Products whose name or description contains q (at most 50)",
            ok({"type": "array", "items": ref("Product")}), "400",
            params=[query("q", {"type": "string", "maxLength": 200}, "text to find")],
            tag="products")},
        "/api/products/{product_id}": {"get": op(
            "One product", ok(ref("Product")), "404", params=[path_id("product_id")],
            tag="products")},
        "/api/categories": {"get": op(
            "Categories with their product counts",
            ok({"type": "array", "items": obj({"name": STR, "count": INT})}),
            tag="products")},
        "/api/cart": {
            "get": op("The caller's cart with current prices",
                      ok(obj({"items": {"type": "array", "items": ref("CartLine")},
                              "total": NUM})), "401", auth=True, tag="cart"),
            "post": op("Add a quantity of a product (checked against stock and the per-line "
                       "limit)", ok(ref("CartChange")), "400", "401", "404", "409", "413",
                       auth=True, tag="cart", body=body_schema(cart.add_fields(settings)))},
        "/api/cart/clear": {"delete": op("Empty the cart", ok(MESSAGE), "401", auth=True,
                                         tag="cart")},
        "/api/cart/{product_id}": {
            "put": op("Set the quantity of one line", ok(ref("CartChange")),
                      "400", "401", "404", "409", "413", auth=True, tag="cart",
                      params=[path_id("product_id")], body=body_schema(cart.set_fields(settings))),
            "delete": op("Remove one line", ok(ref("CartChange")), "401", "404", auth=True,
                         tag="cart", params=[path_id("product_id")])},
        "/api/orders": {
            "post": op("Check out: the cart becomes a pending order holding its stock until "
                       "paid, canceled or expired (all or nothing; one order per cart "
                       "revision or Idempotency-Key)",
                       {**ok(ref("Order"), "Created (or the same order again, with "
                                           "Idempotent-Replayed: true)"),
                        "headers": CHECKOUT_HEADERS},
                       "400", "401", "409", "422", status="201", auth=True, tag="orders",
                       params=[IDEMPOTENCY_KEY]),
            "get": op("The caller's orders, newest first",
                      ok({"type": "array", "items": ref("OrderSummary")}), "400", "401",
                      params=[PAGE, query("per_page", {"type": "integer", "maximum": MAX_PAGE},
                                          "default 50, at most 100")],
                      auth=True, tag="orders")},
        "/api/orders/{order_id}": {"get": op(
            "One of the caller's orders with its lines", order,
            "401", "404", params=[path_id("order_id")], auth=True, tag="orders")},
        "/api/orders/{order_id}/cancel": {"post": op(
            "Cancel a pending order: its payment is canceled at Stripe and its stock returns "
            "(again on a canceled order: the same answer)", order,
            "401", "404", "409", "502", params=[path_id("order_id")], auth=True,
            tag="orders")},
        "/api/payment/config": {"get": op(
            "What the storefront needs to take a payment",
            ok(obj({"publishable_key": STR, "test_mode": {"type": "boolean"}})),
            tag="payments")},
        "/api/payment/create-intent": {"post": op(
            "The order's Stripe PaymentIntent (created once per order)",
            ok(obj({"client_secret": STR, "amount": INT, "payment_intent_id": STR})),
            "400", "401", "404", "409", "413", "502", body=order_body, auth=True,
            tag="payments")},
        "/api/payment/confirm-test": {"post": op(
            "Test mode: pay the order with a Stripe test card; the webhook then marks it paid",
            ok(obj({"payment_intent_id": STR, "status": STR}, {"decline_code": STR})),
            "400", "401", "403", "404", "409", "413", "502", auth=True, tag="payments",
            body=body_schema(payments.CONFIRM_FIELDS))},
        "/api/webhook/stripe": {"post": op(
            "Stripe events (signature checked; each event id applied once)",
            ok(obj({"received": {"const": True}, "result": STR})), "400", "413",
            body={"type": "object"}, tag="payments",
            params=[{"name": "Stripe-Signature", "in": "header", "required": True,
                     "schema": STR}])},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Shoplab shop API", "version": "1.0.0",
                 "description": "The reference shop's API (seed-system.md 1.6) plus cart "
                                "lines, categories, payment config and health routes. Every "
                                "answer is {success, data} or {success: false, error}."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
