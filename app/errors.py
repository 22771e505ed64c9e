"""The reference's JSON envelope for every error, and how each failure maps to a status.

Success: ``{"success": true, "data": ...}``; error: ``{"success": false, "error": {"code",
"message", "details"?}}``. Nothing reaches the client as a traceback or a plain-text page:
unavailable backends become 503 with ``Retry-After``, anything unexpected a logged 500.
"""
from __future__ import annotations

import logging

import falcon
import psycopg
import psycopg_pool
import redis

log = logging.getLogger("shop.errors")

# seconds a client should wait before retrying when a backend is down or saturated
RETRY_AFTER = "1"

FALCON_CODES = {
    400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED", 411: "LENGTH_REQUIRED", 413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE", 429: "RATE_LIMIT_EXCEEDED",
}


def ok(resp: falcon.Response, data, status: int = 200) -> None:
    resp.status = status
    resp.media = {"success": True, "data": data}


def envelope(data_json: str) -> bytes:
    """The success envelope around data that is already JSON text."""
    return b'{"success":true,"data":' + data_json.encode() + b"}"


def ok_body(resp: falcon.Response, body: bytes) -> None:
    """Send a body made by ``envelope`` (no encoding on the way out)."""
    resp.content_type = falcon.MEDIA_JSON
    resp.data = body


class ApiError(Exception):
    """An answer other than success, raised anywhere in a responder."""

    def __init__(self, status: int, code: str, message: str, details=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers or {}


def validation_error(details: list[dict], code: str = "VALIDATION_ERROR",
                     message: str = "Validation failed") -> ApiError:
    return ApiError(400, code, message, details)


def not_found(what: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} not found")


def _send(resp, status, code, message, details=None, headers=None):
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    resp.status = status
    resp.media = {"success": False, "error": error}
    for k, v in (headers or {}).items():
        resp.set_header(k, v)
    resp.context.error_code = code


def _api_error(req, resp, ex: ApiError, params):
    _send(resp, ex.status, ex.code, ex.message, ex.details, ex.headers)


def _http_error(req, resp, ex: falcon.HTTPError, params):
    code = FALCON_CODES.get(ex.status_code, "HTTP_ERROR")
    message = ex.description or ex.title or code
    if ex.status_code == 404:
        message = "No such route"
    _send(resp, ex.status_code, code, message, headers=ex.headers)


def _unavailable(code: str, message: str, hook=None):
    def handler(req, resp, ex, params):
        log.warning("%s: %s: %s", code, type(ex).__name__, str(ex).strip()[:300])
        if hook is not None:
            hook()
        _send(resp, 503, code, message, headers={"Retry-After": RETRY_AFTER})
    return handler


def _data_error(req, resp, ex, params):
    # values Postgres refuses (out of range, bad encoding) are the client's fault
    _send(resp, 400, "VALIDATION_ERROR", "Invalid value",
          [{"field": "body", "message": str(ex).splitlines()[0][:200]}])


def _unexpected(debug: bool):
    def handler(req, resp, ex, params):
        log.error("unhandled %s on %s %s", type(ex).__name__, req.method, req.path,
                  exc_info=ex)
        message = f"{type(ex).__name__}: {ex}" if debug else "Internal server error"
        _send(resp, 500, "INTERNAL_ERROR", message)
    return handler


def register(app: falcon.App, on_db_error=None, debug: bool = False) -> None:
    """Install the handlers; Falcon picks the most specific one for each exception.

    ``on_db_error`` is called when a query fails on a broken connection (e.g. Postgres
    restarted), so the pool can test its other idle connections at once."""
    app.add_error_handler(Exception, _unexpected(debug))
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(ApiError, _api_error)
    app.add_error_handler((psycopg_pool.PoolTimeout, psycopg_pool.TooManyRequests), _unavailable(
        "SERVICE_UNAVAILABLE", "The database is busy or unavailable, try again"))
    app.add_error_handler(psycopg.OperationalError, _unavailable(
        "DATABASE_UNAVAILABLE", "The database is unavailable, try again", on_db_error))
    app.add_error_handler(psycopg.DataError, _data_error)
    # any Redis failure: down, timing out, a replica refusing writes, LOADING after a restart
    app.add_error_handler(redis.exceptions.RedisError, _unavailable(
        "CACHE_UNAVAILABLE", "Redis (carts, rate limits) is unavailable, try again"))
