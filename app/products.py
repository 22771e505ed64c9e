"""The catalogue: paginated list with category filter, categories, search, detail."""
from __future__ import annotations

import threading
import time

from app.db import Database
from app.errors import not_found, ok
from app.settings import Settings
from app.validation import query_int, query_str

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
SEARCH_LIMIT = 50


class CountCache:
    """Catalogue counts per category, reused for PRODUCT_COUNT_TTL seconds by this worker.

    ``COUNT(*)`` on every page is what made the naive listing collapse on a large catalogue
    (~10 ms per count on 100k rows; see shared/reference/performance-ceiling.md). The count
    only changes when the catalogue itself changes (seeding, not checkout: stock does not
    change the number of products), so a short-lived per-worker copy is safe and needs no
    round trip at all.
    """

    def __init__(self, db: Database, ttl: float):
        self.db, self.ttl = db, ttl
        self._counts: dict[str | None, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def get(self, category: str | None) -> int:
        hit = self._counts.get(category)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        count = self.db.count_products(category)
        with self._lock:
            if len(self._counts) > 1000:  # arbitrary categories asked for: stay bounded
                self._counts.clear()
            self._counts[category] = (time.monotonic() + self.ttl, count)
        return count


class ProductList:
    def __init__(self, settings: Settings, db: Database):
        self.db = db
        self.counts = CountCache(db, settings.product_count_ttl)

    def on_get(self, req, resp):
        page = query_int(req, "page", 1)
        per_page = min(query_int(req, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
        category = query_str(req, "category", max_len=100) or None
        products = self.db.list_products(category, per_page, (page - 1) * per_page)
        # a short first page already tells the total: no count needed
        if page == 1 and len(products) < per_page:
            total = len(products)
        else:
            total = self.counts.get(category)
        ok(resp, {"products": products,
                  "pagination": {"page": page, "per_page": per_page, "total": total}})


class Categories:
    """Category names with their product counts, reused like the counts above."""

    def __init__(self, settings: Settings, db: Database):
        self.db, self.ttl = db, settings.product_count_ttl
        self._cached: tuple[float, list] = (float("-inf"), [])

    def on_get(self, req, resp):
        expires, data = self._cached
        if expires <= time.monotonic():
            data = self.db.categories()
            self._cached = (time.monotonic() + self.ttl, data)
        ok(resp, data)


class ProductSearch:
    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req, resp):
        q = query_str(req, "q", max_len=200) or ""
        ok(resp, self.db.search_products(q.strip(), SEARCH_LIMIT))


class ProductDetail:
    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req, resp, product_id: int):
        product = self.db.product(product_id)
        if product is None:
            raise not_found("Product")
        ok(resp, product)
