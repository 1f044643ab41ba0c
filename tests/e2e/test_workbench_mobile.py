"""The residents' mobile pages in a real browser at 375 px, in both run modes: sign in by the SMS code (the console
provider's log), pay a bill through the fake payment provider (guanjia.fakepay, its signed callback to billing) and
see the receipt, report a repair with a photo, rate the visit. The access checks with two households are Flask
test-client tests (services/workbench/tests/integration)."""

from __future__ import annotations

import base64
import os
import random
import tempfile
import time

import pytest
from selenium.webdriver.common.by import By

from .browser import PHONE, csp_violations, fresh, sms_sign_in, wait_for, wait_text
from .conftest import ADMIN_PASSWORD, Client

pytestmark = pytest.mark.timeout(300)

# A 1×1 PNG: the repair's photo.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PAGES = (
    "/m/",
    "/m/bills",
    "/m/receipts",
    "/m/tickets",
    "/m/repair",
    "/m/notices",
    "/m/surveys",
    "/m/activities",
    "/m/knowledge",
    "/m/services",
    "/m/birthday",
)


def _household(admin: Client, phone: str) -> dict:
    tag = phone[-4:]
    community = admin.created("/api/v1/communities", {"name": f"手机小区 {tag}"})
    zone = admin.created("/api/v1/zones", {"community_id": community["id"], "name": "一区"})
    building = admin.created(
        "/api/v1/buildings", {"community_id": community["id"], "name": "3栋", "zone_id": zone["id"]}
    )
    unit = admin.created(
        "/api/v1/units", {"building_id": building["id"], "number": f"3-{tag}", "floor": 3, "area_m2": "76.00"}
    )
    resident = admin.created(
        "/api/v1/residents", {"unit_id": unit["id"], "name": "赵小燕", "phone": phone, "role": "owner"}
    )
    moved = admin.post(f"/api/v1/units/{unit['id']}/move-in", json={"resident_id": resident["id"]})
    assert moved.status_code in (200, 201), moved.text
    deadline = time.monotonic() + 20
    while admin.get(f"/api/v1/billing/units/{unit['id']}").status_code != 200:  # billing learns it by event
        assert time.monotonic() < deadline, "billing never learnt the unit"
        time.sleep(0.1)
    bill = admin.created(
        "/api/v1/billing/bills", {"unit_id": unit["id"], "description": "物业服务费 十二月", "amount": "256.00"}
    )
    return {"unit": unit, "resident": resident, "bill": bill}


def _no_sideways_scroll(browser, path: str) -> None:
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375 px"


def test_a_resident_signs_in_by_sms_pays_a_bill_reports_a_repair_and_rates_the_visit(stack, browser, sms_codes):
    admin = Client(stack.url).login("admin", ADMIN_PASSWORD)
    phone = f"137{random.randrange(10**8):08d}"
    place = _household(admin, phone)

    fresh(browser, PHONE)
    sms_sign_in(browser, stack.url, phone, sms_codes)
    wait_text(browser, "main", "我的房屋")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert place["unit"]["number"] in body and "赵小燕" in body and "¥256.00" in body

    # Pay the bill at the provider's checkout page; its signed callback records the payment; back to the receipt.
    browser.find_element(By.ID, "m-nav-bills").click()
    wait_text(browser, "#m-bills", "物业服务费 十二月").find_element(By.TAG_NAME, "a").click()
    wait_for(browser, "#m-pay-form").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, "#m-checkout").click()
    wait_text(browser, "#fp-amount", "256.00")
    browser.find_element(By.CSS_SELECTOR, "#fp-form select option[value=alipay]").click()
    browser.find_element(By.CSS_SELECTOR, "#fp-form button[type=submit]").click()
    wait_for(browser, "#m-paid-receipt").click()
    receipt = wait_text(browser, "#m-receipt", "¥256.00").text
    assert "支付宝" in receipt and place["unit"]["number"] in receipt
    assert [status for status, _ in stack.fakepay.callbacks[-1:]] == [200]
    assert admin.get(f"/api/v1/billing/bills/{place['bill']['id']}").json()["outstanding"] == "0.00"

    browser.get(stack.url + "/m/repair")
    form = wait_for(browser, "#m-repair-form")
    form.find_element(By.NAME, "description").send_keys("阳台地漏堵塞")
    handle, photo = tempfile.mkstemp(suffix=".png")
    with os.fdopen(handle, "wb") as out:
        out.write(PNG)
    try:
        form.find_element(By.NAME, "photos").send_keys(photo)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_text(browser, "#m-ticket", "阳台地漏堵塞")
    finally:
        os.unlink(photo)
    assert browser.find_elements(By.CSS_SELECTOR, "#m-ticket .photos img")
    ticket_id = browser.current_url.rstrip("/").rsplit("/", 1)[-1]

    # The desk does the work (API), then the resident answers the return visit on the phone.
    me = admin.get("/api/v1/users/me").json()
    for action, body in (
        ("assign", {"department": "engineering", "assignee_id": me["id"]}),
        ("start", {}),
        ("resolve", {}),
    ):
        done = admin.post(f"/api/v1/tickets/{ticket_id}/{action}", json=body)
        assert done.status_code == 200, done.text
    browser.refresh()
    form = wait_for(browser, "#m-visit-form")
    form.find_element(By.CSS_SELECTOR, "input[name=satisfaction][value='4']").click()
    form.find_element(By.NAME, "comment").send_keys("处理及时")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(browser, "#m-satisfaction", "4 / 5")
    assert admin.get(f"/api/v1/tickets/{ticket_id}").json()["status"] == "closed"
    assert not browser.find_elements(By.ID, "m-visit-form")

    for path in (*PAGES, f"/m/tickets/{ticket_id}", f"/m/bills/{place['bill']['id']}"):
        browser.get(stack.url + path)
        wait_for(browser, "main")
        _no_sideways_scroll(browser, path)
    assert csp_violations(browser) == []
