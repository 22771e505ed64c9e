"""/openapi.json: the OpenAPI 3.1 description of every route (built in app/openapi_spec.py)."""
from __future__ import annotations

import functools

from app import media
from app.openapi_spec import spec


@functools.cache
def _document() -> bytes:
    return media.dumps(spec()).encode()


class Document:
    def on_get(self, req, resp):
        resp.content_type = "application/json"
        resp.data = _document()
