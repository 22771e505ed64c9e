"""Every input constraint of the API, written once: the checks of request bodies
(app/validation.py), the path converters of the routes and the OpenAPI document
(app/openapi_spec.py) all read these."""
from __future__ import annotations

from dataclasses import dataclass

from app.settings import Settings

# ids are BIGINTs; so are page numbers at most
MAX_ID = 2**63 - 1
MAX_PAGE = 1_000_000_000
# Falcon's converter for an id in a path: anything else is a 404 before the database
ROUTE_ID = f"int(min=1, max={MAX_ID})"
# the cards the test-mode confirmation accepts; the first is the default
TEST_CARDS = ("pm_card_visa", "pm_card_mastercard", "pm_card_chargeDeclined")
# Idempotency-Key: Stripe's limit, printable ASCII
IDEMPOTENCY_KEY_MAX = 255


@dataclass(frozen=True)
class Field:
    type: type  # int or str
    required: bool = True
    min: int | None = None  # int: smallest value; str: shortest length
    max: int | None = None  # int: largest value; str: longest length
    choices: tuple | None = None

    def schema(self) -> dict:
        """The field as JSON Schema (OpenAPI 3.1)."""
        if self.type is int:
            out = {"type": "integer"}
            bounds = {"minimum": self.min, "maximum": self.max}
        else:
            out = {"type": "string"}
            bounds = {"minLength": self.min, "maxLength": self.max}
        out.update({k: v for k, v in bounds.items() if v is not None})
        if self.choices:
            out["enum"] = list(self.choices)
        return out


ORDER_ID = Field(int, min=1, max=MAX_ID)
PRODUCT_ID = Field(int, min=1, max=MAX_ID)


def quantity(settings: Settings) -> Field:
    """Units of one product in a cart line: at most ORDER_MAX_LINE_QUANTITY."""
    return Field(int, min=1, max=settings.order_max_line_quantity)


def body_schema(fields: dict[str, Field], required: tuple[str, ...] | None = None) -> dict:
    """A JSON object of ``fields``; ``required`` overrides which ones the document requires."""
    names = [n for n, f in fields.items() if f.required] if required is None else list(required)
    return {"type": "object", "properties": {n: f.schema() for n, f in fields.items()},
            "required": names}
