"""The staff workbench in a real browser, in both run modes: sign-in, the butler's home, a call logged and closed
through its loop, phone width, access by zone, sessions and CSRF, and the API's messages next to the fields."""

from __future__ import annotations

import uuid

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from .browser import PHONE, csp_violations, csrf_of, fresh, sign_in, wait_for, wait_text, web_session
from .conftest import Client, make_household

STAFF_PASSWORD = "staff-password-1"
# A browser test signs in several people in turn: more than the suite's default 120 s on a loaded machine.
pytestmark = pytest.mark.timeout(300)


def staff(admin: Client, household: dict, role: str, **extra) -> tuple[str, str, str]:
    """A staff login of the household's community: (username, password, user id)."""
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    user = admin.created(
        "/api/v1/users",
        {
            "username": username,
            "password": STAFF_PASSWORD,
            "role": role,
            "display_name": f"{role} {username[-4:]}",
            "communities": [household["community"]["id"]],
            **extra,
        },
    )
    return username, STAFF_PASSWORD, user["id"]


_PLACES: dict = {}


def shared_place(stack, admin: Client, key: str = "a") -> dict:
    """A zone with its butler, an engineer and a service-centre manager, made once per stack (accounts cost a
    password hash each): tests that count what they wrote compare before and after."""
    found = _PLACES.get((stack.url, key))
    if found is None:
        found = zone_with_butler(admin)
        found["engineer"] = staff(admin, found, "engineer", department="engineering")
        found["centre"] = staff(admin, found, "cs_manager")
        _PLACES[(stack.url, key)] = found
    return found


def unit_ticket_count(stack, place: dict) -> int:
    butler = Client(stack.url).login(*place["butler"][:2])
    return butler.get("/api/v1/tickets", params={"unit_id": place["unit"]["id"]}).json()["total"]


def zone_with_butler(admin: Client) -> dict:
    """A household whose zone has its own butler (tickets of the zone are routed to them)."""
    household = make_household(admin)
    zone_id = household["unit"]["zone_id"]
    username, password, user_id = staff(admin, household, "butler", zones=[zone_id])
    patched = admin.request("PATCH", f"/api/v1/zones/{zone_id}", json={"butler_ids": [user_id]})
    assert patched.status_code == 200, patched.text
    return {**household, "zone_id": zone_id, "butler": (username, password, user_id)}


def test_sign_in_refuses_a_wrong_password_then_signs_in_and_out(stack, admin, browser):
    place = shared_place(stack, admin)
    username, password, _ = place["butler"]
    fresh(browser)
    sign_in(browser, stack.url, username, "not-the-password")
    error = wait_for(browser, ".form-error")
    assert "用户名或密码错误" in error.text
    assert browser.find_element(By.NAME, "username").get_attribute("value") == username

    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()
    wait_for(browser, "#my-tickets")
    assert "工作台" in browser.title
    assert csp_violations(browser) == []

    browser.find_element(By.ID, "signout").click()
    wait_for(browser, "#signin-form")
    # The session is gone on the server: the old page's address leads back to the sign-in form.
    browser.get(stack.url + "/tickets")
    wait_for(browser, "#signin-form")


def test_butler_home_shows_the_repair_a_resident_just_filed(stack, admin, browser):
    place = shared_place(stack, admin)
    resident = Client(stack.url).login(*place["login"])
    ticket = resident.created(
        "/api/v1/tickets", {"unit_id": place["unit"]["id"], "category": "repair", "description": "厨房水管漏水"}
    )
    fresh(browser)
    sign_in(browser, stack.url, *place["butler"][:2])
    row = wait_text(browser, "#my-tickets", ticket["number"])
    assert "报修" in row.text  # the kind's Chinese label
    assert csp_violations(browser) == []


def test_a_call_is_logged_assigned_resolved_and_visited(stack, admin, browser):
    place = shared_place(stack, admin)
    engineer, centre = place["engineer"], place["centre"]
    fresh(browser)
    sign_in(browser, stack.url, *centre[:2])
    wait_for(browser, "#queue-new")

    # 来电登记: find the unit by the resident's phone, then the call's details (channel defaults to phone).
    browser.get(stack.url + "/tickets/new")
    wait_for(browser, "#unit-q").send_keys("13800138000")
    wait_for(browser, "#picker-results a.pick").click()
    wait_for(browser, "#f-unit_id option[selected]")
    assert Select(browser.find_element(By.ID, "f-channel")).first_selected_option.get_attribute("value") == "phone"
    Select(browser.find_element(By.ID, "f-category")).select_by_value("repair")
    browser.find_element(By.ID, "f-description").send_keys("客厅灯不亮")
    browser.find_element(By.CSS_SELECTOR, "#ticket-form button[type=submit]").click()
    status = wait_for(browser, "#ticket-status")
    number = browser.find_element(By.TAG_NAME, "h1").text.split()[0]

    # Assign to the engineer (picked by name), who starts and resolves it.
    if browser.find_elements(By.ID, "action-assign"):
        Select(browser.find_element(By.CSS_SELECTOR, "#action-assign #f-department")).select_by_value("engineering")
        Select(browser.find_element(By.CSS_SELECTOR, "#action-assign #f-assignee_id")).select_by_value(engineer[2])
        browser.find_element(By.ID, "f-assign-reason").send_keys("灯具维修")
        browser.find_element(By.CSS_SELECTOR, "#action-assign button").click()
    wait_text(browser, "#ticket-status", "已派单")
    ticket_url = browser.current_url

    fresh(browser)
    sign_in(browser, stack.url, *engineer[:2])
    wait_text(browser, "#my-tickets", number)
    browser.get(ticket_url)
    wait_for(browser, "#action-start button").click()
    wait_text(browser, "#ticket-status", "处理中")
    wait_for(browser, "#f-resolve-note").send_keys("更换灯泡")
    browser.find_element(By.CSS_SELECTOR, "#action-resolve button").click()
    wait_text(browser, "#ticket-status", "已完成")

    # The return visit closes it; the timeline names the people.
    fresh(browser)
    sign_in(browser, stack.url, *centre[:2])
    wait_for(browser, "#queue-new")
    browser.get(ticket_url)
    Select(wait_for(browser, "#action-visit #f-satisfaction")).select_by_value("5")
    browser.find_element(By.CSS_SELECTOR, "#action-visit button").click()
    wait_text(browser, "#ticket-status", "已关闭")
    timeline = browser.find_element(By.ID, "timeline").text
    assert "已回访" in timeline or "已关闭" in timeline
    assert csp_violations(browser) == []
    assert status is not None


def test_pages_do_not_scroll_sideways_on_a_phone(stack, admin, browser):
    place = shared_place(stack, admin)
    resident = Client(stack.url).login(*place["login"])
    ticket = resident.created(
        "/api/v1/tickets",
        {"unit_id": place["unit"]["id"], "category": "repair", "description": "很长的描述" * 30},
    )
    fresh(browser, PHONE)
    sign_in(browser, stack.url, *place["butler"][:2])
    wait_for(browser, "#my-tickets")
    pages = [
        "/",
        "/tickets",
        "/tickets/new",
        f"/tickets/{ticket['id']}",
        "/tickets/feedback-due",
        "/incidents",
        "/equipment",
        "/quality-cases",
        f"/units/{place['unit']['id']}",
        "/search?q=13800138000",
        "/leave",
        "/knowledge",
        "/surveys",
    ]
    for path in pages:
        browser.get(stack.url + path)
        wait_for(browser, "main")
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375 px"
    browser.get(stack.url + "/signin")


def test_a_butler_of_another_zone_sees_nothing_of_zone_a(stack, admin, browser):
    zone_a = shared_place(stack, admin)
    resident = Client(stack.url).login(*zone_a["login"])
    ticket = resident.created(
        "/api/v1/tickets", {"unit_id": zone_a["unit"]["id"], "category": "repair", "description": "A区的工单"}
    )
    zone_b = zone_with_butler(admin)
    fresh(browser)
    sign_in(browser, stack.url, *zone_b["butler"][:2])
    home = wait_for(browser, "#my-tickets")
    assert ticket["number"] not in browser.find_element(By.TAG_NAME, "body").text
    browser.get(stack.url + "/tickets")
    wait_for(browser, "#ticket-rows")
    assert ticket["number"] not in browser.find_element(By.ID, "ticket-rows").text
    browser.get(stack.url + f"/tickets/{ticket['id']}")
    assert "A区的工单" not in browser.page_source
    browser.get(stack.url + f"/units/{zone_a['unit']['id']}")
    assert "张" not in browser.find_element(By.TAG_NAME, "main").text
    browser.get(stack.url + "/search?q=13800138000")
    assert zone_a["unit"]["id"] not in browser.page_source
    assert home is not None


def test_without_a_session_every_page_leads_to_sign_in(stack):
    cashier = [
        "/finance",
        "/finance/units/x",
        "/finance/payments/x",
        "/finance/payments/x/receipt.pdf",
        "/finance/runs",
    ]
    dashboard = ["/dashboard", "/dashboard/ageing.xlsx"]
    for path in ["/", "/tickets", "/tickets/new", "/tickets/x", "/units/x", "/search?q=1", "/tickets/export.xlsx"] + (
        cashier + dashboard
    ):
        answer = requests.get(stack.url + path, allow_redirects=False, timeout=10)
        assert answer.status_code == 303, path
        assert answer.headers["Location"].startswith("/signin"), path
    # The gateway keeps its own operational paths; everything else outside /api/ is the workbench's.
    assert requests.get(stack.url + "/healthz", timeout=10).json()["service"] == "gateway"
    assert requests.get(stack.url + "/static/workbench.css", timeout=10).headers["Content-Type"].startswith("text/css")
    page = requests.get(stack.url + "/signin", timeout=10)
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "nonce-" in policy
    assert "onclick" not in page.text and "<script>" not in page.text


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(stack, admin):
    place = shared_place(stack, admin)
    before = unit_ticket_count(stack, place)
    session = web_session(stack.url, *place["butler"][:2])
    body = {"unit_id": place["unit"]["id"], "category": "repair", "description": "CSRF 测试", "channel": "phone"}
    refused = session.post(stack.url + "/tickets", data=body, allow_redirects=False, timeout=10)
    assert refused.status_code == 403
    forged = session.post(stack.url + "/tickets", data={**body, "csrf_token": "x" * 43}, allow_redirects=False)
    assert forged.status_code == 403
    assert unit_ticket_count(stack, place) == before
    # Sign-in itself is protected too (no login CSRF).
    fresh_session = requests.Session()
    anonymous = fresh_session.post(
        stack.url + "/signin", data={"username": "x", "password": "y"}, allow_redirects=False, timeout=10
    )
    assert anonymous.status_code == 403


def test_bad_input_shows_the_apis_message_next_to_the_field_and_writes_nothing(stack, admin, browser):
    place = shared_place(stack, admin)
    before = unit_ticket_count(stack, place)
    fresh(browser)
    sign_in(browser, stack.url, *place["butler"][:2])
    wait_for(browser, "#my-tickets")
    browser.get(stack.url + f"/tickets/new?unit_id={place['unit']['id']}")
    wait_for(browser, "#ticket-form")
    # 2,001 characters: the API's limit is 2,000.
    browser.execute_script("document.getElementById('f-description').value = 'x'.repeat(2001)")
    browser.find_element(By.CSS_SELECTOR, "#ticket-form button[type=submit]").click()
    error = wait_for(browser, "#description-error")
    assert "2000" in error.text or "Length" in error.text or "length" in error.text
    field = browser.find_element(By.ID, "f-description")
    assert field.get_attribute("aria-invalid") == "true"
    assert unit_ticket_count(stack, place) == before
    assert csrf_of(browser.page_source)


def _session_row(stack, username: str):
    from sqlalchemy import select

    from guanjia.db import Database
    from workbench.models import WebSession

    database = Database(stack.settings["workbench"].database_url, pool_size=1)
    return database, select(WebSession).where(WebSession.username == username)


def test_tokens_are_refreshed_unseen_and_an_idle_session_ends_with_its_refresh_token(stack, admin):
    from datetime import timedelta

    from guanjia.db import utcnow

    place = shared_place(stack, admin)
    username = place["centre"][0]
    session = web_session(stack.url, *place["centre"][:2])
    database, query = _session_row(stack, username)
    try:
        with database.transaction() as s:
            row = s.execute(query).scalars().all()[-1]
            row_id, first_refresh = row.id, row.refresh_token
            row.access_expires_at = utcnow() - timedelta(minutes=1)  # the access token has run out
        assert session.get(stack.url + "/tickets", timeout=10).status_code == 200
        with database.transaction() as s:
            row = s.get(type(row), row_id)
            second_refresh = row.refresh_token
            assert second_refresh != first_refresh and row.access_expires_at.replace(tzinfo=None) > utcnow().replace(
                tzinfo=None
            )
            row.last_seen_at = utcnow() - timedelta(minutes=31)  # past the 30-minute idle timeout
        idle = session.get(stack.url + "/tickets", allow_redirects=False, timeout=10)
        assert idle.status_code == 303 and idle.headers["Location"].startswith("/signin")
        with database.transaction() as s:
            assert s.get(type(row), row_id) is None
    finally:
        database.dispose()
    # The session's refresh token was revoked at the gateway, not only forgotten here.
    refused = requests.post(stack.url + "/api/v1/auth/refresh", json={"refresh_token": second_refresh}, timeout=10)
    assert refused.status_code == 401


def test_the_first_sign_in_asks_for_a_new_password_first(stack, admin):
    place = shared_place(stack, admin)
    username = f"new-{uuid.uuid4().hex[:6]}"
    admin.created(
        "/api/v1/users",
        {
            "username": username,
            "password": "given-by-admin-1",
            "must_change_password": True,
            "role": "butler",
            "communities": [place["community"]["id"]],
        },
    )
    browser_like = requests.Session()
    page = browser_like.get(stack.url + "/signin", timeout=10)
    form = {"username": username, "password": "given-by-admin-1", "csrf_token": csrf_of(page.text)}
    asked = browser_like.post(stack.url + "/signin", data=form, allow_redirects=False, timeout=10)
    assert asked.status_code == 200 and 'id="password-form"' in asked.text
    differ = {
        **form,
        "new_password": "chosen-password-2",
        "new_password_confirm": "typo",
        "csrf_token": csrf_of(asked.text),
    }
    refused = browser_like.post(stack.url + "/password", data=differ, allow_redirects=False, timeout=10)
    assert refused.status_code == 422 and 'id="new_password_confirm-error"' in refused.text
    changed = browser_like.post(
        stack.url + "/password",
        data={**differ, "new_password_confirm": "chosen-password-2"},
        allow_redirects=False,
        timeout=10,
    )
    assert changed.status_code == 303 and changed.headers["Location"] == "/"
    assert browser_like.get(stack.url + "/", timeout=10).status_code == 200
    assert Client(stack.url).login(username, "chosen-password-2").token
