-- Indexes for the queries in app/db.py (users.email is indexed by its UNIQUE constraint).
-- Listing, newest first, whole catalogue or one category: both walk an index in order, so
-- page 1 costs the same on 50 rows as on 100k.
CREATE INDEX products_created_idx ON products (created_at DESC, id DESC);
CREATE INDEX products_category_created_idx ON products (category, created_at DESC, id DESC);
-- Text search is a substring match on name and description (as the reference's LIKE '%q%');
-- trigrams make it an index scan on a large catalogue.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX products_search_trgm_idx ON products
    USING gin ((lower(name || ' ' || description)) gin_trgm_ops);
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX order_items_order_idx ON order_items (order_id);
CREATE INDEX order_items_product_idx ON order_items (product_id);
