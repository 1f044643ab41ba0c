"""The ticket collaboration screens in a real browser, in both run modes: progress notes (internal, for the
resident), a complaint's staged feedback listed when due, Chinese free-text search, an enquiry closed directly."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from .browser import csp_violations, fresh, sign_in, wait_for, wait_text, web_session
from .conftest import Client
from .test_workbench import shared_place

pytestmark = pytest.mark.timeout(300)


def _sign_in_at_the_centre(browser, stack, centre) -> None:
    fresh(browser)
    sign_in(browser, stack.url, *centre[:2])
    wait_for(browser, "#queue-new")


def test_notes_staged_feedback_search_and_direct_close(stack, admin, browser):
    place = shared_place(stack, admin)
    centre = place["centre"]
    api = Client(stack.url).login(*centre[:2])
    resident = Client(stack.url).login(*place["login"])
    word = f"噪音{uuid.uuid4().hex[:4]}"
    complaint = resident.created(
        "/api/v1/tickets",
        {"unit_id": place["unit"]["id"], "category": "complaint", "description": f"楼上装修{word}扰民"},
    )
    _sign_in_at_the_centre(browser, stack, centre)

    # 跟进记录: an internal note, then a staged feedback with the next date (local time, in an hour).
    browser.get(f"{stack.url}/tickets/{complaint['id']}")
    wait_for(browser, "#f-note-body").send_keys("业主情绪激动，注意沟通")
    browser.find_element(By.CSS_SELECTOR, "#note-form button").click()
    wait_text(browser, "#note-list", "业主情绪激动")
    assert "内部" in browser.find_element(By.ID, "note-list").text
    wait_for(browser, "#f-note-body").send_keys("已联系楼上业主，约定晚八点后停工")
    Select(browser.find_element(By.CSS_SELECTOR, "#note-form #f-kind")).select_by_value("feedback")
    # A date in the past is refused by the API under its field, and nothing is saved.
    browser.execute_script("document.getElementById('f-next_feedback_at').value = '2020-01-01T09:00'")
    browser.find_element(By.CSS_SELECTOR, "#note-form button").click()
    wait_for(browser, "#next_feedback_at-error")
    assert len(api.get(f"/api/v1/tickets/{complaint['id']}/notes").json()["items"]) == 1
    assert complaint["id"] not in [t["id"] for t in api.get("/api/v1/tickets/feedback-due").json()["items"]]
    body = browser.find_element(By.ID, "f-note-body")
    body.clear()
    body.send_keys("已联系楼上业主，约定晚八点后停工")
    Select(browser.find_element(By.CSS_SELECTOR, "#note-form #f-kind")).select_by_value("feedback")
    # The form's times are the instance's (Asia/Shanghai), whatever the browser's own timezone.
    in_an_hour = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    browser.execute_script(f"document.getElementById('f-next_feedback_at').value = '{in_an_hour}'")
    browser.find_element(By.CSS_SELECTOR, "#note-form button").click()
    wait_text(browser, "#note-list", "阶段性反馈")
    wait_for(browser, "#next-feedback")
    # The resident reads the feedback, not the internal note.
    seen = [n["body"] for n in resident.get(f"/api/v1/tickets/{complaint['id']}/notes").json()["items"]]
    assert seen == ["已联系楼上业主，约定晚八点后停工"]

    # 待反馈: listed among those due within a day.
    browser.get(f"{stack.url}/tickets/feedback-due?within=day")
    wait_text(browser, "#feedback-due", complaint["number"])

    # Search the list in Chinese.
    browser.get(f"{stack.url}/tickets")
    wait_for(browser, "#f-q").send_keys(word)
    browser.find_element(By.CSS_SELECTOR, "#ticket-filters button[type=submit]").click()
    # The unfiltered list already shows the complaint (it is the newest): wait for the filtered answer itself.
    # The search-as-you-type answer and the submit's may swap the list one after the other: a row read between two
    # swaps is stale, so the count and the row's text are read together, again until they hold.
    rows = "#ticket-list tbody tr"

    def only_the_complaint(b) -> bool:
        found = b.find_elements(By.CSS_SELECTOR, rows)
        return len(found) == 1 and complaint["number"] in found[0].text

    WebDriverWait(browser, 30, ignored_exceptions=[StaleElementReferenceException]).until(only_the_complaint)

    # An enquiry answered is closed without a return visit.
    enquiry = api.created(
        "/api/v1/tickets", {"unit_id": place["unit"]["id"], "category": "inquiry", "description": "物业费怎么交"}
    )
    browser.get(f"{stack.url}/tickets/{enquiry['id']}")
    wait_for(browser, "#f-close-note").send_keys("已告知可在小程序缴费")
    browser.find_element(By.CSS_SELECTOR, "#action-close button").click()
    wait_text(browser, "#ticket-status", "已关闭")
    assert not browser.find_elements(By.ID, "action-visit")
    assert csp_violations(browser) == [] or all("status of 422" in m for m in csp_violations(browser))


def test_an_incident_is_opened_run_on_site_closed_and_reported(stack, admin, browser):
    place = shared_place(stack, admin)
    centre, engineer = place["centre"], place["engineer"]
    _sign_in_at_the_centre(browser, stack, centre)
    browser.get(f"{stack.url}/incidents")
    # Nothing affected: refused under the scope, nothing opened.
    wait_for(browser, "#f-title").send_keys("1栋停水")
    browser.find_element(By.CSS_SELECTOR, "#incident-form button[type=submit]").click()
    wait_for(browser, "#f-scope .field-error")
    Select(browser.find_element(By.ID, "f-type")).select_by_value("water_outage")
    browser.find_element(By.ID, "f-title").clear()
    browser.find_element(By.ID, "f-title").send_keys("1栋停水")
    browser.find_element(By.ID, "f-description").send_keys("主管爆裂，1栋全楼停水")
    browser.find_element(By.CSS_SELECTOR, f"input[name=scope][value='building:{place['building']['id']}']").click()
    browser.find_element(By.CSS_SELECTOR, "#incident-form button[type=submit]").click()
    wait_text(browser, "#incident-status", "处置中")
    assert "1栋" in browser.find_element(By.ID, "incident-scope").text  # the building's name, not its id

    wait_for(browser, "#step-arrived button").click()
    wait_text(browser, "#incident-log", "到场")
    browser.find_element(By.ID, "f-title").send_keys("通知水厂复检水质")
    Select(browser.find_element(By.ID, "f-owner_id")).select_by_value(engineer[2])
    browser.find_element(By.CSS_SELECTOR, "#task-form button").click()
    wait_text(browser, "#incident-tasks", "通知水厂复检水质")
    wait_for(browser, "#step-resolved button").click()
    wait_text(browser, "#incident-status", "已解决")
    browser.find_element(By.CSS_SELECTOR, "#incident-tasks form button").click()
    wait_text(browser, "#incident-tasks", "完成")
    wait_for(browser, "#f-summary").send_keys("管道已修复，恢复供水")
    browser.find_element(By.CSS_SELECTOR, "#close-form button").click()
    wait_text(browser, "#incident-status", "已结案")
    incident_url = browser.current_url

    session = web_session(stack.url, *centre[:2])
    printable = session.get(incident_url + "/print", timeout=30)
    assert printable.status_code == 200 and "事件报告" in printable.text and "管道已修复" in printable.text
    xlsx = session.get(incident_url + "/report.xlsx", timeout=30)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert csp_violations(browser) == [] or all("status of 422" in m for m in csp_violations(browser))
