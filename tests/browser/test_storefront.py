"""The storefront used as a person would, in headless Chromium against the real stack:
browse, register, search, fill and edit a cart, pay with the fake Stripe, see the order paid.
Every step asserts there was no console error and no failed request (except the error
answers the test provokes on purpose to check the page explains them)."""
from __future__ import annotations

import uuid
from decimal import Decimal

import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from shop_page import PAYMENT_WAIT

PHONE = (390, 844)
PER_PAGE = 12  # the catalogue page size in app/static/js/views.js
PASSWORD = "correct horse battery"


def money(value) -> str:
    return f"${Decimal(value):,.2f}"


def api_product(shop_url: str, name: str) -> dict:
    """The product as the API describes it (the expected prices come from here, not the page)."""
    found = requests.get(f"{shop_url}/api/products/search", params={"q": name}, timeout=5).json()
    matches = [p for p in found["data"] if p["name"] == name]
    assert matches, f"{name!r} is not in the catalogue: is the stack seeded with 50 products?"
    return matches[0]


def search(page, words: str) -> None:
    """Types in the search box and presses Enter, as a keyboard user would."""
    if not page.driver.find_elements(By.ID, "search-q"):  # the catalogue has the search box
        page.click(page.link("Catalogue"))
        page.wait_heading("Catalogue")
    box = page.fill("Search products", words)
    box.send_keys(Keys.ENTER)
    page.wait_heading(f"Results for “{words}”")


def badge(page) -> str:
    """The cart count in the header, as read aloud (its " items" part is visually hidden)."""
    return page.driver.find_element(By.ID, "cart-count").get_attribute("textContent")


def cart_total(page) -> str:
    return page.driver.find_element(By.ID, "cart-total").text


def test_shopper_registers_searches_fills_cart_and_pays(shop_url, open_shop):
    page = open_shop()
    airpods, switch, candle = (api_product(shop_url, n) for n in (
        "AirPods Pro", "Nintendo Switch OLED", "Yankee Candle Large Jar"))

    # --- the catalogue, its category filter and its pages ------------------------------
    total = requests.get(f"{shop_url}/api/products", timeout=5).json()["data"]["pagination"]["total"]
    categories = requests.get(f"{shop_url}/api/categories", timeout=5).json()["data"]
    clothing = next(c["count"] for c in categories if c["name"] == "Clothing")
    page.open("#/")
    page.wait_heading("Catalogue")
    cards = page.driver.find_elements(By.CSS_SELECTOR, ".product-grid > li")
    assert len(cards) == min(PER_PAGE, total)
    assert page.driver.find_element(By.ID, "results-summary").text == \
        f"Showing 1–{len(cards)} of {total} products."
    page.shot("01-catalogue")
    page.assert_clean()

    category = page.field("Category")
    category.send_keys("Clothing")  # a native <select>, chosen by typing as with a keyboard
    page.click(page.button("Search"))
    page.wait_heading("Clothing")
    page.click(page.link("Next"))
    pages = -(-clothing // PER_PAGE)
    page.wait(lambda: f"Page 2 of {pages}" in page.driver.find_element(By.CSS_SELECTOR, ".pager").text)
    names = [e.text for e in page.driver.find_elements(By.CSS_SELECTOR, ".product-grid h2")]
    assert len(names) == min(PER_PAGE, clothing - PER_PAGE) and all(names)
    categories_shown = {e.text for e in page.driver.find_elements(By.CSS_SELECTOR, ".product-grid .category")}
    assert categories_shown == {"CLOTHING"}  # shown upper-case by CSS
    page.assert_clean()

    # --- register: first a password the API refuses, and its message on the field --------
    page.click(page.link("Register"))
    page.wait_heading("Create an account")
    page.shot("02-register")
    email = f"shopper-{uuid.uuid4().hex[:10]}@example.com"
    page.fill("First name", "Ada")
    page.fill("Last name", "Lovelace")
    page.fill("Email", email)
    page.fill("Password", "short")
    page.click(page.button("Register"))
    page.wait(lambda: page.driver.find_elements(By.CSS_SELECTOR, ".field-error"))
    password = page.field("Password")
    note = page.driver.find_element(By.ID, "register-password-error")
    assert "at least 8 characters" in note.text
    assert password.get_attribute("aria-invalid") == "true"
    assert note.get_attribute("id") in password.get_attribute("aria-describedby")
    assert page.focused() == password  # focus goes to the field to fix
    assert "at least 8 characters" in page.alert()
    page.shot("03-register-error")
    page.assert_clean(expected=(("/api/auth/register", 400),))

    page.fill("Password", PASSWORD)
    page.click(page.button("Register"))
    page.wait_status("Your account is ready")
    page.wait_heading("Catalogue")
    assert page.button("Log out").is_displayed()
    assert email in page.driver.find_element(By.ID, "who").text
    page.assert_clean()

    # --- find a product by search, open its page, add two of it -------------------------
    search(page, "AirPods")
    assert page.link("AirPods Pro").is_displayed()
    page.shot("04-search")
    page.click(page.link("AirPods Pro"))
    page.wait_heading("AirPods Pro")
    assert page.focused().tag_name == "h1"  # focus moved to the new page's heading
    assert money(airpods["price"]) in page.driver.find_element(By.CSS_SELECTOR, ".product-page").text
    page.fill("Quantity", 2)
    page.click(page.button("Add to cart"))
    page.wait_status("Added 2 × AirPods Pro to your cart.")
    page.shot("05-product")

    # --- two more products from search results: one stays, one will be removed ------------
    for product in (switch, candle):
        search(page, product["name"].split()[0])
        page.click(page.button(f"Add {product['name']} to cart"))
        page.wait_status(f"Added 1 × {product['name']} to your cart.")
    page.wait(lambda: badge(page) == "4 items")
    page.assert_clean()

    # --- the cart: remove a line, change a quantity, check the total ---------------------
    page.click(page.link("Cart 4 items"))
    page.wait_heading("Your cart")
    assert len(page.driver.find_elements(By.CSS_SELECTOR, ".cart-line")) == 3
    page.click(page.button(f"Remove {candle['name']}"))
    page.wait_status(f"Removed {candle['name']} from your cart.")
    assert len(page.driver.find_elements(By.CSS_SELECTOR, ".cart-line")) == 2
    quantity = page.fill(f"Quantity of {switch['name']}", 2)
    quantity.send_keys(Keys.ENTER)  # submits the line's form: PUT /api/cart/{id}
    page.wait_status(f"{switch['name']}: quantity set to 2.")
    expected_total = 2 * Decimal(str(airpods["price"])) + 2 * Decimal(str(switch["price"]))
    page.wait(lambda: cart_total(page) == money(expected_total),
              message=lambda: f"cart total {cart_total(page)} != {money(expected_total)}")
    page.shot("06-cart")
    page.assert_clean()

    # --- checkout: the order, the PaymentIntent, the test-mode payment, the webhook --------
    page.click(page.button("Place order"))
    page.wait(lambda: page.heading().startswith("Pay for order #"))
    order_id = page.heading().removeprefix("Pay for order #")
    pay = page.button(f"Pay {money(expected_total)} with test card")
    assert "Test mode" in page.driver.find_element(By.CSS_SELECTOR, ".test-mode").text
    page.shot("07-checkout")
    page.click(pay)
    page.wait(lambda: "Payment received" in page.driver.find_element(By.ID, "payment-outcome").text,
              timeout=PAYMENT_WAIT, message="the order never became paid")
    assert f"Order #{order_id} is paid" in page.driver.find_element(By.ID, "payment-outcome").text
    page.wait_status(f"Order #{order_id} is paid.")
    assert page.driver.find_element(By.ID, "cart-count").get_attribute("hidden") is not None
    page.shot("08-paid")
    page.assert_clean()

    # --- order history: detail and list ---------------------------------------------------
    page.click(page.link("View the order"))
    page.wait_heading(f"Order #{order_id}")
    assert page.driver.find_element(By.ID, "order-status").text == "paid"
    rows = page.driver.find_elements(By.CSS_SELECTOR, "table.items tbody tr")
    assert [r.find_element(By.TAG_NAME, "th").text for r in rows] == ["AirPods Pro", switch["name"]]
    page.shot("09-order")
    page.click(page.link("Orders"))
    page.wait_heading("Your orders")
    row = page.link(f"Order #{order_id}").find_element(By.XPATH, "./..")
    assert "paid" in row.text and money(expected_total) in row.text
    page.shot("10-orders")
    page.assert_clean()

    # --- log out, a wrong password explained, log in again --------------------------------
    page.click(page.button("Log out"))
    page.wait_status("You are logged out.")
    page.click(page.link("Log in"))
    page.wait_heading("Log in")
    page.fill("Email", email)
    page.fill("Password", "not the password")
    page.click(page.button("Log in"))
    page.wait(lambda: "Invalid email or password" in page.alert())
    page.shot("11-login-error")
    page.assert_clean(expected=(("/api/auth/login", 401),))
    page.fill("Password", PASSWORD)
    page.click(page.button("Log in"))
    page.wait_status("You are logged in.")
    page.click(page.link("Orders"))
    page.wait_heading("Your orders")
    assert page.link(f"Order #{order_id}").is_displayed()
    page.assert_clean()


def api_shopper(shop_url: str, cart: dict[str, int]) -> tuple[str, dict]:
    """A shopper registered through the API with `cart` ({product name: quantity}) filled:
    (email, headers with its token)."""
    email = f"shopper-{uuid.uuid4().hex[:10]}@example.com"
    answer = requests.post(f"{shop_url}/api/auth/register",
                           json={"email": email, "password": PASSWORD}, timeout=10)
    assert answer.status_code == 201, answer.text
    auth = {"Authorization": f"Bearer {answer.json()['data']['token']}"}
    for name, quantity in cart.items():
        added = requests.post(f"{shop_url}/api/cart", headers=auth, timeout=10, json={
            "product_id": api_product(shop_url, name)["id"], "quantity": quantity})
        assert added.status_code == 200, added.text
    return email, auth


def token(auth: dict) -> str:
    return auth["Authorization"].removeprefix("Bearer ")


def test_phone_screen_has_no_sideways_scroll(shop_url, open_shop):
    """At 390x844 (a phone) every page fits the width; the signed-in pages use a shopper
    made through the API, since the journey above already covers doing it by hand."""
    email, auth = api_shopper(shop_url, {"Samsung Galaxy S24 Ultra": 1,
                                         "Champion Reverse Weave Hoodie": 3})
    phone = api_product(shop_url, "Samsung Galaxy S24 Ultra")

    page = open_shop(phone=PHONE)
    page.open("#/")
    page.sign_in(token(auth), email)
    page.wait_heading("Catalogue")
    pages = (("#/", "Catalogue", "phone-catalogue"),
             (f"#/products/{phone['id']}", phone["name"], "phone-product"),
             ("#/cart", "Your cart", "phone-cart"),
             ("#/login", "Log in", "phone-login"))
    for route, heading, shot in pages:
        page.open(route)
        page.wait_heading(heading)
        assert page.viewport_width() == PHONE[0]
        assert page.horizontal_overflow() == 0, f"{route} scrolls sideways at {PHONE}"
        page.shot(shot)
    # the keyboard path into the page: the first Tab reaches the skip link
    page.driver.refresh()
    page.wait_until_shown()
    ActionChains(page.driver).send_keys(Keys.TAB).perform()
    assert page.focused().text == "Skip to content"
    ActionChains(page.driver).send_keys(Keys.ENTER).perform()
    assert page.focused().get_attribute("id") == "main"
    page.assert_clean()

    # an expired or forged token: the API says 401, the page forgets it and asks to log in
    page.driver.execute_script("sessionStorage.setItem('shoplab.token', 'not.a.token');")
    page.open("#/cart")
    page.wait_heading("Log in")
    page.wait_status("Please log in")
    nav = page.driver.find_element(By.CSS_SELECTOR, "nav[aria-label=Main]")
    assert page.link("Log in", within=nav).is_displayed()  # the header shows signed out
    assert page.driver.execute_script("return sessionStorage.getItem('shoplab.token')") is None
    page.assert_clean(expected=(("/api/cart", 401),))


def test_checkout_without_stripe_js_falls_back_to_test_mode(
        shop_url, real_looking_publishable_key, open_shop):
    """With a real-looking publishable key the page loads Stripe.js; when it cannot (the lab
    has no internet; here the browser blocks js.stripe.com), it says so and offers the
    test-mode payment instead, with no error besides the blocked script itself."""
    config = requests.get(f"{shop_url}/api/payment/config", timeout=5).json()["data"]
    assert config == {"publishable_key": real_looking_publishable_key, "test_mode": True}
    email, auth = api_shopper(shop_url, {"Converse Chuck Taylor": 1})
    order = requests.post(f"{shop_url}/api/orders", headers=auth, timeout=10).json()["data"]

    page = open_shop()
    page.block("*js.stripe.com*")
    page.open("#/")
    page.sign_in(token(auth), email)
    page.open(f"#/orders/{order['id']}/pay")
    page.wait_heading(f"Pay for order #{order['id']}")
    note = page.wait(lambda: page.driver.find_element(By.CSS_SELECTOR, ".test-mode").text)
    assert "Stripe’s card form could not be loaded, so the shop confirms" in note
    page.shot("12-checkout-without-stripe-js")
    page.click(page.button(f"Pay {money(order['total'])} with test card"))
    page.wait(lambda: "Payment received" in page.driver.find_element(By.ID, "payment-outcome").text,
              timeout=PAYMENT_WAIT, message="the order never became paid")
    page.assert_clean(expected=(("js.stripe.com", "blocked"),))
