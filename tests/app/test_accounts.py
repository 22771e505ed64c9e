"""Register, login, argon2id hashes and the JWT rules of every protected route."""
import uuid
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from conftest import PASSWORD


def email():
    return f"a-{uuid.uuid4().hex}@test.shoplab"


def test_register_then_login(api, db):
    address = email()
    r = api.post("/api/auth/register", json={"email": f"  {address.upper()} ",
                                             "password": PASSWORD, "first_name": " Ada ",
                                             "last_name": "Lovelace", "full_name": "ignored"})
    assert r.status_code == 201, r.text
    user_id = r.json["data"]["user_id"]
    row = db.execute("SELECT email, password_hash, first_name FROM users WHERE id = %s",
                     (user_id,)).fetchone()
    assert row[0] == address and row[2] == "Ada"  # normalised like the reference
    assert row[1].startswith("$argon2id$") and PASSWORD not in row[1]
    r = api.post("/api/auth/login", json={"email": address, "password": PASSWORD})
    assert r.status_code == 200
    assert r.json["data"]["user_id"] == user_id
    assert api.get("/api/cart", token=r.json["data"]["token"]).status_code == 200


def test_register_errors(api):
    address = email()
    assert api.post("/api/auth/register", json={"email": address, "password": PASSWORD}
                    ).status_code == 201
    cases = [
        ({"email": address, "password": PASSWORD}, 409, "EMAIL_EXISTS"),
        ({"email": "", "password": PASSWORD}, 400, "MISSING_FIELDS"),
        ({"email": email()}, 400, "MISSING_FIELDS"),
        ({"email": email(), "password": "short"}, 400, "WEAK_PASSWORD"),
        ({"email": "not-an-email", "password": PASSWORD}, 400, "VALIDATION_ERROR"),
        ({"email": 42, "password": PASSWORD}, 400, "VALIDATION_ERROR"),
    ]
    for body, status, code in cases:
        r = api.post("/api/auth/register", json=body)
        assert (r.status_code, r.json["error"]["code"]) == (status, code), body
    r = api.post("/api/auth/register", body="{not json", headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json["error"]["code"]) == (400, "INVALID_REQUEST")


def test_login_failures_look_the_same(api):
    address = email()
    api.post("/api/auth/register", json={"email": address, "password": PASSWORD})
    wrong = api.post("/api/auth/login", json={"email": address, "password": "wrong-password"})
    unknown = api.post("/api/auth/login", json={"email": email(), "password": PASSWORD})
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert r.json["error"] == {"code": "INVALID_CREDENTIALS",
                                   "message": "Invalid email or password"}
    r = api.post("/api/auth/login", json={"email": address})
    assert (r.status_code, r.json["error"]["code"]) == (400, "MISSING_FIELDS")


def _token(secret, alg="HS256", **claims):
    now = datetime.now(timezone.utc)
    base = {"user_id": 1, "iat": now, "nbf": now, "exp": now + timedelta(hours=1),
            "iss": "shoplab"}
    base.update(claims)
    return jwt.encode(base, secret, algorithm=alg)


def _none_token():
    import base64
    import json

    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    now = int(datetime.now(timezone.utc).timestamp())
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'user_id': 1, 'iat': now, 'exp': now + 3600, 'iss': 'shoplab'})}."


@pytest.mark.parametrize("case, header, code", [
    ("missing", None, "UNAUTHORIZED"),
    ("no bearer", "Token abc", "INVALID_FORMAT"),
    ("empty bearer", "Bearer ", "INVALID_FORMAT"),
    ("garbage", "Bearer not.a.jwt", "TOKEN_MALFORMED"),
    ("alg none", "NONE", "INVALID_TOKEN"),
    ("other key", "OTHER", "INVALID_TOKEN"),
    ("expired", "EXPIRED", "TOKEN_EXPIRED"),
    ("tampered", "TAMPERED", "INVALID_TOKEN"),
])
def test_bad_tokens_get_401(api, stack, case, header, code):
    secret = stack.secrets["jwt_secret"]
    if header == "NONE":
        header = f"Bearer {_none_token()}"
    elif header == "OTHER":
        header = f"Bearer {_token('another-secret-that-is-32-bytes-long')}"
    elif header == "EXPIRED":
        past = datetime.now(timezone.utc) - timedelta(hours=25)
        header = f"Bearer {_token(secret, iat=past, nbf=past, exp=past + timedelta(hours=24))}"
    elif header == "TAMPERED":
        good = api.token()
        head, payload, sig = good.split(".")
        other = _token("y" * 32, user_id=999999).split(".")[1]
        header = f"Bearer {head}.{other}.{sig}"
    headers = {"Authorization": header} if header else {}
    for method, path in [("GET", "/api/cart"), ("POST", "/api/orders"),
                         ("GET", "/api/orders/1"), ("POST", "/api/payment/create-intent")]:
        r = api.request(method, path, headers=headers, json={"order_id": 1})
        assert r.status_code == 401, (case, path)
        assert r.json["error"]["code"] == code, (case, path)
        assert r.headers.get("WWW-Authenticate") == "Bearer"


def test_token_lifetime_is_24h(api, stack):
    token = api.token()
    claims = jwt.decode(token, stack.secrets["jwt_secret"], algorithms=["HS256"],
                        issuer="shoplab")
    assert claims["exp"] - claims["iat"] == 24 * 3600
