"""A real browser for the workbench's tests: Debian's chromium driven by selenium through its chromedriver.

One browser per test session (cookies cleared between tests). Without chromium/chromedriver the browser tests
are skipped with a loud reason; GUANJIA_REQUIRE_BROWSER=1 (set by .ci/run) turns that skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

import pytest
import requests

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=zh-CN",
]
DESK = (1280, 900)
PHONE = (375, 812)


def _find(name: str, fallback: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return fallback if os.path.exists(fallback) else None


def start_browser():
    """A headless chromium, or skip/fail when none is installed."""
    chromium = _find("chromium", "/usr/bin/chromium")
    driver = _find("chromedriver", "/usr/bin/chromedriver")
    if not chromium or not driver:
        reason = "no chromium/chromedriver: apt-get install -y chromium chromium-driver (browser tests skipped)"
        if os.environ.get("GUANJIA_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " — GUANJIA_REQUIRE_BROWSER=1 requires them")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="guanjia-chromium-")
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    browser.set_window_size(*DESK)
    browser.implicitly_wait(0)
    browser.profile_dir = profile
    return browser


def stop_browser(browser) -> None:
    browser.quit()
    shutil.rmtree(browser.profile_dir, ignore_errors=True)


def fresh(browser, size=DESK):
    """Forget every cookie (a new person at the same browser) and set the window size."""
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.get_log("browser")  # reading the console empties it: the last test's errors are not this one's
    browser.set_window_size(*size)
    return browser


def wait_for(browser, css: str, timeout: float = 30.0):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def wait_text(browser, css: str, text: str, timeout: float = 30.0):
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def present(driver) -> bool:
        try:
            return text in driver.find_element(By.CSS_SELECTOR, css).text
        except StaleElementReferenceException:
            return False
        except WebDriverException as error:
            # htmx swapped the element between finding it and reading its text; chromium says so in its own words.
            if "does not belong to the document" in str(error):
                return False
            raise

    WebDriverWait(browser, timeout).until(present)
    return browser.find_element(By.CSS_SELECTOR, css)


def sign_in(browser, base_url: str, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(base_url + "/")
    wait_for(browser, "#signin-form")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()


def csp_violations(browser) -> list[str]:
    """Console errors the page raised (a CSP violation is one): the workbench must raise none."""
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def web_session(base_url: str, username: str, password: str) -> requests.Session:
    """A signed-in workbench session without a browser (for the checks that need no rendering)."""
    session = requests.Session()
    page = session.get(base_url + "/signin", timeout=10)
    answer = session.post(
        base_url + "/signin",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, answer.text[:500]
    return session


def sms_sign_in(browser, base_url: str, phone: str, codes) -> None:
    """A resident signs in on the mobile pages: the phone, the code texted to it (`codes`: guanjia.testing's
    ConsoleSmsCodes, so in-process stacks only), then their household."""
    from selenium.webdriver.common.by import By

    browser.get(base_url + "/m/signin")
    wait_for(browser, "#m-phone-form").find_element(By.NAME, "phone").send_keys(phone)
    browser.find_element(By.CSS_SELECTOR, "#m-phone-form button[type=submit]").click()
    form = wait_for(browser, "#m-code-form")
    form.find_element(By.NAME, "code").send_keys(codes.code_for(phone))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, "#m-nav-home")
