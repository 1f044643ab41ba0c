"""The workbench's admin screens, in both run modes: an admin creates a butler (role, community and zone in one form)
who signs in and sees only that zone, resets their password and disables them; an integrator's API key is issued
with its scopes and expiry, its secret shown once, and revoked."""

from __future__ import annotations

import html
import json
import re
import time
import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from .browser import PHONE, csp_violations, csrf_of, fresh, sign_in, wait_for, wait_text, web_session
from .conftest import ADMIN_PASSWORD, Client, make_household

pytestmark = pytest.mark.timeout(300)
TIMEOUT = 30.0


def two_zones(admin: Client) -> dict:
    """A community with 一区 (the household's unit 1-101) and 二区 (its own building and unit 2-101)."""
    place = make_household(admin)
    cid = place["community"]["id"]
    zone = admin.created("/api/v1/zones", {"community_id": cid, "name": "二区"})
    building = admin.created("/api/v1/buildings", {"community_id": cid, "name": "2栋", "zone_id": zone["id"]})
    unit = admin.created(
        "/api/v1/units", {"building_id": building["id"], "number": "2-101", "floor": 1, "area_m2": "90.00"}
    )
    return {**place, "zone_b": zone, "unit_b": unit}


def test_an_admin_creates_a_butler_who_signs_in_and_sees_only_their_zone(stack, admin, browser):
    place = two_zones(admin)
    username = f"butler-{uuid.uuid4().hex[:6]}"
    fresh(browser)
    sign_in(browser, stack.url, "admin", ADMIN_PASSWORD)
    wait_for(browser, "#nav-admin").click()
    wait_for(browser, "#admin-new-user").click()

    wait_for(browser, "#user-form")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "display_name").send_keys("李管家")
    Select(browser.find_element(By.NAME, "role")).select_by_value("butler")
    community = place["community"]["id"]
    browser.find_element(By.CSS_SELECTOR, f"input[name=communities][value='{community}']").click()
    # htmx brings the ticked community's zones, by name.
    zone_box = wait_for(browser, f"#zone-choices input[value='{place['zone_b']['id']}']")
    assert "二区" in browser.find_element(By.ID, "zone-choices").text
    zone_box.click()
    browser.find_element(By.ID, "create-user").click()

    wait_for(browser, "#user-created")
    assert browser.find_element(By.ID, "user-role").text == "管家"
    assert browser.find_element(By.ID, "user-zones").text.endswith("二区")
    assert place["community"]["name"] in browser.find_element(By.ID, "user-communities").text
    generated = browser.find_element(By.ID, "one-time-password")  # generated, shown once

    # A reset gives a new one-time password (the generated one is forgotten). Until the answer's page replaces this
    # one, the old password's element is still there: wait for it to go, or the old one is read (or goes stale).
    browser.find_element(By.ID, "reset-password").click()
    WebDriverWait(browser, 30).until(ec.staleness_of(generated))
    password = wait_for(browser, "#one-time-password").text
    assert csp_violations(browser) == []
    user_id = re.search(r"/admin/users/([^/?#]+)/reset-password", browser.current_url).group(1)

    # The butler signs in, chooses their own password, and sees 二区 only.
    fresh(browser)
    sign_in(browser, stack.url, username, password)
    wait_for(browser, "#password-form")
    new_password = "butler-own-password-7"
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.NAME, "new_password").send_keys(new_password)
    browser.find_element(By.NAME, "new_password_confirm").send_keys(new_password)
    browser.find_element(By.CSS_SELECTOR, "#password-form button[type=submit]").click()
    zones = wait_for(browser, "#zones")
    assert "二区" in zones.text and "一区" not in zones.text
    assert browser.find_elements(By.ID, "nav-admin") == []  # no administration for a butler
    browser.get(f"{stack.url}/units/{place['unit']['id']}")  # 一区's unit
    wait_for(browser, "main")
    assert "1-101" not in browser.find_element(By.TAG_NAME, "main").text
    browser.get(f"{stack.url}/units/{place['unit_b']['id']}")
    wait_text(browser, "main", "2-101")

    # Disabled by the admin: the butler's next click leads to the sign-in page.
    desk = web_session(stack.url, "admin", ADMIN_PASSWORD)
    page = desk.get(f"{stack.url}/admin/users/{user_id}", timeout=10)
    answer = desk.post(
        f"{stack.url}/admin/users/{user_id}/active",
        data={"active": "0", "csrf_token": csrf_of(page.text)},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, answer.text[:500]
    assert "已停用" in desk.get(f"{stack.url}/admin/users/{user_id}", timeout=10).text
    browser.get(f"{stack.url}/")
    wait_for(browser, "#signin-form")


def test_an_integrator_key_is_shown_once_reads_its_scope_and_is_revoked(stack, admin):
    place = make_household(admin)
    community = place["community"]["id"]
    desk = web_session(stack.url, "admin", ADMIN_PASSWORD)
    page = desk.get(f"{stack.url}/admin/keys", timeout=10)
    assert page.status_code == 200 and "API 密钥" in page.text
    name = f"物业 ERP {uuid.uuid4().hex[:4]}"

    refused = desk.post(
        f"{stack.url}/admin/keys",
        data={"name": name, "communities": community, "csrf_token": csrf_of(page.text)},
        timeout=10,
    )
    assert refused.status_code == 422 and 'id="resources-error"' in refused.text  # no scope chosen: said there

    issued = desk.post(
        f"{stack.url}/admin/keys",
        data={
            "name": name,
            "communities": community,
            "resources": ["units", "zones"],
            "expires_on": "2027-03-01",
            "csrf_token": csrf_of(page.text),
        },
        timeout=10,
    )
    assert issued.status_code == 200, issued.text[:500]
    assert issued.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="api-key-secret">([^<]+)<', issued.text).group(1)
    row = re.search(r'<tr id="key-([^"]+)">(.*?)</tr>', issued.text, re.S)
    assert name in row.group(2) and place["community"]["name"] in row.group(2) and "房屋" in row.group(2)
    assert "2027-03-01 23:59" in row.group(2)  # the end of that local day
    listed = desk.get(f"{stack.url}/admin/keys", timeout=10).text
    assert secret not in listed  # shown once

    integrator = Client(stack.url)
    answer = integrator.get("/api/v1/units", params={"community_id": community}, headers={"X-API-Key": secret})
    assert answer.status_code == 200, answer.text

    revoked = desk.post(
        f"{stack.url}/admin/keys/{row.group(1)}/revoke", data={"csrf_token": csrf_of(listed)}, timeout=10
    )
    assert revoked.status_code == 200 and "已吊销" in revoked.text
    deadline = time.monotonic() + 10
    while True:
        answer = integrator.get("/api/v1/units", params={"community_id": community}, headers={"X-API-Key": secret})
        if answer.status_code == 401 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.status_code == 401


def dead_letter(stack, phone: str) -> str:
    """An event notifications gave up on, put straight into its dead-letter queue (a type no one handles, so a
    replay comes back); its reason carries a phone number, its body personal data: neither may show."""
    from guanjia import bus, config

    settings = config.from_env("notifications", stack.env)
    event_id = str(uuid.uuid4())
    body = {
        "specversion": "1.0",
        "id": event_id,
        "source": "/testcity/tickets",
        "type": "test.unhandled",
        "subject": f"ticket/{event_id}",
        "time": "2026-12-02T01:30:00+00:00",
        "datacontenttype": "application/json",
        "data": {"name": "王五", "phone": phone},
    }
    publisher = bus.Publisher(settings)
    try:
        publisher.publish_raw(
            json.dumps(body).encode(),
            {"content_type": "application/cloudevents+json", "message_id": event_id, "type": "test.unhandled"},
            routing_key=settings.queue_name("events.dead"),
            direct=True,
            headers={bus.ERROR_HEADER: f"no handler for test.unhandled ({phone})", bus.ATTEMPT_HEADER: 4},
        )
    finally:
        publisher.close()
    return event_id


def _row(html: str, event_id: str) -> str | None:
    found = re.search(rf'<tr class="dead-letter" data-event-id="{event_id}">(.*?)</tr>', html, re.S)
    return found.group(1) if found else None


def test_dead_letters_are_listed_with_their_reason_replayed_and_discarded(stack, admin):
    phone = "13912345678"
    event_id = dead_letter(stack, phone)
    desk = web_session(stack.url, "admin", ADMIN_PASSWORD)
    page = desk.get(f"{stack.url}/admin/dead-letters", timeout=30).text
    row = _row(page, event_id)
    assert row is not None, page[-2000:]
    assert "通知" in row and "test.unhandled" in row and f"ticket/{event_id}" in row
    assert "2026-12-02 09:30" in row and "no handler" in row  # local time; the reason
    assert phone not in page and "王五" not in page  # the reason masked, the body never shown

    replayed = desk.post(
        f"{stack.url}/admin/dead-letters/replay",
        data={"service": "notifications", "ids": event_id, "csrf_token": csrf_of(page)},
        timeout=30,
    )
    assert replayed.status_code == 200 and 'id="dead-letters-done"' in replayed.text
    # Back on the consumer's queue, which has no handler for it: dead-lettered again, with a fresh reason.
    deadline = time.monotonic() + 20
    while True:
        page = desk.get(f"{stack.url}/admin/dead-letters", timeout=30).text
        row = _row(page, event_id)
        if (row and phone not in row) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert row is not None and "no handler for test.unhandled" in row

    discarded = desk.post(
        f"{stack.url}/admin/dead-letters/discard",
        data={"service": "notifications", "ids": event_id, "csrf_token": csrf_of(page)},
        timeout=30,
    )
    assert discarded.status_code == 200 and _row(discarded.text, event_id) is None
    actions = [e["action"] for e in admin.get("/api/v1/audit", params={"target_id": "notifications"}).json()["items"]]
    assert "dead_letters.replay" in actions and "dead_letters.discard" in actions


def test_the_audit_log_is_filtered_by_who_what_when_and_community(stack, admin):
    place = make_household(admin)
    community = place["community"]["id"]
    username = f"finance-{uuid.uuid4().hex[:6]}"
    created = admin.created(
        "/api/v1/users",
        {"username": username, "role": "finance", "display_name": "钱会计", "communities": [community]},
    )
    assert admin.post(f"/api/v1/users/{created['id']}/reset-password").status_code == 200
    desk = web_session(stack.url, "admin", ADMIN_PASSWORD)
    page = desk.get(f"{stack.url}/admin/audit", params={"community_id": community}, timeout=10)
    assert page.status_code == 200, page.text[:500]
    rows = re.findall(r'<tr class="audit-entry">(.*?)</tr>', page.text, re.S)
    assert len(rows) == 2 and all("钱会计" in row for row in rows)  # the account by name, not its id
    assert "重置密码" in rows[0] and "创建账号" in rows[1]  # newest first
    assert "管理员" in rows[0]  # who did it

    only = desk.get(
        f"{stack.url}/admin/audit",
        params={"community_id": community, "action": "user.created", "username": "admin", "since": "2026-01-01"},
        timeout=10,
    )
    assert len(re.findall(r'<tr class="audit-entry">', only.text)) == 1
    later = desk.get(f"{stack.url}/admin/audit", params={"community_id": community, "since": "2099-01-01"}, timeout=10)
    assert re.findall(r'<tr class="audit-entry">', later.text) == []
    wrong = desk.get(f"{stack.url}/admin/audit", params={"username": "nobody-" + uuid.uuid4().hex[:6]}, timeout=10)
    assert wrong.status_code == 422 and 'id="username-error"' in wrong.text


def test_sla_policies_and_routing_rules_are_set_by_name(stack, admin):
    place = make_household(admin)
    community, zone_id = place["community"]["id"], place["unit"]["zone_id"]
    engineer = admin.created(
        "/api/v1/users",
        {
            "username": f"eng-{uuid.uuid4().hex[:6]}",
            "password": "engineer-password-1",
            "role": "engineer",
            "department": "engineering",
            "display_name": "赵师傅",
            "communities": [community],
        },
    )
    desk = web_session(stack.url, "admin", ADMIN_PASSWORD)
    url = f"{stack.url}/admin/ticket-rules"
    page = desk.get(url, params={"community_id": community}, timeout=10)
    assert page.status_code == 200 and 'id="sla-repair-high"' in page.text
    saved = desk.post(
        f"{url}/sla",
        data={
            "community_id": community,
            "category": "repair",
            "priority": "high",
            "response_minutes": "45",
            "resolution_minutes": "240",
            "csrf_token": csrf_of(page.text),
        },
        timeout=10,
    )
    assert saved.status_code == 200, saved.text[:500]
    row = re.search(r'<tr id="sla-repair-high">(.*?)</tr>', saved.text, re.S).group(1)
    assert "45 分钟" in row and "4 小时" in row and "本小区设置" in row and "报修" in row

    added = desk.post(
        f"{url}/routing",
        data={
            "community_id": community,
            "category": "repair",
            "zone_id": zone_id,
            "department": "engineering",
            "assignee_id": engineer["id"],
            "csrf_token": csrf_of(page.text),
        },
        timeout=10,
    )
    rules = re.findall(r'<tr class="routing-rule">(.*?)</tr>', added.text, re.S)
    assert len(rules) == 1 and "一区" in rules[0] and "赵师傅" in rules[0] and "工程" in rules[0]
    rule_id = re.search(r"/admin/ticket-rules/routing/([^/]+)/delete", added.text).group(1)
    gone = desk.post(
        f"{url}/routing/{rule_id}/delete",
        data={"community_id": community, "csrf_token": csrf_of(page.text)},
        timeout=10,
    )
    assert gone.status_code == 200 and re.findall(r'<tr class="routing-rule">', gone.text) == []


def test_sms_templates_are_edited_and_the_provider_settings_shown_read_only(stack):
    desk = web_session(stack.url, "admin", ADMIN_PASSWORD)
    page = desk.get(f"{stack.url}/admin/sms", timeout=10)
    assert page.status_code == 200, page.text[:500]
    assert "控制台（测试：只写入日志）" in page.text and "未设置" in page.text  # the console provider; no secrets set
    key = "patrol.zone_overdue"
    original = re.search(rf'id="f-text-{re.escape(key)}" name="text" rows="2">([^<]*)<', page.text).group(1)
    url = f"{stack.url}/admin/sms/templates/{key}"
    refused = desk.post(url, data={"text": "【{signature}】{phone}", "csrf_token": csrf_of(page.text)}, timeout=10)
    assert refused.status_code == 422 and "phone" in refused.text
    changed = "【{signature}】片区巡查已逾期：{zone}"
    saved = desk.post(url, data={"text": changed, "csrf_token": csrf_of(page.text)}, timeout=10)
    try:
        assert saved.status_code == 200 and changed in saved.text and "本实例自定义文字" in saved.text
    finally:
        restored = desk.post(url, data={"text": html.unescape(original), "csrf_token": csrf_of(page.text)}, timeout=10)
        assert restored.status_code == 200


def test_the_admin_pages_do_not_scroll_sideways_on_a_phone(embedded_stack, browser):
    stack = embedded_stack
    admin = Client(stack.url).login("admin", ADMIN_PASSWORD)
    place = make_household(admin)
    dead_letter(stack, "13912345678")
    fresh(browser, PHONE)
    sign_in(browser, stack.url, "admin", ADMIN_PASSWORD)
    wait_for(browser, "#nav-admin")
    community = place["community"]["id"]
    for path in [
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{admin.get('/api/v1/users/me').json()['id']}",
        "/admin/keys",
        "/admin/dead-letters",
        "/admin/audit",
        f"/admin/ticket-rules?community_id={community}",
        "/admin/sms",
    ]:
        browser.get(stack.url + path)
        wait_for(browser, "main")
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375 px"
    assert csp_violations(browser) == []
    browser.get(stack.url + "/signin")
