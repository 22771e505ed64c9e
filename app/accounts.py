"""Register and log in: argon2id password hashes and a JWT for the session."""
from __future__ import annotations

import argon2

from app.auth import issue_token
from app.errors import ApiError, ok, validation_error
from app.fields import Field
from app.ratelimit import LoginLimiter
from app.settings import Settings
from app.store.accounts import AccountStore
from app.validation import parse_json

# OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane)
HASHER = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_PASSWORD = 8
# verified against when the email is unknown, so both failures take the same time
_DUMMY_HASH = HASHER.hash("not-a-real-password")

REGISTER_FIELDS = {
    "email": Field(str, required=False, max=255),
    "password": Field(str, required=False, max=1024),
    "first_name": Field(str, required=False, max=100),
    "last_name": Field(str, required=False, max=100),
}
LOGIN_FIELDS = {"email": Field(str, required=False, max=255),
                "password": Field(str, required=False, max=1024)}


def hash_password(password: str) -> str:
    return HASHER.hash(password)


class _Credentials:
    """Both routes read {email, password, ...} the reference's way: trimmed, lower-cased
    email; INVALID_REQUEST for a body that is not JSON, MISSING_FIELDS for empty ones."""
    fields: dict = LOGIN_FIELDS

    def __init__(self, settings: Settings, accounts: AccountStore):
        self.settings, self.accounts = settings, accounts

    def read(self, req) -> tuple[dict, str, str]:
        body = parse_json(req, self.fields, self.settings.max_body_bytes,
                          invalid_code="INVALID_REQUEST")
        email = (body["email"] or "").strip().lower()
        password = body["password"] or ""
        if not email or not password:
            raise ApiError(400, "MISSING_FIELDS", "Email and password are required")
        return body, email, password


class Register(_Credentials):
    fields = REGISTER_FIELDS

    def on_post(self, req, resp):
        body, email, password = self.read(req)
        local, _, domain = email.partition("@")
        if not local or "." not in domain or " " in email:
            raise validation_error([{"field": "email", "message": "must be an email address"}])
        if len(password) < MIN_PASSWORD:
            raise ApiError(400, "WEAK_PASSWORD",
                           f"password must be at least {MIN_PASSWORD} characters long")
        user_id = self.accounts.create_user(email, hash_password(password),
                                      (body["first_name"] or "").strip(),
                                      (body["last_name"] or "").strip())
        if user_id is None:
            raise ApiError(409, "EMAIL_EXISTS", "An account with this email already exists")
        ok(resp, {"user_id": user_id, "token": issue_token(self.settings, user_id)}, 201)


class Login(_Credentials):
    def __init__(self, settings: Settings, accounts: AccountStore, limiter: LoginLimiter):
        super().__init__(settings, accounts)
        self.limiter = limiter

    def on_post(self, req, resp):
        _, email, password = self.read(req)
        address = req.context.client_ip
        self.limiter.check(email, address)
        found = self.accounts.credentials(email)
        user_id, pw_hash = found if found else (None, _DUMMY_HASH)
        try:
            HASHER.verify(pw_hash, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            user_id = None
        if user_id is None:
            self.limiter.failed(email, address)
            raise ApiError(401, "INVALID_CREDENTIALS", "Invalid email or password")
        self.limiter.succeeded(email, address)
        if HASHER.check_needs_rehash(pw_hash):
            self.accounts.update_password_hash(user_id, hash_password(password))
        ok(resp, {"user_id": user_id, "token": issue_token(self.settings, user_id)})
