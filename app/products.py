"""The catalogue: paginated list with category filter, categories, search, detail.

The list and the detail are the hot paths: their JSON comes from PostgreSQL as text and goes
out as it came, through the per-worker CatalogueCache."""
from __future__ import annotations

import time

from app.catalogue_cache import CatalogueCache
from app.errors import envelope, not_found, ok, ok_body
from app.media import dumps
from app.settings import Settings
from app.store.catalogue import CatalogueStore
from app.validation import query_int, query_str

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
SEARCH_LIMIT = 50


class CountCache:
    """Catalogue counts per category, reused for PRODUCT_COUNT_TTL seconds by this worker.

    ``COUNT(*)`` on every page is what made the naive listing collapse on a large catalogue
    (~10 ms per count on 100k rows; see shared/reference/performance-ceiling.md). The count
    only changes when the catalogue itself changes (seeding, not checkout: stock does not
    change the number of products), so a short-lived per-worker copy is safe. A miss is
    counted in the page's own query: no extra round trip.
    """

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._counts: dict[str | None, tuple[float, int]] = {}

    def get(self, category: str | None) -> int | None:
        hit = self._counts.get(category)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def put(self, category: str | None, count: int) -> None:
        if self.ttl <= 0:
            return
        if len(self._counts) > 1000:  # arbitrary categories asked for: stay bounded
            self._counts.clear()
        self._counts[category] = (time.monotonic() + self.ttl, count)


class ProductList:
    def __init__(self, settings: Settings, store: CatalogueStore, cache: CatalogueCache):
        self.store, self.cache = store, cache
        self.counts = CountCache(settings.product_count_ttl)

    def on_get(self, req, resp):
        page = query_int(req, "page", 1)
        per_page = min(query_int(req, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
        category = query_str(req, "category", max_len=100) or None
        ok_body(resp, self.cache.get_or_build(("list", category, page, per_page),
                                              lambda: self._page(category, page, per_page)))

    def _page(self, category: str | None, page: int, per_page: int) -> bytes:
        known = self.counts.get(category)
        products, total = self.store.page_json(category, per_page, (page - 1) * per_page,
                                            count=known is None)
        if total is None:
            total = known
        else:
            self.counts.put(category, total)
        pagination = dumps({"page": page, "per_page": per_page, "total": total})
        return envelope(f'{{"products":{products},"pagination":{pagination}}}')


class Categories:
    """Category names with their product counts, reused like the counts above."""

    def __init__(self, settings: Settings, store: CatalogueStore):
        self.store, self.ttl = store, settings.product_count_ttl
        self._cached: tuple[float, list] = (float("-inf"), [])

    def on_get(self, req, resp):
        expires, data = self._cached
        if expires <= time.monotonic():
            data = self.store.categories()
            self._cached = (time.monotonic() + self.ttl, data)
        ok(resp, data)


class ProductSearch:
    def __init__(self, store: CatalogueStore):
        self.store = store

    def on_get(self, req, resp):
        q = query_str(req, "q", max_len=200) or ""
        ok(resp, self.store.search(q.strip(), SEARCH_LIMIT))


class ProductDetail:
    def __init__(self, store: CatalogueStore, cache: CatalogueCache):
        self.store, self.cache = store, cache

    def on_get(self, req, resp, product_id: int):
        def build():
            product = self.store.product_json(product_id)
            return None if product is None else envelope(product)
        body = self.cache.get_or_build(("product", product_id), build)
        if body is None:
            raise not_found("Product")
        ok_body(resp, body)
