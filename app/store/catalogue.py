"""Products and categories. The listing's query lives in the PL/pgSQL function product_page
(migration 004), whose plans PostgreSQL keeps even behind pgbouncer in transaction mode."""
from __future__ import annotations

from psycopg.rows import dict_row

from app.db import Database

# the product's public fields, in the order of the API's Product schema (migration 004's
# product_page() lists the same columns; tests/app/test_products.py checks they agree)
PRODUCT_COLUMNS = "id, name, description, price, category, stock, image_url"


class CatalogueStore:
    def __init__(self, db: Database):
        self.db = db

    def page_json(self, category: str | None, limit: int, offset: int,
                  *, count: bool) -> tuple[str, int | None]:
        """One page of the catalogue, newest first, as JSON text built by PostgreSQL, and the
        number of products (None unless ``count``), in one round trip."""
        with self.db.connection() as conn:
            return conn.execute("SELECT page, total FROM product_page(%s, %s, %s, %s)",
                                (category, limit, offset, count)).fetchone()

    def product_json(self, product_id: int) -> str | None:
        """One product as JSON text (PostgreSQL's), or None."""
        with self.db.connection() as conn:
            row = conn.execute(f"SELECT row_to_json(p)::text FROM (SELECT {PRODUCT_COLUMNS}"
                               " FROM products WHERE id = %s) p", (product_id,)).fetchone()
        return row[0] if row else None

    def categories(self) -> list[dict]:
        with self.db.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            return cur.execute("SELECT category AS name, count(*) AS count FROM products"
                               " GROUP BY category ORDER BY category").fetchall()

    def products(self, ids) -> dict[int, dict]:
        """{id: product} for those of ``ids`` that exist."""
        with self.db.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            rows = cur.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ANY(%s)",
                               (list(ids),)).fetchall()
        return {r["id"]: r for r in rows}

    def product(self, product_id: int) -> dict | None:
        return self.products([product_id]).get(product_id)

    def search(self, q: str, limit: int) -> list[dict]:
        """Substring match on name + description (products_search_trgm_idx); LIKE wildcards
        typed by the client are matched literally."""
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.db.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            return cur.execute(
                f"SELECT {PRODUCT_COLUMNS} FROM products"
                " WHERE lower(name || ' ' || description) LIKE %s"
                " ORDER BY id LIMIT %s", (pattern, limit)).fetchall()
