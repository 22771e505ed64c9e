-- One page of the catalogue, newest first, as JSON text, with the product count when asked:
-- the listing's only query (app/db.py: product_page_json).
--
-- Why a function: pgbouncer in transaction mode rules out prepared statements, so a plain
-- query is parsed and planned on every request, which was about half of PostgreSQL's time
-- per listing. PL/pgSQL keeps the plans of its queries for the life of the server
-- connection, whichever client is using it. Two branches, so each plan walks its own index
-- (products_created_idx or products_category_created_idx). json_agg takes the rows in the
-- order of the sorted subquery (no join or grouping in between).
CREATE FUNCTION product_page(p_category text, p_limit bigint, p_offset bigint, p_count boolean)
RETURNS TABLE (page text, total bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_category IS NULL THEN
        RETURN QUERY
        SELECT coalesce(json_agg(p), '[]')::text,
               CASE WHEN p_count THEN (SELECT count(*) FROM products) END
        FROM (SELECT id, name, description, price, category, stock, image_url FROM products
              ORDER BY created_at DESC, id DESC LIMIT p_limit OFFSET p_offset) p;
    ELSE
        RETURN QUERY
        SELECT coalesce(json_agg(p), '[]')::text,
               CASE WHEN p_count THEN (SELECT count(*) FROM products
                                       WHERE category = p_category) END
        FROM (SELECT id, name, description, price, category, stock, image_url FROM products
              WHERE category = p_category
              ORDER BY created_at DESC, id DESC LIMIT p_limit OFFSET p_offset) p;
    END IF;
END
$$;
