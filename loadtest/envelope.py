"""How a simulated user judges an answer: the reference's k6 checks, plus the answers that are
the shop working correctly. Kept free of locust (which monkey-patches the process at import)
so it can be tested on its own."""
from __future__ import annotations

# answers that are the shop working correctly when shoppers race for the last items: counted
# under their own name ("cart add (out of stock)"), not as failures
OUT_OF_STOCK = {(400, "INSUFFICIENT_STOCK"), (409, "INSUFFICIENT_STOCK")}


def check_envelope(resp, ok=(200,), expected=frozenset()) -> dict | None:
    """The reference's checks: status 200 (or ``ok``), valid JSON, ``success === true``.
    A (status, error code) in ``expected`` is a success under the name "<name> (<code>)"."""
    if resp.status_code not in ok:
        code = _error_code(resp)
        if (resp.status_code, code) in expected:
            resp.request_meta["name"] += f" ({code})"
            resp.success()
        else:
            resp.failure(f"HTTP {resp.status_code}")
        return None
    body, why = judge_body(resp.json)
    if why:
        resp.failure(why)
        return None
    resp.success()
    return body


def judge_body(parse) -> tuple[dict | None, str | None]:
    """The reference's check of a body: ``(body, None)`` when ``parse()`` (which raises
    ValueError on what is not JSON) gives an object with ``success: true``, else
    ``(None, why)``. Shared by the locust users and the open-loop generator."""
    try:
        body = parse()
    except ValueError:
        return None, "invalid JSON"
    if not isinstance(body, dict) or body.get("success") is not True:
        return None, "success is not true"
    return body, None


def _error_code(resp) -> str | None:
    try:
        return resp.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
