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
    try:
        body = resp.json()
    except ValueError:
        resp.failure("invalid JSON")
        return None
    if not isinstance(body, dict) or body.get("success") is not True:
        resp.failure("success is not true")
        return None
    resp.success()
    return body


def _error_code(resp) -> str | None:
    try:
        return resp.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
