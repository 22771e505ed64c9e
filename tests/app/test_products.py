"""The catalogue: the reference's shapes, pagination, category filter, search, detail."""
from decimal import Decimal

PRODUCT_KEYS = {"id", "name", "description", "price", "category", "stock", "image_url"}


def test_list_shape_and_defaults(api):
    r = api.get("/api/products")
    assert r.status_code == 200
    data = r.json["data"]
    assert data["pagination"]["page"] == 1 and data["pagination"]["per_page"] == 20
    assert data["pagination"]["total"] >= 50
    assert len(data["products"]) == 20
    for p in data["products"]:
        assert set(p) == PRODUCT_KEYS
        assert isinstance(p["id"], int) and isinstance(p["price"], float)


def test_pages_do_not_overlap_and_per_page_is_capped(api):
    first = api.get("/api/products", params={"per_page": 10, "page": 1}).json["data"]
    second = api.get("/api/products", params={"per_page": 10, "page": 2}).json["data"]
    assert not {p["id"] for p in first["products"]} & {p["id"] for p in second["products"]}
    capped = api.get("/api/products", params={"per_page": 5000}).json["data"]
    assert capped["pagination"]["per_page"] == 100
    # the reference's leniency: below 1 means the default
    assert api.get("/api/products", params={"page": 0, "per_page": -4}
                   ).json["data"]["pagination"] == {**first["pagination"], "per_page": 20}


def test_category_filter_and_counts(api):
    cats = {c["name"]: c["count"] for c in api.get("/api/categories").json["data"]}
    assert cats["Electronics"] == 15 and cats["Clothing"] == 20 and cats["Home"] == 15
    r = api.get("/api/products", params={"category": "Clothing", "per_page": 100})
    data = r.json["data"]
    assert data["pagination"]["total"] == 20 and len(data["products"]) == 20
    assert {p["category"] for p in data["products"]} == {"Clothing"}
    empty = api.get("/api/products", params={"category": "Nope"}).json["data"]
    assert empty == {"products": [], "pagination": {"page": 1, "per_page": 20, "total": 0}}


def test_search(api):
    hits = api.get("/api/products/search", params={"q": "SONY"}).json["data"]
    assert {p["name"] for p in hits} >= {"Sony WH-1000XM5", "Sony A7 IV"}
    by_description = api.get("/api/products/search", params={"q": "espresso"}).json["data"]
    assert [p["name"] for p in by_description] == ["Nespresso Vertuo"]
    # LIKE wildcards are matched literally
    assert api.get("/api/products/search", params={"q": "%"}).json["data"] == []
    assert len(api.get("/api/products/search").json["data"]) == 50


def test_detail(api, db):
    pid, price = db.execute("SELECT id, price FROM products WHERE name = 'iPhone 15 Pro'"
                            ).fetchone()
    r = api.get(f"/api/products/{pid}")
    assert r.status_code == 200
    assert r.json["data"]["id"] == pid and Decimal(str(r.json["data"]["price"])) == price
    r = api.get("/api/products/987654321")
    assert (r.status_code, r.json["error"]["code"]) == (404, "NOT_FOUND")


def test_the_last_allowed_page_is_empty_not_an_error(api):
    # offset = 999,999,999 x 100: past a 32-bit integer, fine as a bigint
    r = api.get("/api/products", params={"page": 1_000_000_000, "per_page": 100})
    assert r.status_code == 200, r.text
    assert r.json["data"]["products"] == [] and r.json["data"]["pagination"]["page"] == 1_000_000_000
