"""Tokens: HS256 JWTs that say which user is calling, checked on every protected route.

A resource marks itself protected with ``auth_required = True``; ``AuthMiddleware`` then puts
the caller's id in ``req.context.user_id`` or answers 401 with the reference's codes.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt

from app.errors import ApiError
from app.settings import Settings

ISSUER = "shoplab"


def issue_token(settings: Settings, user_id: int) -> str:
    now = datetime.now(timezone.utc)
    claims = {"user_id": user_id, "sub": f"user-{user_id}", "iss": ISSUER, "iat": now,
              "nbf": now, "exp": now + timedelta(hours=settings.jwt_ttl_hours)}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def user_from_header(settings: Settings, header: str | None) -> int:
    if not header:
        raise _unauthorized("UNAUTHORIZED", "Authorization header required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("INVALID_FORMAT", "Authorization header must be 'Bearer <token>'")
    try:
        # only HS256 is accepted: "none" and any other algorithm fail here
        claims = jwt.decode(token.strip(), settings.jwt_secret, algorithms=["HS256"],
                            issuer=ISSUER, options={"require": ["exp", "iat", "user_id"]})
    except jwt.ExpiredSignatureError:
        raise _unauthorized("TOKEN_EXPIRED", "Token has expired") from None
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
        raise _unauthorized("INVALID_TOKEN", "Invalid token") from None
    except jwt.DecodeError:
        raise _unauthorized("TOKEN_MALFORMED", "Malformed token") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("UNAUTHORIZED", "Authentication failed") from None
    user_id = claims.get("user_id")
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 1:
        raise _unauthorized("INVALID_TOKEN", "Invalid token")
    return user_id


class AuthMiddleware:
    def __init__(self, settings: Settings):
        self.settings = settings

    def process_resource(self, req, resp, resource, params):
        req.context.user_id = None
        if req.method == "OPTIONS" or not getattr(resource, "auth_required", False):
            return
        req.context.user_id = user_from_header(self.settings, req.get_header("Authorization"))
