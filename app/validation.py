"""Reading request bodies and query strings into checked Python values.

Every way a client can get input wrong ends as a 4xx with field details: an oversized body
(413), invalid JSON, a wrong type, a missing field, a value out of range, or a string Postgres
cannot store (NUL bytes, lone surrogates). Unknown fields are ignored, as in the reference
(its frontend sends ``full_name``).
"""
from __future__ import annotations

import json

import falcon

from app.errors import ApiError, validation_error
from app.fields import MAX_PAGE, Field


def clean_str(value: str, field: str) -> str:
    """Refuse what Postgres would refuse with an error instead of storing it."""
    if "\x00" in value:
        raise validation_error([{"field": field, "message": "must not contain NUL characters"}])
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise validation_error([{"field": field, "message": "must be valid UTF-8 text"}]) from None
    return value


def read_body(req: falcon.Request, max_bytes: int) -> bytes:
    """The raw body, at most max_bytes (413 beyond, whatever Content-Length claims)."""
    if req.content_length is not None and req.content_length > max_bytes:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"Request body is larger than {max_bytes} bytes")
    raw = req.bounded_stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"Request body is larger than {max_bytes} bytes")
    return raw


def parse_json(req: falcon.Request, fields: dict[str, Field], max_bytes: int, *,
               invalid_code: str = "VALIDATION_ERROR") -> dict:
    """A JSON object body checked against ``fields``; ``invalid_code`` is the reference's code
    for a body that is not JSON at all (INVALID_REQUEST on auth, INVALID_JSON on payments)."""
    raw = read_body(req, max_bytes)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise validation_error([{"field": "body", "message": f"invalid JSON: {exc}"[:200]}],
                               code=invalid_code, message="Invalid JSON body") from None
    except RecursionError:
        raise validation_error([{"field": "body", "message": "JSON nested too deeply"}],
                               code=invalid_code, message="Invalid JSON body") from None
    if not isinstance(body, dict):
        raise validation_error([{"field": "body", "message": "must be a JSON object"}],
                               code=invalid_code, message="Invalid JSON body")
    out, problems = {}, []
    for name, spec in fields.items():
        value = body.get(name)
        if value is None:
            if spec.required:
                problems.append({"field": name, "message": "is required"})
            else:
                out[name] = None
            continue
        problem = _check(name, value, spec)
        if problem:
            problems.append({"field": name, "message": problem})
        else:
            out[name] = value
    if problems:
        raise validation_error(problems)
    for name, value in out.items():
        if isinstance(value, str):
            clean_str(value, name)
    return out


def _check(name: str, value, spec: Field) -> str | None:
    if spec.type is int:
        # JSON true/false are bools, which Python counts as ints
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        if spec.min is not None and value < spec.min:
            return f"must be at least {spec.min}"
        if spec.max is not None and value > spec.max:
            return f"must be at most {spec.max}"
    elif spec.type is str:
        if not isinstance(value, str):
            return "must be a string"
        if spec.min is not None and len(value) < spec.min:
            return f"must be at least {spec.min} characters"
        if spec.max is not None and len(value) > spec.max:
            return f"must be at most {spec.max} characters"
    if spec.choices and value not in spec.choices:
        return f"must be one of {', '.join(map(str, spec.choices))}"
    return None


def query_int(req: falcon.Request, name: str, default: int, *, low: int = 1,
              high: int = MAX_PAGE) -> int:
    """An integer query parameter; values below ``low`` fall back to the default as in the
    reference, non-integers and absurd values are a 400."""
    raw = _single(req, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise validation_error([{"field": name, "message": "must be an integer"}]) from None
    if value > high:
        raise validation_error([{"field": name, "message": f"must be at most {high}"}])
    return default if value < low else value


def _single(req: falcon.Request, name: str) -> str | None:
    """The one value of a query parameter: given twice is ambiguous, so a 400."""
    raw = req.params.get(name)
    if isinstance(raw, list):
        raise validation_error([{"field": name, "message": "must be given once"}])
    return raw


def query_str(req: falcon.Request, name: str, *, max_len: int = 200) -> str | None:
    raw = _single(req, name)
    if raw is None:
        return None
    if len(raw) > max_len:
        raise validation_error([{"field": name, "message": f"must be at most {max_len} characters"}])
    return clean_str(raw, name)
