"""The storefront served by the app itself (SERVE_STOREFRONT: stages 3 and 4, where no nginx is
in front): the files of app/static/ at /, index.html for the storefront's own paths, its
headers as nginx sends them, and the API untouched (its routes, headers and JSON 404s)."""
from pathlib import Path

import pytest
import yaml

from app import create_app
from app.storefront import STATIC_DIR, STOREFRONT_CSP
from conftest import Api, settings_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shop(stack):
    app = create_app(settings_for(stack, serve_storefront=True))
    yield Api(app, "pgbouncer")
    app.close()


def test_files_and_the_storefront_headers(shop):
    index = (STATIC_DIR / "index.html").read_bytes()
    for path in ("/", "/index.html"):
        r = shop.get(path)
        assert r.status_code == 200 and r.content == index, path
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["Content-Security-Policy"] == "; ".join(STOREFRONT_CSP)
        assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    script = next(STATIC_DIR.glob("js/*.js"))
    r = shop.get(f"/js/{script.name}")
    assert r.status_code == 200 and r.content == script.read_bytes()
    assert "javascript" in r.headers["content-type"]


def test_the_storefronts_own_paths_get_index_html(shop):
    r = shop.get("/orders/42")
    assert r.status_code == 200 and r.content == (STATIC_DIR / "index.html").read_bytes()


def test_the_api_is_untouched(shop):
    r = shop.get("/api/products")
    assert r.status_code == 200 and r.json["success"] is True
    assert r.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    for path in ("/api/nope", "/api/products/search/deeper/nope"):
        r = shop.get(path)
        assert r.status_code == 404 and r.json["error"]["code"] == "NOT_FOUND", path
        assert r.headers["content-type"].startswith("application/json")
    assert shop.get("/healthz").json["success"] is True
    # nothing outside the directory, however the path is spelt
    r = shop.get("/../settings.py")
    assert r.status_code == 404 or r.content == (STATIC_DIR / "index.html").read_bytes()


def test_off_by_default(api):
    r = api.get("/")
    assert r.status_code == 404 and r.json["error"]["code"] == "NOT_FOUND"


def test_nginx_sends_the_same_storefront_policy():
    defaults = yaml.safe_load((ROOT / "roles/nginx/defaults/main.yml").read_text())
    assert tuple(defaults["nginx_storefront_csp"]) == STOREFRONT_CSP
