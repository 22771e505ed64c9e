"""A person's-eye driver for the storefront: find things by their visible names and labels,
wait for what the page shows, take screenshots, and collect every console error and failed
network request from Chromium's logs."""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from selenium.common.exceptions import (
    NoSuchElementException, StaleElementReferenceException, TimeoutException)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 10  # s, for anything the page does after a click
AXE = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"  # npm ci (mk/browser.mk)
# WCAG 2.1 A and AA, plus axe's best practices (landmarks, one h1, skip link target, ...)
AXE_RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
PAYMENT_WAIT = 45  # s: the page itself polls the order for up to 30 s


def _xpath_literal(text: str) -> str:
    return f'"{text}"' if '"' not in text else "concat('" + text.replace("'", "',\"'\",'") + "')"


class ShopPage:
    def __init__(self, driver, base_url: str, out_dir: Path):
        self.driver, self.base_url, self.out_dir = driver, base_url, out_dir
        self._request_urls: dict[str, str] = {}
        self._log = (out_dir / "browser.log").open("a")

    # ---- navigation and waiting -----------------------------------------------------------
    def open(self, route: str = "#/") -> None:
        self.driver.get(f"{self.base_url}/{route}")
        self.wait_until_shown()

    def wait(self, condition, timeout: float = WAIT, message=""):
        """Waits for condition() to be truthy; `message` (text, or a function giving it, read
        only on timeout) says what never happened."""
        try:
            return WebDriverWait(self.driver, timeout, ignored_exceptions=(
                NoSuchElementException, StaleElementReferenceException)).until(
                lambda d: condition())
        except TimeoutException:
            raise AssertionError(message() if callable(message) else message) from None

    def wait_until_shown(self) -> None:
        """The current view has rendered (its request answered)."""
        self.wait(lambda: self.driver.execute_script(
            "const v = document.getElementById('view');"
            "return v && !v.hasAttribute('aria-busy') && !!v.querySelector('h1');"),
            message="the view never finished rendering")

    def heading(self) -> str:
        return self.driver.find_element(By.CSS_SELECTOR, "#view h1").text

    def wait_heading(self, text: str) -> None:
        self.wait(lambda: self.heading() == text,
                  message=lambda: f"heading {text!r} never shown (last: {self._heading_or_none()!r})")
        self.wait_until_shown()

    def _heading_or_none(self):
        try:
            return self.heading()
        except (NoSuchElementException, StaleElementReferenceException):
            return None

    def wait_status(self, text: str, timeout: float = WAIT) -> str:
        """Waits for `text` in the polite live region (what a screen reader announces)."""
        self.wait(lambda: text in self.driver.find_element(By.ID, "status").text, timeout,
                  lambda: f"status {text!r} never announced (status: {self.status()!r}, "
                          f"alert: {self.alert()!r})")
        return self.status()

    def status(self) -> str:
        return self.driver.find_element(By.ID, "status").text

    def alert(self) -> str:
        return self.driver.find_element(By.ID, "alert").text

    # ---- finding things by name ---------------------------------------------------------
    def by_name(self, tag: str, name: str, within: WebElement | None = None) -> WebElement:
        """The visible <tag> whose accessible text (visually hidden parts included) is `name`."""
        root = within or self.driver
        xpath = f".//{tag}[normalize-space(.)={_xpath_literal(name)}]"
        matches = [e for e in root.find_elements(By.XPATH, xpath) if e.is_displayed()]
        if len(matches) != 1:
            raise NoSuchElementException(f"{len(matches)} visible <{tag}> named {name!r}")
        return matches[0]

    def button(self, name: str, within=None) -> WebElement:
        return self.by_name("button", name, within)

    def link(self, name: str, within=None) -> WebElement:
        return self.by_name("a", name, within)

    def field(self, label: str) -> WebElement:
        """The form control labelled `label` (through <label for>)."""
        return self.driver.find_element(By.ID, self.by_name("label", label).get_attribute("for"))

    def fill(self, label: str, value) -> WebElement:
        element = self.field(label)
        element.clear()
        element.send_keys(str(value))
        return element

    def click(self, element: WebElement) -> None:
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def focused(self) -> WebElement:
        return self.driver.switch_to.active_element

    # ---- evidence -----------------------------------------------------------------------
    def shot(self, name: str) -> Path:
        """A full-page PNG (not just the viewport) of what is on screen now, after checking
        the page shows no leaked JavaScript value and passes the accessibility audit."""
        text = self.driver.find_element(By.TAG_NAME, "main").text
        leak = re.search(r"\b(null|undefined|NaN)\b|\[object \w+\]", text)
        assert not leak, f"{leak.group()!r} shown on {name}"
        violations = self.accessibility_violations()
        assert not violations, f"accessibility of {name}:\n" + "\n".join(violations)
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        png = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
        path = self.out_dir / f"{name}.png"
        path.write_bytes(base64.b64decode(png["data"]))
        return path

    def accessibility_violations(self) -> list[str]:
        """axe-core's WCAG 2.1 A/AA and best-practice violations on the page as it is now."""
        if not self.driver.execute_script("return typeof window.axe === 'object';"):
            self.driver.execute_script(AXE.read_text())
        self.driver.set_script_timeout(30)
        return self.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})
              .then((r) => done(r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}: `
                + v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join(', '))))
              .catch((e) => done([`axe failed: ${e}`]));""", AXE_RULES)

    def problems(self) -> list[str]:
        """Console errors and failed requests since the last call (the logs are drained)."""
        found = []
        for entry in self.driver.get_log("browser"):
            self._log.write(f"console {entry['level']} {entry['message']}\n")
            if entry["level"] == "SEVERE":
                found.append(f"console: {entry['message']}")
        for entry in self.driver.get_log("performance"):
            event = json.loads(entry["message"])["message"]
            params = event.get("params", {})
            # only requests made by the shop's pages (not Chromium's own new-tab page)
            if event["method"] == "Network.requestWillBeSent":
                if params.get("documentURL", "").startswith(self.base_url):
                    request = params["request"]
                    self._request_urls[params["requestId"]] = request["url"]
                    self._log.write(f"request {request['method']} {request['url']}\n")
                continue
            url = self._request_urls.get(params.get("requestId"))
            if url is None:
                continue
            if event["method"] == "Network.responseReceived":
                status = params["response"]["status"]
                self._log.write(f"response {status} {url}\n")
                if status >= 400:
                    found.append(f"network: HTTP {status} {url}")
            elif event["method"] == "Network.loadingFailed" and not params.get("canceled"):
                reason = params.get("errorText") or f"blocked:{params.get('blockedReason')}"
                found.append(f"network: {reason} {url}")
        self._log.flush()
        return found

    def assert_clean(self, expected: tuple[tuple[str, object], ...] = ()) -> None:
        """No console error and no failed request, except the `expected` (url part, status
        or net error) failures, each of which must have happened (the test provoked it)."""
        found = self.problems()
        for fragment, status in expected:
            assert any(fragment in p and str(status) in p for p in found), \
                f"expected HTTP {status} on {fragment} did not happen: {found}"
        unexpected = [p for p in found
                      if not any(f in p and str(s) in p for f, s in expected)]
        assert not unexpected, "browser errors:\n" + "\n".join(unexpected)

    def sign_in(self, token: str, email: str) -> None:
        """Signs in as a shopper made through the API (the journey test does it by hand)."""
        self.driver.execute_script(
            "sessionStorage.setItem('shoplab.token', arguments[0]);"
            "sessionStorage.setItem('shoplab.email', arguments[1]);", token, email)
        self.driver.refresh()  # the header reads the session when the page loads
        self.wait_until_shown()

    def block(self, *url_patterns: str) -> None:
        """Makes the browser fail these URLs at once, as if offline (no traffic leaves)."""
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": list(url_patterns)})

    def viewport_width(self) -> int:
        return self.driver.execute_script("return document.documentElement.clientWidth;")

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the page is wider than the viewport (0 = no sideways scroll)."""
        return self.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
