"""The community service through the gateway, in both run modes: the resident reads the published 百问百答 with a
Chinese query, answers a satisfaction survey with a low score, and tickets opens the follow-up complaint; the
report comes out after close, and another community sees nothing."""

import time
from datetime import date, timedelta

from .conftest import Client, make_household


def _until(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout}s")
        time.sleep(0.2)


def test_knowledge_base_survey_and_its_follow_up_complaint(stack, admin):
    home = make_household(admin)
    other = make_household(admin)
    community_id, unit_id = home["community"]["id"], home["unit"]["id"]
    resident = Client(stack.url).login(*home["login"])
    stranger = Client(stack.url).login(*other["login"])

    review_by = (date.today() + timedelta(days=180)).isoformat()
    for question, status in (("家里水管漏水由谁负责维修？", "published"), ("草稿：电梯年检什么时候？", "draft")):
        admin.created(
            "/api/v1/knowledge",
            {
                "community_id": community_id,
                "category": "repairs",
                "question": question,
                "answer": "户内管道由业主自行维修，公共管道由物业维修；保修期内由开发商负责。",
                "responsible_party": "developer",
                "status": status,
                "review_by": review_by,
            },
        )
    found = resident.get("/api/v1/knowledge", params={"community_id": community_id, "q": "漏水"})
    assert found.status_code == 200, found.text
    assert [item["question"] for item in found.json()["items"]] == ["家里水管漏水由谁负责维修？"]
    assert resident.get("/api/v1/knowledge", params={"community_id": community_id, "q": "电梯"}).json()["items"] == []
    assert stranger.get("/api/v1/knowledge", params={"community_id": community_id}).status_code == 404

    survey = admin.created(
        "/api/v1/surveys",
        {
            "community_id": community_id,
            "title": "2026 年度满意度调查",
            "questions": [
                {"service_line": "maintenance", "kind": "scale_5", "text": "您对维修服务满意吗？"},
                {"service_line": "overall", "kind": "text", "text": "意见建议", "required": False},
            ],
        },
    )
    sid = survey["id"]
    # The household reaches the community service by unit.created: open once it has arrived.
    opened = _until(
        lambda: (r := admin.post(f"/api/v1/surveys/{sid}/open")).status_code == 200 and r, "household projected"
    )
    assert opened.json()["households"] == 1
    assert stranger.get(f"/api/v1/surveys/{sid}").status_code == 404

    q1, q2 = (q["id"] for q in opened.json()["questions"])
    answer = resident.post(
        f"/api/v1/surveys/{sid}/answers", json={"channel": "mobile", "answers": {q1: 1, q2: "报修三次都没修好"}}
    )
    assert answer.status_code == 201, answer.text
    twice = resident.post(f"/api/v1/surveys/{sid}/answers", json={"channel": "mobile", "answers": {q1: 5}})
    assert twice.status_code == 409

    def follow_up():
        response = admin.get("/api/v1/tickets", params={"unit_id": unit_id, "channel": "survey"})
        assert response.status_code == 200, response.text
        return response.json()["items"]

    (ticket,) = _until(follow_up, "follow-up complaint")
    assert ticket["category"] == "complaint" and ticket["subcategory"] == "survey_follow_up"
    assert "工程维修 1/5" in ticket["description"] and "报修三次" not in ticket["description"]

    closed = admin.post(f"/api/v1/surveys/{sid}/close")
    assert closed.status_code == 200, closed.text
    report = admin.get(f"/api/v1/surveys/{sid}/report").json()
    assert report["answered"] == 1 and report["response_rate"] == 1.0
    assert report["by_service_line"] == [{"service_line": "maintenance", "score": 1.0, "answers": 1}]
    assert report["comments"] == [{"question_id": q2, "text": "报修三次都没修好"}]
    xlsx = admin.get(f"/api/v1/surveys/{sid}/report", params={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert resident.get(f"/api/v1/surveys/{sid}/report").status_code == 403


def test_a_completed_service_order_is_charged_in_billing_under_the_items_name(stack, admin):
    home = make_household(admin)
    community_id, unit_id = home["community"]["id"], home["unit"]["id"]
    resident = Client(stack.url).login(*home["login"])
    item = admin.created(
        "/api/v1/catalogue",
        {
            "community_id": community_id,
            "name": "家政保洁（2小时）",
            "pricing": "fixed",
            "price": "120.00",
            "provider": "partner",
            "partner_name": "好帮手家政",
        },
    )
    assert [
        i["name"] for i in resident.get("/api/v1/catalogue", params={"community_id": community_id}).json()["items"]
    ] == ["家政保洁（2小时）"]
    # The household reaches the community service by unit.created: the order goes through once it has arrived.
    order = _until(
        lambda: (
            (r := resident.post("/api/v1/service-orders", json={"unit_id": unit_id, "item_id": item["id"]})).status_code
            == 201
            and r.json()
        ),
        "household projected",
    )
    oid = order["id"]
    scheduled = admin.post(
        f"/api/v1/service-orders/{oid}/schedule", json={"scheduled_for": "2026-12-05T14:00:00+08:00"}
    )
    assert scheduled.status_code == 200, scheduled.text
    assert admin.post(f"/api/v1/service-orders/{oid}/complete").status_code == 200

    def charged():
        response = admin.get("/api/v1/billing/bills", params={"unit_id": unit_id})
        assert response.status_code == 200, response.text
        return [b for b in response.json()["items"] if b["kind"] == "one_off"]

    (bill,) = _until(charged, "the bill of the order")
    assert bill["description"] == "家政保洁（2小时）" and bill["amount"] == "120.00"
    assert "Paid repair" not in str(bill)
