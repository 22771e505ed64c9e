"""/openapi.json: the OpenAPI 3.1 description of every route (built in app/openapi_spec.py)."""
from __future__ import annotations

from app import media
from app.openapi_spec import spec
from app.settings import Settings


class Document:
    def __init__(self, settings: Settings):
        self.body = media.dumps(spec(settings)).encode()  # the limits it states are settings

    def on_get(self, req, resp):
        resp.content_type = "application/json"
        resp.data = self.body
