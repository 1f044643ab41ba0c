"""The workbench's patrol, household, renovation, notice and roster screens in a real browser, in both run modes:
a patrol round with a finding and its photo, a move-in, a renovation violation, a notice with its preview, a
roster dry run with a bad row, and these pages at phone width."""

from __future__ import annotations

import base64
import os
import tempfile

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from .browser import PHONE, csp_violations, fresh, sign_in
from .browser import wait_for as _wait_for
from .browser import wait_text as _wait_text
from .conftest import Client, make_household
from .test_workbench import staff, zone_with_butler

# Several form posts a test on a loaded machine (each renders a page from several API calls).
pytestmark = pytest.mark.timeout(300)

# A 1×1 PNG: the finding's photo.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


# Each of these steps is a form post that renders a page from several API calls: generous on a busy CI machine.
TIMEOUT = 30.0


def wait_for(browser, css: str):
    return _wait_for(browser, css, TIMEOUT)


def wait_text(browser, css: str, text: str):
    return _wait_text(browser, css, text, TIMEOUT)


def _file(content: bytes, suffix: str) -> str:
    handle, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(handle, "wb") as out:
        out.write(content)
    return path


def _page_errors(browser) -> list[str]:
    """The console's errors, less the 422 answers of forms refused on purpose in these tests (no CSP violation)."""
    return [m for m in csp_violations(browser) if "status of 422" not in m]


def _saved(browser, form: str) -> None:
    """Wait for the page the form's successful post leads to (it names the form: ?done=<form>)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, TIMEOUT).until(lambda b: f"done={form}" in b.current_url)
    wait_for(browser, "#done")


def _open(browser, details_id: str):
    """Open a <details> form (collapsed by default on the page)."""
    details = wait_for(browser, f"#{details_id}")
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").click()
    return details


def test_a_patrol_round_with_a_finding_becomes_a_ticket_with_its_photo(stack, admin, browser):
    place = zone_with_butler(admin)
    butler = Client(stack.url).login(*place["butler"][:2])
    plan = butler.created(
        "/api/v1/tickets/patrols/plans",
        {
            "zone_id": place["zone_id"],
            "name": "一区日常巡查",
            "frequency": "daily",
            "staff_ids": [place["butler"][2]],
            "checkpoints": [{"code": "CP-A", "name": "大堂"}, {"code": "CP-B", "name": "泵房"}],
        },
    )
    fresh(browser, PHONE)
    sign_in(browser, stack.url, *place["butler"][:2])
    wait_for(browser, "#my-tickets")
    browser.get(stack.url + "/patrols")
    wait_for(browser, f"#start-{plan['id']}").click()
    wait_text(browser, "#round-status", "处理中")
    code = wait_for(browser, "#scan-form #f-code")
    code.send_keys("CP-X")  # a code not on the plan: the API's message under the field, nothing recorded
    browser.find_element(By.CSS_SELECTOR, "#scan-form button").click()
    wait_for(browser, "#code-error")
    wait_for(browser, "#scan-form #f-code").clear()
    browser.find_element(By.CSS_SELECTOR, "#scan-form #f-code").send_keys("CP-A")
    browser.find_element(By.CSS_SELECTOR, "#scan-form button").click()
    wait_text(browser, "#cp-CP-A", "✔")

    Select(wait_for(browser, "#finding-form #f-kind")).select_by_value("engineering")
    Select(browser.find_element(By.CSS_SELECTOR, "#finding-form #f-severity")).select_by_value("major")
    browser.find_element(By.CSS_SELECTOR, "#finding-form #f-description").send_keys("泵房地面积水")
    photo = _file(PNG, ".png")
    browser.find_element(By.CSS_SELECTOR, "#finding-form #f-photo").send_keys(photo)
    browser.find_element(By.CSS_SELECTOR, "#finding-form button").click()
    ticket_link = wait_for(browser, "#findings a.finding-ticket")
    ticket_id = ticket_link.get_attribute("href").rstrip("/").rsplit("/", 1)[1]
    browser.find_element(By.CSS_SELECTOR, "#complete-form button").click()
    wait_text(browser, "#round-status", "已完成")
    assert "CP-B" in browser.find_element(By.ID, "missed").text
    assert _page_errors(browser) == []
    os.unlink(photo)

    ticket = admin.get(f"/api/v1/tickets/{ticket_id}").json()
    assert (ticket["channel"], ticket["round_id"] is not None) == ("patrol", True)
    attachments = admin.get(f"/api/v1/tickets/{ticket_id}/attachments").json()["items"]
    assert len(attachments) == 1 and attachments[0]["content_type"] == "image/png"


def test_a_resident_is_registered_and_moved_in_at_the_desk(stack, admin, browser):
    place = zone_with_butler(admin)
    unit_id = place["unit"]["id"]
    fresh(browser)
    sign_in(browser, stack.url, *place["butler"][:2])
    wait_for(browser, "#my-tickets")
    browser.get(f"{stack.url}/units/{unit_id}")
    wait_for(browser, "#household-affairs").click()
    form = _open(browser, "affair-register")
    form.find_element(By.ID, "f-name").send_keys("王五")
    form.find_element(By.ID, "f-phone").send_keys("12345")  # not a phone number: refused, named, nothing written
    Select(form.find_element(By.ID, "f-role")).select_by_value("tenant")
    form.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(browser, "#affair-register #phone-error")
    assert len(admin.get("/api/v1/residents", params={"unit_id": unit_id}).json()["items"]) == 1
    phone = wait_for(browser, "#affair-register #f-phone")
    phone.clear()
    phone.send_keys("13700137000")
    browser.find_element(By.CSS_SELECTOR, "#affair-register button").click()
    _saved(browser, "register")
    # The owner's household leaves first: an occupied unit takes no new household.
    _open(browser, "affair-move_out").find_element(By.CSS_SELECTOR, "button").click()
    _saved(browser, "move_out")

    registered = [
        r
        for r in admin.get("/api/v1/residents", params={"unit_id": unit_id}).json()["items"]
        if r["status"] == "registered"
    ]
    assert len(registered) == 1
    form = _open(browser, "affair-move_in")
    Select(form.find_element(By.ID, "f-resident_id")).select_by_value(registered[0]["id"])
    form.find_element(By.CSS_SELECTOR, "button").click()
    _saved(browser, "move_in")
    wait_text(browser, f"#resident-{registered[0]['id']} .resident-status", "已入住")
    assert admin.get(f"/api/v1/residents/{registered[0]['id']}").json()["status"] == "moved_in"
    assert _page_errors(browser) == []


def test_a_renovation_taken_at_the_desk_is_approved_and_a_violation_recorded(stack, admin, browser):
    place = make_household(admin)
    centre = staff(admin, place, "cs_manager")
    fresh(browser)
    sign_in(browser, stack.url, *centre[:2])
    wait_for(browser, "#queue-new")
    browser.get(stack.url + "/renovations/new?q=13800138000")
    wait_for(browser, "#renovation-matches a.pick").click()
    form = wait_for(browser, "#renovation-form")
    Select(form.find_element(By.ID, "f-applicant_id")).select_by_value(place["resident"]["id"])
    form.find_element(By.ID, "f-contractor_name").send_keys("安居装饰")
    form.find_element(By.ID, "f-contractor_phone").send_keys("13600136000")
    form.find_element(By.ID, "f-item").send_keys("厨房翻新")
    browser.execute_script(
        "document.getElementById('f-planned_start').value = '2026-12-10';"
        "document.getElementById('f-planned_end').value = '2027-01-20';"
    )
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(browser, "#renovation-status", "已提交")

    review = _open(browser, "action-review")
    review.find_element(By.ID, "f-notes").send_keys("不涉及承重结构")
    review.find_element(By.CSS_SELECTOR, "button").click()
    wait_text(browser, "#renovation-status", "已审核")
    _open(browser, "action-approve").find_element(By.CSS_SELECTOR, "button").click()
    permit = _open(browser, "action-permit")
    permit.find_element(By.NAME, "waive_deposit_reason").send_keys("押金已现场收取")
    permit.find_element(By.CSS_SELECTOR, "button").click()
    wait_text(browser, "#renovation-status", "已批准")
    wait_for(browser, "#permit")

    form = _open(browser, "action-inspect")
    form.find_element(By.ID, "f-findings").send_keys("楼道堆放装修垃圾")
    form.find_element(By.ID, "f-violation").click()
    Select(form.find_element(By.ID, "f-category")).select_by_value("debris")
    Select(form.find_element(By.ID, "f-severity")).select_by_value("minor")
    form.find_element(By.ID, "f-evidence").send_keys("现场照片两张")
    browser.execute_script("document.querySelector('#action-inspect #f-rectify_by').value = '2030-12-05T18:00';")
    form.find_element(By.CSS_SELECTOR, "button").click()
    violation = wait_for(browser, ".violation")
    assert "待处理" in violation.text
    renovation_id = browser.current_url.rstrip("/").rsplit("/", 1)[1]
    (inspection,) = admin.get(f"/api/v1/renovations/{renovation_id}/inspections").json()
    assert inspection["violations"][0]["category"] == "debris"
    assert inspection["violations"][0]["rectify_by"].startswith("2030-12-05T10:00")  # 18:00 in Shanghai
    assert _page_errors(browser) == []


def test_a_notice_shows_its_recipients_and_sms_length_before_it_is_sent(stack, admin, browser):
    place = make_household(admin)
    centre = staff(admin, place, "cs_manager")
    fresh(browser)
    sign_in(browser, stack.url, *centre[:2])
    wait_for(browser, "#queue-new")
    browser.get(stack.url + "/notices")
    Select(wait_for(browser, "#f-audience")).select_by_value(f"community:{place['community']['id']}")
    browser.find_element(By.ID, "f-title").send_keys("停水通知")
    browser.find_element(By.ID, "f-body").send_keys("明日9点至12点停水，请提前储水。")
    wait_text(browser, "#preview-count", "1 位收件人")
    assert "短信长度" in browser.find_element(By.ID, "preview-length").text
    assert (
        admin.get("/api/v1/notifications/notices", params={"community_id": place["community"]["id"]}).json()["total"]
        == 0
    )
    browser.find_element(By.CSS_SELECTOR, "#notice-form button[type=submit]").click()
    wait_text(browser, "#my-notices", "停水通知")
    notices = admin.get("/api/v1/notifications/notices", params={"community_id": place["community"]["id"]}).json()
    assert notices["total"] == 1 and notices["items"][0]["recipients"] == 1
    assert _page_errors(browser) == []


def test_a_roster_dry_run_lists_the_bad_row_and_writes_nothing(stack, admin, browser):
    place = make_household(admin)
    centre = staff(admin, place, "cs_manager")
    before = admin.get("/api/v1/units", params={"community_id": place["community"]["id"]}).json()["total"]
    roster = "楼栋,房号,楼层,建筑面积\n1栋,1-102,1,76.20\n1栋,1-103,一楼,80.00\n".encode()
    path = _file(roster, ".csv")
    fresh(browser)
    sign_in(browser, stack.url, *centre[:2])
    wait_for(browser, "#queue-new")
    browser.get(stack.url + "/roster")
    Select(wait_for(browser, "#f-kind")).select_by_value("units")
    browser.find_element(By.ID, "f-file").send_keys(path)
    browser.find_element(By.CSS_SELECTOR, "#roster-form button").click()
    table = wait_for(browser, "#row-errors")
    rows = [r.text for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert len(rows) == 1 and "3" in rows[0] and "floor" in rows[0]
    assert not browser.find_elements(By.ID, "roster-confirm")  # nothing to confirm while a row is wrong
    assert admin.get("/api/v1/units", params={"community_id": place["community"]["id"]}).json()["total"] == before
    template = browser.find_element(By.ID, "roster-template").get_attribute("href")
    assert template.endswith("/roster/template.xlsx")
    os.unlink(path)
    assert _page_errors(browser) == []


def test_these_pages_do_not_scroll_sideways_on_a_phone(stack, admin, browser):
    place = zone_with_butler(admin)
    fresh(browser, PHONE)
    sign_in(browser, stack.url, *place["butler"][:2])
    wait_for(browser, "#my-tickets")
    pages = [
        "/patrols",
        f"/household/{place['unit']['id']}",
        "/household",
        "/renovations",
        "/renovations/new?q=13800138000",
        "/notices",
        "/roster",
    ]
    for path in pages:
        browser.get(stack.url + path)
        wait_for(browser, "main")
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375 px"
