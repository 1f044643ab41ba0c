"""The community screens in a real browser, both run modes: the front desk's 百问百答 (a Chinese search narrows the
answers as the butler types, each answer names who is responsible, the entries past their review date are listed)
a survey's response rate and report with its XLSX; and, on a phone, a survey built, the household reminders
screen, and an activity's sign-up and check-in (embedded mode only: the screens are the workbench's, the same in
both modes)."""

from __future__ import annotations

import time
from datetime import date, timedelta

from selenium.webdriver.common.by import By

from .browser import PHONE, csp_violations, fresh, sign_in, wait_for, wait_text, web_session
from .conftest import ADMIN_PASSWORD, Client
from .test_workbench import shared_place, staff


def test_the_butler_searches_the_knowledge_base_in_chinese(stack, admin, browser):
    place = shared_place(stack, admin, "knowledge")
    community_id = place["community"]["id"]
    later = (date.today() + timedelta(days=90)).isoformat()
    entries = [
        ("房屋漏水找谁维修？", "保修期内由开发商负责维修，物业协调跟进。", "developer", later),
        ("燃气表故障怎么办？", "请拨打燃气公司热线报修。", "utility", later),
        ("门禁卡丢了怎么补办？", "到物业服务中心登记补办。", "property_company", "2020-01-31"),
    ]
    for question, answer, party, review_by in entries:
        admin.created(
            "/api/v1/knowledge",
            {
                "community_id": community_id,
                "category": "repairs",
                "question": question,
                "answer": answer,
                "responsible_party": party,
                "status": "published",
                "review_by": review_by,
            },
        )
    admin.created(
        "/api/v1/directory",
        {
            "community_id": community_id,
            "kind": "hotline",
            "category": "citizen_hotline",
            "name": "市民服务热线",
            "phone": "12345",
            "status": "published",
            "review_by": later,
        },
    )
    fresh(browser)
    sign_in(browser, stack.url, *place["butler"][:2])
    wait_for(browser, "#my-tickets")
    browser.get(f"{stack.url}/knowledge?community_id={community_id}")
    wait_text(browser, "#knowledge-entries", "燃气表故障怎么办？")
    assert "市民服务热线" in browser.find_element(By.ID, "knowledge-directory").text
    assert "门禁卡丢了怎么补办？" in browser.find_element(By.ID, "knowledge-overdue").text
    browser.find_element(By.ID, "f-q").send_keys("漏水")
    wait_for(browser, "#knowledge-entries tbody tr:only-child")
    rows = browser.find_elements(By.CSS_SELECTOR, "#knowledge-entries tbody tr")
    assert len(rows) == 1 and "房屋漏水找谁维修？" in rows[0].text
    assert rows[0].find_element(By.CSS_SELECTOR, ".responsible").text == "开发商"
    assert csp_violations(browser) == []


def test_the_service_manager_follows_a_survey_and_downloads_its_report(stack, admin, browser):
    place = shared_place(stack, admin, "knowledge")
    community_id, unit_id = place["community"]["id"], place["unit"]["id"]
    survey = admin.created(
        "/api/v1/surveys",
        {
            "community_id": community_id,
            "title": "年度满意度调查",
            "questions": [{"service_line": "cleaning", "kind": "scale_5", "text": "您对保洁满意吗？"}],
        },
    )
    sid = survey["id"]
    deadline = time.monotonic() + 30
    while admin.post(f"/api/v1/surveys/{sid}/open").status_code != 200:  # the unit reaches community by its event
        assert time.monotonic() < deadline, "the household never reached the community service"
        time.sleep(0.2)
    question = survey["questions"][0]["id"]
    answered = admin.post(
        f"/api/v1/surveys/{sid}/answers", json={"unit_id": unit_id, "channel": "visit", "answers": {question: 4}}
    )
    assert answered.status_code == 201, answered.text
    assert admin.post(f"/api/v1/surveys/{sid}/close").status_code == 200
    manager = staff(admin, place, "cs_manager")
    fresh(browser)
    sign_in(browser, stack.url, *manager[:2])
    wait_for(browser, "#queue-new")
    browser.get(f"{stack.url}/surveys?community_id={community_id}")
    wait_for(browser, f"#survey-{sid} a").click()
    wait_text(browser, "#survey-progress", "100%")
    report = wait_for(browser, "#survey-report")
    assert "保洁 4.0" in report.text
    link = browser.find_element(By.ID, "report-xlsx").get_attribute("href")
    session = web_session(stack.url, *manager[:2])
    download = session.get(link, timeout=15)
    assert download.status_code == 200 and download.content[:2] == b"PK"
    assert csp_violations(browser) == []


def test_the_service_manager_builds_a_survey_on_a_phone(embedded_stack, browser):
    admin = Client(embedded_stack.url).login("admin", ADMIN_PASSWORD)
    place = shared_place(embedded_stack, admin, "knowledge")
    community_id = place["community"]["id"]
    manager = staff(admin, place, "cs_manager")
    fresh(browser, PHONE)
    sign_in(browser, embedded_stack.url, *manager[:2])
    wait_for(browser, "#queue-new")
    browser.get(f"{embedded_stack.url}/surveys?community_id={community_id}")
    wait_for(browser, "#survey-new").click()
    wait_for(browser, "#f-title").send_keys("手机上建的问卷")
    browser.find_element(By.ID, "f-q0_text").send_keys("您对管家服务满意吗？")
    browser.find_element(By.ID, "survey-save").click()
    wait_text(browser, "#survey-questionnaire", "您对管家服务满意吗？")
    assert "客服" in browser.find_element(By.ID, "survey-questionnaire").text
    assert browser.find_element(By.ID, "survey-open").is_displayed()
    browser.get(f"{embedded_stack.url}/reminders?community_id={community_id}")
    wait_for(browser, "#reminder-form")
    assert csp_violations(browser) == []


def test_on_a_phone_the_butler_signs_a_household_up_and_checks_it_in(embedded_stack, browser):
    """Embedded only: the activity page at 375 px — find the household, sign it up, check it in — without CSP
    violations or a page wider than the phone."""
    from datetime import datetime

    stack = embedded_stack
    admin = Client(stack.url).login("admin", ADMIN_PASSWORD)
    place = shared_place(stack, admin, "activities")
    start = datetime.now().astimezone() + timedelta(days=4)
    activity = admin.created(
        "/api/v1/activities",
        {"community_id": place["community"]["id"], "title": "亲子运动会", "kind": "sport", "place": "中心广场",
         "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
         "signup_closes_at": (start - timedelta(hours=1)).isoformat(), "capacity": 10},
    )  # fmt: skip
    assert admin.request("PATCH", f"/api/v1/activities/{activity['id']}", json={"status": "published"}).ok
    fresh(browser, PHONE)
    sign_in(browser, stack.url, *place["butler"][:2])
    wait_for(browser, "#my-tickets")
    browser.get(f"{stack.url}/activities/{activity['id']}")
    search = wait_for(browser, "#f-q")
    search.send_keys("1-101")
    search.submit()
    deadline = time.monotonic() + 30
    while not browser.find_elements(By.CSS_SELECTOR, ".signup-pick button"):  # the unit reaches community by event
        assert time.monotonic() < deadline, "the household never reached the community service"
        time.sleep(0.3)
        browser.refresh()
    browser.find_element(By.CSS_SELECTOR, ".signup-pick button").click()
    wait_text(browser, "#activity-signups", "1栋1-101")
    wait_for(browser, "#activity-signups .check-in").click()
    wait_text(browser, "#attended-count", "1")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    assert csp_violations(browser) == []
