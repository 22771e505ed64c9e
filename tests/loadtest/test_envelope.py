"""How the simulated users judge an answer (locust's response object, reduced to what
check_envelope touches)."""
import json

from loadtest.envelope import OUT_OF_STOCK, check_envelope


class Answer:
    def __init__(self, status, body, name="checkout"):
        self.status_code, self._body = status, body
        self.request_meta = {"name": name}
        self.outcome = None

    def json(self):
        return json.loads(self._body)

    def success(self):
        self.outcome = "success"

    def failure(self, why):
        self.outcome = f"failure: {why}"


def error(code):
    return json.dumps({"success": False, "error": {"code": code, "message": "x"}})


def test_success_envelope():
    r = Answer(201, json.dumps({"success": True, "data": {"id": 7}}))
    assert check_envelope(r, ok=(200, 201)) == {"success": True, "data": {"id": 7}}
    assert r.outcome == "success" and r.request_meta["name"] == "checkout"


def test_sold_out_is_an_expected_answer_counted_apart():
    r = Answer(409, error("INSUFFICIENT_STOCK"))
    assert check_envelope(r, ok=(201,), expected=OUT_OF_STOCK) is None
    assert r.outcome == "success" and r.request_meta["name"] == "checkout (INSUFFICIENT_STOCK)"


def test_other_errors_still_fail():
    for status, body in [(409, error("CONFLICT")), (400, error("EMPTY_CART")),
                         (503, error("SERVICE_UNAVAILABLE")), (502, "<html>bad gateway</html>")]:
        r = Answer(status, body)
        assert check_envelope(r, ok=(201,), expected=OUT_OF_STOCK) is None
        assert r.outcome == f"failure: HTTP {status}" and r.request_meta["name"] == "checkout"
    r = Answer(200, json.dumps({"success": False}))
    check_envelope(r)
    assert r.outcome == "failure: success is not true"
