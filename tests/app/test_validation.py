"""Every kind of bad input is a clear JSON 4xx: never a 500, never a silent 200."""
import pytest


def assert_error(r, status, code=None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json["success"] is False
    if code:
        assert r.json["error"]["code"] == code


@pytest.mark.parametrize("body, field", [
    ({"product_id": "1", "quantity": 1}, "product_id"),
    ({"product_id": 1, "quantity": 1.5}, "quantity"),
    ({"product_id": True, "quantity": 1}, "product_id"),
    ({"product_id": 1}, "quantity"),
    ({"quantity": 1}, "product_id"),
    ({"product_id": 1, "quantity": 0}, "quantity"),
    ({"product_id": 1, "quantity": -3}, "quantity"),
    ({"product_id": 2**70, "quantity": 1}, "product_id"),
    ({"product_id": 1, "quantity": [1]}, "quantity"),
])
def test_cart_body_validation(api, body, field):
    r = api.post("/api/cart", token=api.token(), json=body)
    assert_error(r, 400, "VALIDATION_ERROR")
    assert field in [d["field"] for d in r.json["error"]["details"]]


@pytest.mark.parametrize("raw", ["", "{", "[1, 2]", "null", '"text"', "\xff\xfe"])
def test_not_a_json_object(api, raw):
    r = api.post("/api/cart", token=api.token(), body=raw,
                 headers={"Content-Type": "application/json"})
    assert_error(r, 400, "VALIDATION_ERROR")
    assert r.json["error"]["details"][0]["field"] == "body"


def test_reference_codes_for_bad_json(api):
    token = api.token()
    r = api.post("/api/payment/create-intent", token=token, body="nope")
    assert_error(r, 400, "INVALID_JSON")
    r = api.post("/api/auth/login", body="nope")
    assert_error(r, 400, "INVALID_REQUEST")


def test_oversized_body_is_413(api):
    big = '{"email": "' + "x" * 70000 + '"}'
    assert_error(api.post("/api/auth/register", body=big), 413, "PAYLOAD_TOO_LARGE")
    # a lying Content-Length is no way around it
    r = api.post("/api/auth/login", body=big, headers={"Content-Length": "10"})
    assert r.status_code in (400, 413)


def test_strings_postgres_would_refuse(api):
    r = api.post("/api/auth/register", json={"email": "a\x00b@test.shoplab", "password": "x" * 9})
    assert_error(r, 400, "VALIDATION_ERROR")
    r = api.post("/api/auth/register", body='{"email": "\\ud800@x.io", "password": "123456789"}')
    assert_error(r, 400, "VALIDATION_ERROR")
    assert_error(api.get("/api/products/search", params={"q": "a\x00"}), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("query", ["page=abc", "per_page=1.5", "page=99999999999999",
                                   "category=" + "c" * 101])
def test_bad_query_parameters(api, query):
    assert_error(api.get("/api/products", query_string=query), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/nope"), ("GET", "/api/products/abc"), ("GET", "/api/products/0"),
    ("GET", "/api/products/-1"), ("GET", "/api/products/99999999999999999999999"),
    ("POST", "/api/cart/remove/1"), ("GET", "/nothing-here")])
def test_unknown_routes_are_json_404(api, method, path):
    assert_error(api.request(method, path), 404, "NOT_FOUND")


def test_wrong_method_is_json_405(api):
    r = api.request("PATCH", "/api/products")
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in r.headers["allow"]


def test_cors_preflight_needs_no_token(api):
    r = api.request("OPTIONS", "/api/cart", headers={
        "Origin": "http://example.test", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"


def test_security_headers(api):
    token = api.token()
    for path, private in (("/api/products", False), ("/api/orders", True),
                          ("/api/cart", True), ("/api/nope", False)):
        r = api.get(path, token=token)
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], path
        assert r.headers["Referrer-Policy"] == "no-referrer", path
        assert (r.headers.get("Cache-Control") == "no-store") is private, path
    r = api.post("/api/auth/login", json={"email": "x@y.shoplab", "password": "wrong-one"})
    assert r.headers["Cache-Control"] == "no-store"
