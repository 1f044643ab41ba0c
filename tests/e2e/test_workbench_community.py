"""The front desk's 百问百答 screen in a real browser, both run modes: a Chinese search narrows the answers as the
butler types, each answer names who is responsible, and the entries past their review date are listed."""

from __future__ import annotations

from datetime import date, timedelta

from selenium.webdriver.common.by import By

from .browser import csp_violations, fresh, sign_in, wait_for, wait_text
from .test_workbench import shared_place


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
