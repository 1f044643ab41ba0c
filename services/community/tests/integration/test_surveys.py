"""Satisfaction surveys: questionnaire frozen at open, seeded sample, one answer per household, the butler only in
their zones, response rate by zone, close → report (JSON and XLSX), survey.low_score for a low answer."""

import io

import openpyxl
import pytest

from community.domain.surveys import draw_audience

QUESTIONS = [
    {"service_line": "customer_service", "kind": "scale_5", "text": "您对管家服务的满意程度？"},
    {"service_line": "maintenance", "kind": "scale_5", "text": "您对报修处理的及时性是否满意？"},
    {"service_line": "cleaning", "kind": "single", "text": "楼道保洁频次是否合适？", "options": ["合适", "偏少"]},
    {
        "service_line": "security",
        "kind": "multiple",
        "text": "您希望加强哪些方面？",
        "options": ["门岗", "巡逻", "车辆"],
    },
    {"service_line": "overall", "kind": "nps", "text": "您愿意向亲友推荐本物业吗？"},
    {"service_line": "overall", "kind": "text", "text": "其他意见和建议", "required": False},
]


@pytest.fixture
def survey(client, world):
    body = {"community_id": world["community_id"], "title": "2026 年度满意度调查", "questions": QUESTIONS}
    response = client.post("/api/v1/surveys", headers=world["senior"], json=body)
    assert response.status_code == 201, response.json
    return response.json


def _answers(survey, scores=(5, 4), nps=9, comment=None):
    q = [question["id"] for question in survey["questions"]]
    answers = {q[0]: scores[0], q[1]: scores[1], q[2]: "合适", q[3]: ["巡逻"], q[4]: nps}
    if comment:
        answers[q[5]] = comment
    return answers


def test_a_survey_needs_questions_and_is_frozen_once_open(client, world, survey, outbox_events):
    empty = client.post(
        "/api/v1/surveys",
        headers=world["senior"],
        json={"community_id": world["community_id"], "title": "空问卷", "questions": []},
    )
    assert empty.status_code == 422 and "questions" in empty.json["errors"]
    one_option = client.post(
        "/api/v1/surveys",
        headers=world["senior"],
        json={
            "community_id": world["community_id"],
            "title": "单选",
            "questions": [{"service_line": "greening", "kind": "single", "text": "?", "options": ["是"]}],
        },
    )
    assert one_option.status_code == 422 and "questions.0.options" in one_option.json["errors"]
    opened = client.post(f"/api/v1/surveys/{survey['id']}/open", headers=world["senior"])
    assert opened.status_code == 200, opened.json
    assert opened.json["status"] == "open" and opened.json["households"] == 3
    rewrite = client.put(
        f"/api/v1/surveys/{survey['id']}",
        headers=world["senior"],
        json={"community_id": world["community_id"], "title": "改题", "questions": QUESTIONS[:1]},
    )
    assert rewrite.status_code == 409
    assert len(client.get(f"/api/v1/surveys/{survey['id']}", headers=world["senior"]).json["questions"]) == 6
    (event,) = outbox_events(f"survey/{survey['id']}", "survey.opened")
    assert event["data"]["households"] == 3
    # A butler may not build or open surveys.
    assert client.post(f"/api/v1/surveys/{survey['id']}/close", headers=world["butler"]).status_code == 403


def test_the_seeded_sample_is_reproducible():
    homes = [f"u{i:03d}" for i in range(200)]
    first = draw_audience(homes, 20, seed=7)
    assert first == draw_audience(list(reversed(homes)), 20, seed=7) and len(first) == 20
    assert first != draw_audience(homes, 20, seed=8)
    assert draw_audience(homes, None, seed=7) == sorted(homes)


def test_one_answer_per_household_in_scope_and_a_low_score_follow_up(client, world, survey, outbox_events):
    sid, units = survey["id"], world["units"]
    assert client.post(f"/api/v1/surveys/{sid}/open", headers=world["senior"]).status_code == 200
    # The resident answers for their own home on the mobile page.
    mine = client.post(
        f"/api/v1/surveys/{sid}/answers",
        headers=world["resident"],
        json={"channel": "mobile", "answers": _answers(survey, comment="希望增加儿童游乐设施")},
    )
    assert mine.status_code == 201, mine.json
    again = client.post(
        f"/api/v1/surveys/{sid}/answers",
        headers=world["resident"],
        json={"channel": "mobile", "answers": _answers(survey)},
    )
    assert again.status_code == 409
    # The butler records a phone answer for a home of their zone, but not for the other zone's home (404).
    low = client.post(
        f"/api/v1/surveys/{sid}/answers",
        headers=world["butler"],
        json={"unit_id": units["1栋1-102"], "channel": "phone", "answers": _answers(survey, scores=(4, 1), nps=3)},
    )
    assert low.status_code == 201, low.json
    other_zone = client.post(
        f"/api/v1/surveys/{sid}/answers",
        headers=world["butler"],
        json={"unit_id": units["2栋2-201"], "channel": "visit", "answers": _answers(survey)},
    )
    assert other_zone.status_code == 404
    missing = client.post(
        f"/api/v1/surveys/{sid}/answers",
        headers=world["manager"],
        json={"unit_id": units["2栋2-201"], "channel": "visit", "answers": {survey["questions"][0]["id"]: 9}},
    )
    assert missing.status_code == 422 and f"answers.{survey['questions'][0]['id']}" in missing.json["errors"]
    # The resident sees only their own answer; the butler only their zone's.
    own = client.get(f"/api/v1/surveys/{sid}/answers", headers=world["resident"]).json["items"]
    assert [a["unit_id"] for a in own] == [units["1栋1-101"]]
    assert client.get(f"/api/v1/surveys/{sid}/progress", headers=world["resident"]).status_code == 403
    # One follow-up for the low answer: its lowest item (maintenance 1 of 5), ids and scores only.
    (event,) = outbox_events(f"survey/{sid}", "survey.low_score")
    assert event["data"] == {
        "survey_id": sid,
        "answer_id": low.json["id"],
        "community_id": world["community_id"],
        "zone_id": world["zones"]["一区"],
        "unit_id": units["1栋1-102"],
        "service_line": "maintenance",
        "question_id": survey["questions"][1]["id"],
        "score": 1,
        "scale_max": 5,
    }
    progress = client.get(f"/api/v1/surveys/{sid}/progress", headers=world["manager"]).json
    assert [(z["zone_name"], z["households"], z["answered"]) for z in progress["zones"]] == [
        ("一区", 2, 2),
        ("二区", 1, 0),
    ]
    assert progress["response_rate"] == pytest.approx(0.6667)
    butler_view = client.get(f"/api/v1/surveys/{sid}/progress", headers=world["butler"]).json
    assert [z["zone_name"] for z in butler_view["zones"]] == ["一区"]


def test_close_makes_the_report_in_json_and_xlsx_and_answers_stop(client, world, survey):
    sid = survey["id"]
    assert client.get(f"/api/v1/surveys/{sid}/report", headers=world["manager"]).status_code == 409
    client.post(f"/api/v1/surveys/{sid}/open", headers=world["senior"])
    for label, scores, nps in (("1栋1-101", (5, 4), 10), ("1栋1-102", (3, 2), 6)):
        response = client.post(
            f"/api/v1/surveys/{sid}/answers",
            headers=world["manager"],
            json={
                "unit_id": world["units"][label],
                "channel": "visit",
                "answers": _answers(survey, scores, nps, "电梯经常故障"),
            },
        )
        assert response.status_code == 201, response.json
    closed = client.post(f"/api/v1/surveys/{sid}/close", headers=world["manager"])
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    late = client.post(
        f"/api/v1/surveys/{sid}/answers",
        headers=world["manager"],
        json={"unit_id": world["units"]["2栋2-201"], "channel": "visit", "answers": _answers(survey)},
    )
    assert late.status_code == 409
    report = client.get(f"/api/v1/surveys/{sid}/report", headers=world["manager"]).json
    assert report["answered"] == 2 and report["households"] == 3
    lines = {line["service_line"]: line["score"] for line in report["by_service_line"]}
    assert lines == {"customer_service": 4.0, "maintenance": 3.0}
    nps = next(q for q in report["by_question"] if q["kind"] == "nps")
    assert nps["nps"] == 0.0 and nps["distribution"]["10"] == 1 and nps["distribution"]["6"] == 1
    choice = next(q for q in report["by_question"] if q["kind"] == "multiple")
    assert choice["distribution"] == {"门岗": 0, "巡逻": 2, "车辆": 0}
    assert [z["zone_name"] for z in report["by_zone"]] == ["一区", "二区"]
    assert report["by_zone"][0]["score"] == 3.5 and report["by_zone"][1]["answered"] == 0
    assert report["lowest"][0]["service_line"] == "maintenance"
    assert [c["text"] for c in report["comments"]] == ["电梯经常故障", "电梯经常故障"]
    xlsx = client.get(f"/api/v1/surveys/{sid}/report", headers=world["manager"], query_string={"format": "xlsx"})
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames == ["汇总", "按服务条线", "按题目", "按片区", "意见建议"]
    zones = [row for row in book["按片区"].iter_rows(min_row=2, values_only=True)]
    assert zones[0][0] == "一区" and zones[0][3] == pytest.approx(1.0)
    assert [row[0] for row in book["按服务条线"].iter_rows(min_row=2, values_only=True)] == ["客服", "工程维修"]
    # Another community's manager learns nothing of it.
    assert client.get(f"/api/v1/surveys/{sid}/report", headers=world["outsider"]).status_code == 404


def test_reminders_go_to_the_households_that_have_not_answered_once_a_day(client, world, survey, outbox_events):
    sid, units = survey["id"], world["units"]
    draft = client.post(f"/api/v1/surveys/{sid}/reminders", headers=world["senior"])
    assert draft.status_code == 409  # not open yet
    assert client.post(f"/api/v1/surveys/{sid}/open", headers=world["senior"]).status_code == 200
    answered = client.post(
        f"/api/v1/surveys/{sid}/answers",
        headers=world["resident"],
        json={"unit_id": units["1栋1-101"], "channel": "mobile", "answers": _answers(survey)},
    )
    assert answered.status_code == 201, answered.json
    assert client.post(f"/api/v1/surveys/{sid}/reminders", headers=world["resident"]).status_code == 403
    # The butler of 一区 reminds their zone's household that has not answered, not 二区's.
    by_butler = client.post(f"/api/v1/surveys/{sid}/reminders", headers=world["butler"])
    assert by_butler.status_code == 200 and by_butler.json["reminded"] == 1, by_butler.json
    by_senior = client.post(f"/api/v1/surveys/{sid}/reminders", headers=world["senior"]).json
    assert (by_senior["reminded"], by_senior["already_reminded_today"]) == (1, 1)
    reminders = outbox_events(f"survey/{sid}", "survey.reminder_due")
    assert sorted(e["data"]["unit_id"] for e in reminders) == sorted([units["1栋1-102"], units["2栋2-201"]])
    assert set(reminders[0]["data"]) == {"survey_id", "community_id", "unit_id"}
    again = client.post(f"/api/v1/surveys/{sid}/reminders", headers=world["manager"]).json
    assert (again["reminded"], again["already_reminded_today"]) == (0, 2)
    outsider = client.post(f"/api/v1/surveys/{sid}/reminders", headers=world["outsider"])
    assert outsider.status_code == 404


def test_an_audience_by_building_draws_only_its_households(client, world, db):
    from community.models import Unit

    building, other = "b-1-" + world["community_id"][:8], "b-2-" + world["community_id"][:8]
    with db.transaction() as session:
        for label, unit_id in world["units"].items():
            session.get(Unit, unit_id).building_id = building if label.startswith("1栋") else other
    body = {"community_id": world["community_id"], "title": "1栋回访", "questions": QUESTIONS[:1]}
    made = client.post("/api/v1/surveys", headers=world["senior"], json={**body, "building_ids": [building]})
    assert made.status_code == 201 and made.json["building_ids"] == [building]
    opened = client.post(f"/api/v1/surveys/{made.json['id']}/open", headers=world["senior"])
    assert opened.status_code == 200 and opened.json["households"] == 2
    # Zones and buildings together: the households in both — none here, refused under the buildings.
    both = {**body, "zone_ids": [world["zones"]["二区"]], "building_ids": [building]}
    empty = client.post("/api/v1/surveys", headers=world["senior"], json=both).json
    refused = client.post(f"/api/v1/surveys/{empty['id']}/open", headers=world["senior"])
    assert refused.status_code == 422 and "building_ids" in refused.json["errors"]
