"""The community screens on a whole embedded instance, through the workbench's test client: the service manager
builds a survey (the API's refusals under the field), opens it; the butler records an answer taken by phone for a
household of their zone, named by its label (a missing required answer, a second answer and an answer to a closed
survey refused under the field), reminds the households that have not answered; the report's printable page and
XLSX. Then the butler schedules and cancels a household reminder and sees who opted in to a birthday greeting,
the date masked."""

from __future__ import annotations

import re
import time
import uuid
from datetime import date, timedelta

import pytest
import requests

from guanjia.testing import embedded_instance

ADMIN_PASSWORD = "community-admin-password-1"
STAFF_PASSWORD = "community-staff-password-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with embedded_instance(tmp_path_factory.mktemp("community-screens-var"), ADMIN_PASSWORD) as stack:
        yield stack


class Api:
    def __init__(self, base: str, username: str, password: str):
        self.base = base
        answer = requests.post(
            f"{base}/api/v1/auth/token", json={"username": username, "password": password}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        return requests.post(self.base + path, json=body or {}, headers=self.headers, timeout=10)

    def created(self, path: str, body: dict) -> dict:
        answer = self.post(path, body)
        assert answer.status_code == 201, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def place(stack) -> dict:
    admin = Api(stack.url, "admin", ADMIN_PASSWORD)
    community = admin.created("/api/v1/communities", {"name": f"调查小区{uuid.uuid4().hex[:4]}"})
    zone = admin.created("/api/v1/zones", {"community_id": community["id"], "name": "一区"})
    building = admin.created(
        "/api/v1/buildings", {"community_id": community["id"], "name": "1栋", "zone_id": zone["id"]}
    )
    units = [
        admin.created("/api/v1/units", {"building_id": building["id"], "number": n, "floor": 1, "area_m2": "89.50"})
        for n in ("1-101", "1-102")
    ]
    resident = admin.created(
        "/api/v1/residents", {"unit_id": units[0]["id"], "name": "张三", "phone": "13800138000", "role": "owner"}
    )
    logins = {}
    for role, extra in (
        ("cs_manager", {}),
        ("butler", {"zones": [zone["id"]]}),
        ("resident", {"resident_id": resident["id"], "units": [units[0]["id"]]}),
    ):
        username = f"{role[:4]}-{uuid.uuid4().hex[:6]}"
        user = admin.created(
            "/api/v1/users",
            {"username": username, "password": STAFF_PASSWORD, "role": role, "display_name": f"{role}{username[-4:]}",
             "communities": [community["id"]], **extra},
        )  # fmt: skip
        logins[role], logins[f"{role}_id"] = username, user["id"]
    patched = requests.patch(
        f"{stack.url}/api/v1/zones/{zone['id']}",
        json={"butler_ids": [logins["butler_id"]]},
        headers=admin.headers,
        timeout=10,
    )
    assert patched.status_code == 200, patched.text
    return {"community": community, "zone": zone, "units": units, "logins": logins}


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(stack, username: str):
    browser = stack.upstreams["workbench"].wsgi_app.test_client()
    page = browser.get("/signin")
    answer = browser.post(
        "/signin", data={"username": username, "password": STAFF_PASSWORD, "csrf_token": _csrf(page.text)}
    )
    assert answer.status_code == 303, answer.text
    return browser


def _error(html: str, name: str) -> str:
    found = re.search(rf'id="{re.escape(name)}-error"[^>]*>([^<]+)<', html)
    assert found, f"no error under {name}"
    return found.group(1)


def test_a_survey_is_built_opened_answered_by_phone_reminded_closed_and_printed(stack, place):
    community_id = place["community"]["id"]
    manager = _signed_in(stack, place["logins"]["cs_manager"])
    listed = manager.get(f"/surveys?community_id={community_id}")
    assert 'id="survey-new"' in listed.text
    page = manager.get(f"/surveys/new?community_id={community_id}")
    assert page.status_code == 200 and "工程维修" in page.text and "绿化" in page.text
    assert re.search(r'name="building_ids" value="[^"]+"> 1栋', page.text)
    token = _csrf(page.text)
    form = {"csrf_token": token, "community_id": community_id, "title": "年度满意度调查", "rows": "6"}

    # No question has a text: the API refuses a survey without questions, under the questions.
    empty = manager.post("/surveys/new", data={**form, "q0_service_line": "cleaning", "q0_kind": "scale_5"})
    assert empty.status_code == 422 and _error(empty.text, "questions")
    # A choice with one option is refused under that row's options.
    one_option = {"q0_service_line": "cleaning", "q0_kind": "scale_5", "q0_text": "您对保洁满意吗？", "q0_required": "on",
                  "q2_service_line": "overall", "q2_kind": "single", "q2_text": "是否续聘？", "q2_options": "是"}  # fmt: skip
    refused = manager.post("/surveys/new", data={**form, **one_option})
    assert refused.status_code == 422 and _error(refused.text, "q2_options")
    assert "您对保洁满意吗？" in refused.text  # the form comes back as typed
    more = manager.post("/surveys/new", data={**form, **one_option, "add_question": "1"})
    assert 'id="question-6"' in more.text
    made = manager.post(
        "/surveys/new",
        data={**form, **one_option, "q2_options": "是\n否", "q3_service_line": "overall", "q3_kind": "text",
              "q3_text": "您的意见"},
    )  # fmt: skip
    assert made.status_code == 303, made.text
    detail_path = made.headers["Location"]
    survey_id = detail_path.rstrip("/").split("/")[-1]
    draft = manager.get(detail_path)
    assert "保洁" in draft.text and 'id="survey-open"' in draft.text and "整个小区" in draft.text
    deadline = time.monotonic() + 30
    while manager.post(f"/surveys/{survey_id}/open", data={"csrf_token": token}).status_code != 303:
        assert time.monotonic() < deadline, "the households never reached the community service"
        time.sleep(0.3)

    butler = _signed_in(stack, place["logins"]["butler"])
    opened = butler.get(detail_path)
    assert 'id="survey-answer-form"' in opened.text and "1栋1-101" in opened.text
    assert "年度满意度调查 · 进行中" in opened.text
    assert 'id="survey-open"' not in opened.text and 'id="survey-close"' not in opened.text
    survey = requests.get(
        f"{stack.url}/api/v1/surveys/{survey_id}",
        headers=Api(stack.url, place["logins"]["cs_manager"], STAFF_PASSWORD).headers,
        timeout=10,
    ).json()
    cleaning, renew, comment = (q["id"] for q in survey["questions"])
    btoken = _csrf(opened.text)
    unit_id = place["units"][0]["id"]
    answer = {"csrf_token": btoken, "unit_id": unit_id, "channel": "phone", f"a_{renew}": "是"}
    missing = butler.post(f"/surveys/{survey_id}/answers", data=answer)
    assert missing.status_code == 422 and _error(missing.text, f"a_{cleaning}")
    done = butler.post(
        f"/surveys/{survey_id}/answers", data={**answer, f"a_{cleaning}": "4", f"a_{comment}": "保洁很好"}
    )
    assert done.status_code == 303 and "notice=answered" in done.headers["Location"]
    again = butler.post(f"/surveys/{survey_id}/answers", data={**answer, f"a_{cleaning}": "2"})
    assert again.status_code == 409 and _error(again.text, "unit_id")
    reminded = butler.post(f"/surveys/{survey_id}/reminders", data={"csrf_token": btoken})
    assert reminded.status_code == 303
    shown = butler.get(reminded.headers["Location"])
    assert 'id="survey-notice"' in shown.text and "50%" in shown.text  # one of the two households answered

    assert manager.post(f"/surveys/{survey_id}/close", data={"csrf_token": token}).status_code == 303
    late = butler.post(
        f"/surveys/{survey_id}/answers", data={**answer, "unit_id": place["units"][1]["id"], f"a_{cleaning}": "5"}
    )
    assert late.status_code == 409 and _error(late.text, "unit_id")
    closed = manager.get(detail_path)
    assert 'id="survey-report"' in closed.text and 'id="report-print"' in closed.text
    printed = manager.get(f"/surveys/{survey_id}/print")
    assert (
        printed.status_code == 200 and "保洁很好" in printed.text and "一区" in printed.text and "4.0" in printed.text
    )
    xlsx = manager.get(f"/surveys/{survey_id}/report.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_the_butler_schedules_and_cancels_a_household_reminder_and_sees_greetings_masked(stack, place):
    community_id, unit = place["community"]["id"], place["units"][0]
    resident = Api(stack.url, place["logins"]["resident"], STAFF_PASSWORD)
    deadline = time.monotonic() + 30
    while (
        opted := resident.post("/api/v1/greetings", {"unit_id": unit["id"], "birth_month": 5, "birth_day": 17})
    ).status_code != 201:
        assert time.monotonic() < deadline, opted.text
        time.sleep(0.3)
    butler = _signed_in(stack, place["logins"]["butler"])
    page = butler.get(f"/units/{unit['id']}")
    assert 'id="unit-reminders"' in page.text
    page = butler.get(f"/reminders?community_id={community_id}&unit_id={unit['id']}")
    greeting = re.search(r'<section class="card" id="greetings">(.*?)</section>', page.text, re.S).group(1)
    assert page.status_code == 200 and 'class="masked">**-**<' in greeting and "05" not in greeting
    assert "张" in greeting and "1栋1-101" in greeting
    token = _csrf(page.text)
    form = {"csrf_token": token, "community_id": community_id, "back_unit_id": unit["id"], "unit_id": unit["id"],
            "kind": "gas_safety_check", "repeat": "yearly"}  # fmt: skip
    past = butler.post("/reminders", data={**form, "due_on": "2020-01-01"})
    assert past.status_code == 422 and _error(past.text, "due_on")
    made = butler.post(
        "/reminders", data={**form, "due_on": (date.today() + timedelta(days=3)).isoformat(), "note": "年检"}
    )
    assert made.status_code == 303
    listed = butler.get(made.headers["Location"])
    row = re.search(r'<tr id="reminder-([0-9a-f-]+)">(.*?)</tr>', listed.text, re.S)
    assert row and "1栋1-101" in row.group(2) and "年检" in row.group(2)
    cancelled = butler.post(
        f"/reminders/{row.group(1)}/cancel", data={"csrf_token": token, "community_id": community_id}
    )
    assert cancelled.status_code == 303
    assert (
        f'id="reminder-{row.group(1)}"' not in butler.get(f"/reminders?community_id={community_id}").text
    )  # active only
    again = butler.post(f"/reminders/{row.group(1)}/cancel", data={"csrf_token": token, "community_id": community_id})
    assert again.status_code == 409 and _error(again.text, "cancel")
