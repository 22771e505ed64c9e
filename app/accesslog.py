"""One JSON log line and one histogram sample per request, and the request id.

The request id comes from nginx's ``X-Request-ID`` (or is made here) and is echoed back, so a
line in nginx's log, the app's log and the client's error report can be matched. The line
never holds the Authorization header, tokens, passwords or bodies.
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from app import db

log = logging.getLogger("shop.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_CONVERTER = re.compile(r"\{(\w+):[^}]*\}")


def route_name(template: str | None) -> str:
    """'/api/orders/{order_id:int(min=1)}' -> '/api/orders/{order_id}' (a metrics label)."""
    return _CONVERTER.sub(r"{\1}", template) if template else "unmatched"


class AccessLog:
    def __init__(self, metrics):
        self.metrics = metrics

    def process_request(self, req, resp):
        req.context.started = time.perf_counter()
        db.pool_wait_ms.set(0.0)
        rid = req.get_header("X-Request-ID")
        req.context.request_id = rid if rid and _SAFE_ID.match(rid) else uuid.uuid4().hex
        req.context.user_id = None
        resp.set_header("X-Request-ID", req.context.request_id)

    def process_response(self, req, resp, resource, req_succeeded):
        elapsed = time.perf_counter() - req.context.get("started", time.perf_counter())
        route = route_name(req.uri_template)
        status = resp.status_code
        self.metrics.observe(req.method, route, status, elapsed)
        fields = {"method": req.method, "route": route, "path": req.path, "status": status,
                  "latency_ms": round(elapsed * 1000, 2),
                  "pool_wait_ms": round(db.pool_wait_ms.get(), 2),
                  "request_id": req.context.get("request_id"),
                  "user_id": req.context.get("user_id")}
        code = req.context.get("error_code") or resp.context.get("error_code")
        if code:
            fields["error"] = code
        log.info("request", extra={"fields": fields})
