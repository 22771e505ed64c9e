"""Fixtures for the storefront's end-to-end test in Debian's headless Chromium.

The shop is the real stack of `make run`, built by the same module (tools/devstack.py: nginx
serving app/static/ and proxying /api to gunicorn, pgbouncer in front of Postgres, Redis, the
fake Stripe that sends webhooks), seeded with the 50 reference products, on free loopback
ports of its own so it never collides with a `make run` someone has up; it is stopped at the
end. It is served over HTTPS as the lab's edge is (a certificate of its own lab CA, the plain
port only redirecting); Chromium trusts exactly that certificate's key
(--ignore-certificate-errors-spki-list), nothing else. SHOP_URL=https://... tests a shop that is
already running instead (e.g. a lab stage; SHOP_CERT: the PEM certificate it serves).
Screenshots, the browser's log and the stack's logs go to .state/browser/.
"""
from __future__ import annotations

import base64
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from selenium import webdriver

from shop_page import ShopPage  # tests/browser is on sys.path (no __init__.py: rootdir import)

REPO = Path(__file__).resolve().parents[2]
OUT_DIR = REPO / ".state" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 900)


@pytest.fixture(scope="session")
def out_dir():
    if (OUT_DIR / "stack" / "pids").is_dir():  # left running by an interrupted run
        sys.path.insert(0, str(REPO / "tools"))
        from devstack import Stack
        Stack(OUT_DIR / "stack", {}).down()
    shutil.rmtree(OUT_DIR, ignore_errors=True)
    OUT_DIR.mkdir(parents=True)
    yield OUT_DIR
    print(f"\nbrowser screenshots and logs: {OUT_DIR}")


@pytest.fixture(scope="session")
def stack(out_dir):
    """The devstack Stack this session started, or None when SHOP_URL names a running shop."""
    if os.environ.get("SHOP_URL"):
        yield None
        return
    sys.path.insert(0, str(REPO / "tools"))
    from devstack import SERVICES, Stack, free_ports

    started = Stack(out_dir / "stack", free_ports((*SERVICES, "https")), workers=2, threads=4,
                    tls=True)
    started.up(products=50)  # stops what it started if it fails half-way
    try:
        yield started
    finally:
        started.down()


@pytest.fixture(scope="session")
def shop_url(stack):
    """The storefront's URL, with the whole stack running behind it. The tests' own API calls
    (requests) verify its certificate against the stack's CA (SHOP_URL: REQUESTS_CA_BUNDLE)."""
    if stack is None:
        return os.environ["SHOP_URL"].rstrip("/")
    os.environ["REQUESTS_CA_BUNDLE"] = stack.ca_file
    return stack.shop_url


# Shaped like a real Stripe key (so the page tries Stripe.js), but not one.
REAL_LOOKING_KEY = "pk_test_" + "51ShoplabBrowserTest" + "0" * 80


@pytest.fixture
def real_looking_publishable_key(stack):
    """The app restarted with a publishable key the page will try Stripe.js for; restored
    afterwards. Needs the session's own stack (the app's settings come from its env)."""
    if stack is None:
        pytest.skip("needs the test's own stack (SHOP_URL is set)")

    def restart_app():
        stack.stop("app")
        stack.start_app()
        stack.wait_ready()

    stack.app_env["STRIPE_PUBLISHABLE_KEY"] = REAL_LOOKING_KEY
    restart_app()
    try:
        yield REAL_LOOKING_KEY
    finally:
        del stack.app_env["STRIPE_PUBLISHABLE_KEY"]
        restart_app()


@pytest.fixture(scope="session")
def shop_cert(stack) -> Path | None:
    """The certificate the shop serves over HTTPS (None: a plain-HTTP SHOP_URL)."""
    if stack:
        return Path(stack.tls_files["cert"])
    return Path(os.environ["SHOP_CERT"]) if os.environ.get("SHOP_CERT") else None


def spki_sha256(cert: Path) -> str:
    """base64 SHA-256 of the certificate's public key: what Chromium's SPKI allow-list takes."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    key = x509.load_pem_x509_certificate(cert.read_bytes()).public_key()
    digest = hashes.Hash(hashes.SHA256())
    digest.update(key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return base64.b64encode(digest.finalize()).decode()


def chromium(profile: str, window=DESKTOP, phone=None, cert: Path | None = None) -> webdriver.Chrome:
    """Headless Chromium; `phone=(w, h)` emulates a phone's screen (viewport, touch, and the
    page's viewport meta tag), since a headless window cannot be narrower than 500 px."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--hide-scrollbars",
                f"--user-data-dir={profile}", f"--window-size={window[0]},{window[1]}"):
        options.add_argument(arg)
    if cert:
        options.add_argument(f"--ignore-certificate-errors-spki-list={spki_sha256(cert)}")
    if phone:
        options.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": phone[0], "height": phone[1], "pixelRatio": 1}})
    # console messages, plus DevTools network events to catch every failed request
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    return webdriver.Chrome(options=options, service=service)


@pytest.fixture
def open_shop(shop_url, out_dir, shop_cert):
    """open_shop(phone=None|(w, h)) -> a ShopPage in a fresh Chromium profile, closed after
    the test."""
    drivers = []

    def _open(phone=None) -> ShopPage:
        profile = tempfile.mkdtemp(prefix="shoplab-chromium-")
        driver = chromium(profile, phone=phone, cert=shop_cert)
        drivers.append((driver, profile))
        return ShopPage(driver, shop_url, out_dir)

    yield _open
    for driver, profile in drivers:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
