"""The 请假 screen in a real browser: a butler asks for leave with a stand-in (a stand-in already on leave is refused
under the field), the senior butler approves it on the same screen, in both run modes."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from .browser import csp_violations, fresh, sign_in, wait_for, wait_text
from .conftest import Client, make_household
from .test_workbench import staff


def _set(browser, field: str, value: str) -> None:
    browser.execute_script(f"document.getElementById('f-{field}').value = '{value}';")


def test_a_butler_asks_for_leave_and_the_senior_butler_approves_it(stack, admin, browser):
    place = make_household(admin)
    community = place["community"]["id"]
    senior, butler, stand_in = (staff(admin, place, role) for role in ("senior_butler", "butler", "butler"))
    department = admin.created("/api/v1/staff/departments", {"community_id": community, "kind": "customer_service"})

    def post(who, title, name, reports_to=None):
        body = {"department_id": department["id"], "title": title, "user_id": who[2], "display_name": name}
        return admin.created("/api/v1/staff/positions", {**body, "reports_to_id": reports_to})

    lead = post(senior, "senior_butler", "王主管")
    post(butler, "assistant_butler", "李管家", lead["id"])
    other = post(stand_in, "butler_aide", "赵助理", lead["id"])
    # The stand-in is away on 2030-12-06 already.
    Client(stack.url).login(*stand_in[:2]).created(
        "/api/v1/staff/leaves",
        {
            "position_id": other["id"],
            "stand_in_id": lead["id"],
            "kind": "sick",
            "starts_at": "2030-12-06T01:00:00+00:00",
            "ends_at": "2030-12-06T10:00:00+00:00",
        },
    )

    fresh(browser)
    sign_in(browser, stack.url, *butler[:2])
    wait_for(browser, "nav.nav")
    browser.get(stack.url + "/leave")
    Select(wait_for(browser, "#f-stand_in_id")).select_by_visible_text("赵助理")
    Select(browser.find_element(By.ID, "f-kind")).select_by_value("annual")
    _set(browser, "starts_at", "2030-12-05T09:00")
    _set(browser, "ends_at", "2030-12-07T18:00")
    browser.find_element(By.CSS_SELECTOR, "#leave-form button[type=submit]").click()
    error = wait_for(browser, "#stand_in_id-error")
    assert "赵助理 在 2030-12-06 09:00 至 2030-12-06 18:00 请假" in error.text  # local times, in Chinese
    assert (
        admin.get("/api/v1/staff/leaves", params={"community_id": community, "status": "pending"}).json()["total"] == 1
    )

    _set(browser, "ends_at", "2030-12-05T18:00")
    Select(browser.find_element(By.ID, "f-stand_in_id")).select_by_visible_text("赵助理")
    _set(browser, "starts_at", "2030-12-04T09:00")
    browser.find_element(By.CSS_SELECTOR, "#leave-form button[type=submit]").click()
    wait_text(browser, "#leaves", "李管家")
    row = browser.find_element(By.XPATH, "//section[@id='leaves']//tr[td[1][normalize-space()='李管家']]")
    assert "待处理" in row.text and "年假" in row.text
    assert "2030-12-04 09:00" in row.text and "赵助理" in row.text

    fresh(browser)
    sign_in(browser, stack.url, *senior[:2])
    wait_for(browser, "nav.nav")
    browser.get(stack.url + "/leave")
    wait_for(browser, "#leaves tbody tr[id^='leave-']")
    mine = [r for r in browser.find_elements(By.CSS_SELECTOR, "#leaves tbody tr") if "李管家" in r.text][0]
    mine.find_element(By.XPATH, ".//button[normalize-space()='批准']").click()
    wait_text(browser, "#leaves", "已批准")
    leaves = admin.get("/api/v1/staff/leaves", params={"community_id": community, "status": "approved"}).json()
    assert [item["display_name"] for item in leaves["items"]] == ["李管家"]
    assert [m for m in csp_violations(browser) if "status of 422" not in m] == []
