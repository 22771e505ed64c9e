"""What the shopper journey may buy: only the load test's own catalogue (sql/catalogue.py,
seeded by ``python -m sql.seed --loadtest-products N``), never the reference's products, so
a lab left running after a load test still sells every product of the reference catalogue.
Kept free of locust (which monkey-patches the process at import) so it can be tested alone."""
from __future__ import annotations

from urllib.parse import urlencode

from sql.catalogue import LOADTEST_CATEGORY

# the journey's "list by category" request: the load-test category's first page
LISTING_PATH = "/api/products?" + urlencode({"category": LOADTEST_CATEGORY, "per_page": 20})
NO_CATALOGUE = (f"no {LOADTEST_CATEGORY!r} product in stock: seed the target with "
                "python -m sql.seed --loadtest-products 20")


def buyable(products: list[dict]) -> list[int]:
    """Ids the journey may put in a cart: load-test products with stock to spare (it buys 2)."""
    return [p["id"] for p in products
            if p.get("category") == LOADTEST_CATEGORY and p.get("stock", 0) > 2]
