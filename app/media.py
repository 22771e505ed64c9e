"""JSON in and out: Decimal money as JSON numbers (2 decimals), timestamps as RFC 3339."""
from __future__ import annotations

import functools
import json
from datetime import datetime
from decimal import Decimal

import falcon
import falcon.media


def _default(value):
    if isinstance(value, Decimal):
        return float(value)  # NUMERIC(10,2) values are exact in a double's 15 digits
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


dumps = functools.partial(json.dumps, default=_default, separators=(",", ":"),
                          ensure_ascii=False)


def install(app: falcon.App) -> None:
    handler = falcon.media.JSONHandler(dumps=dumps)
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = handler
    app.req_options.media_handlers[falcon.MEDIA_JSON] = handler
