"""The team screens (考核, 计划与总结, 例会, 培训与配发) on a whole embedded instance through the workbench's test
client: a butler's own scorecard and plan with the month-end summary's measured figures, the senior butler's
review, scoring and workbook, a meeting whose action item becomes the butler's task, a training session and a tool
issued and returned — names on screen, not ids."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta

import pytest
import requests
from openpyxl import load_workbook

from guanjia.testing import embedded_instance

ADMIN_PASSWORD = "team-admin-password-1"
PASSWORD = "team-staff-password-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with embedded_instance(tmp_path_factory.mktemp("team-var"), ADMIN_PASSWORD) as stack:
        yield stack


def _api(stack):
    token = requests.post(
        stack.url + "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    ).json()["access_token"]
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"

    def post(path, body):
        response = http.post(stack.url + path, json=body, timeout=15)
        assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
        return response.json()

    return post


@pytest.fixture(scope="module")
def team(stack):
    post, label = _api(stack), uuid.uuid4().hex[:6]
    community = post("/api/v1/communities", {"name": f"团队小区{label}"})
    users = {}
    for role, name in (("senior_butler", "王主管"), ("butler", "李管家"), ("cs_manager", "赵经理")):
        users[role] = post(
            "/api/v1/users",
            {"username": f"{role}-{label}", "display_name": name, "role": role, "password": PASSWORD,
             "communities": [community["id"]]},
        )  # fmt: skip
    department = post("/api/v1/staff/departments", {"community_id": community["id"], "kind": "customer_service"})
    base = {"department_id": department["id"]}
    lead = post(
        "/api/v1/staff/positions",
        {**base, "title": "senior_butler", "user_id": users["senior_butler"]["id"], "display_name": "王主管"},
    )
    post_ = post(
        "/api/v1/staff/positions",
        {**base, "title": "assistant_butler", "user_id": users["butler"]["id"], "display_name": "李管家",
         "reports_to_id": lead["id"]},
    )  # fmt: skip
    zone = post("/api/v1/zones", {"community_id": community["id"], "name": f"东区{label}"})
    return {"community": community, "users": users, "lead": lead, "post": post_, "zone": zone}


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(stack, username: str):
    browser = stack.upstreams["workbench"].wsgi_app.test_client()
    page = browser.get("/signin")
    answer = browser.post("/signin", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(page.text)})
    assert answer.status_code == 303, answer.text
    return browser


def _post(browser, url: str, form: dict, page: str):
    answer = browser.post(url, data={**form, "csrf_token": _csrf(browser.get(page).text)})
    assert answer.status_code == 303, answer.text[:500]
    return browser.get(answer.headers["Location"])


def test_plans_summaries_scorecards_meetings_training_on_the_team_screens(stack, team):
    community = team["community"]["id"]
    butler = _signed_in(stack, team["users"]["butler"]["username"])
    lead = _signed_in(stack, team["users"]["senior_butler"]["username"])
    month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")

    home = butler.get("/")
    assert 'id="nav-team"' in home.text
    plans_url = f"/team/plans?community_id={community}"
    page = _post(
        butler,
        "/team/plans",
        {"community_id": community, "position_id": team["post"]["id"], "kind": "monthly", "period": month,
         "item_title": "走访 7 栋", "item_due_on": f"{month}-20"},
        plans_url,
    )  # fmt: skip
    assert page.status_code == 200 and "走访 7 栋" in page.text and "李管家" in page.text
    assert team["post"]["id"] not in re.sub(r'value="[^"]*"|action="[^"]*"|id="[^"]*"', "", page.text)
    # A period that does not fit the kind: the API's refusal names the field on the screen; nothing is written.
    form = {"community_id": community, "position_id": team["post"]["id"], "kind": "quarterly", "period": month}
    refused = butler.post("/team/plans", data={**form, "csrf_token": _csrf(butler.get(plans_url).text)})
    assert refused.status_code == 422 and 'role="alert"' in refused.text and "period" in refused.text
    assert refused.text.count('class="card wide plan"') == 1
    plan_id = re.search(r'id="plan-([0-9a-f-]+)"', page.text).group(1)
    summary = _post(
        butler, f"/team/plans/{plan_id}/summary", {"community_id": community, "text": "本月走访 30 户"}, plans_url
    )
    alerts = re.findall(r'role="alert">([^<]*)', summary.text)
    assert "本月走访 30 户" in summary.text, alerts
    assert "熟悉率" in summary.text and "收缴率" in summary.text
    reviewed = _post(lead, f"/team/plans/{plan_id}/review", {"community_id": community, "text": "继续保持"}, plans_url)
    assert "继续保持 — 王主管" in reviewed.text

    cards_url = f"/team/scorecards?community_id={community}"
    cards = _post(
        lead,
        "/team/scorecards",
        {"community_id": community, "position_id": team["post"]["id"], "month": month},
        cards_url,
    )
    assert "李管家" in cards.text and "巡查覆盖率" in cards.text
    card_id = re.search(r'id="card-([0-9a-f-]+)"', cards.text).group(1)
    scored = _post(
        lead,
        f"/team/scorecards/{card_id}/review",
        {"community_id": community, "score": "88", "comment": "好"},
        cards_url,
    )
    assert "好 — 王主管" in scored.text
    mine = butler.get(cards_url)
    assert "李管家" in mine.text and 'id="draw-up"' not in mine.text
    xlsx = lead.get(f"/team/scorecards.xlsx?community_id={community}")
    assert xlsx.status_code == 200 and xlsx.mimetype.startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert "熟悉率" in [c.value for c in sheet[1]] and sheet["B2"].value == "李管家"

    meetings_url = f"/team/meetings?community_id={community}"
    due = (date.today() + timedelta(days=7)).isoformat()
    held = _post(
        lead,
        "/team/meetings",
        {"community_id": community, "title": "周例会", "held_on": date.today().isoformat(),
         "attendee_ids": [team["lead"]["id"], team["post"]["id"]], "minutes": "收缴进度",
         "action_title": "催缴 7 栋", "action_position_id": team["post"]["id"], "action_due_on": due},
        meetings_url,
    )  # fmt: skip
    assert "周例会" in held.text and "催缴 7 栋" in held.text and "李管家" in held.text
    assert "催缴 7 栋" in butler.get(meetings_url).text

    training_url = f"/team/training?community_id={community}"
    trained = _post(
        lead,
        "/team/training",
        {"community_id": community, "topic": "百问百答", "held_on": date.today().isoformat(),
         "attendee_ids": [team["post"]["id"]]},
        training_url,
    )  # fmt: skip
    assert "百问百答" in trained.text and "李管家" in trained.text
    training_id = re.search(r'id="training-([0-9a-f-]+)"', trained.text).group(1)
    done = _post(
        lead,
        f"/team/training/{training_id}/completion",
        {"community_id": community, "position_id": team["post"]["id"]},
        training_url,
    )
    assert "已完成" in done.text
    issued = _post(
        lead,
        "/team/items",
        {
            "community_id": community,
            "position_id": team["post"]["id"],
            "name": "对讲机",
            "issued_on": date.today().isoformat(),
        },
        training_url,
    )
    assert "对讲机" in issued.text
    item_id = re.search(r'id="item-([0-9a-f-]+)"', issued.text).group(1)
    back = _post(
        lead,
        f"/team/items/{item_id}/return",
        {"community_id": community, "returned_on": date.today().isoformat()},
        training_url,
    )
    assert date.today().isoformat() in back.text.split(f'id="item-{item_id}"')[1].split("</tr>")[0]
    assert "对讲机" in butler.get(training_url).text


def test_zone_and_community_plans_on_the_plans_screen(stack, team):
    """The senior butler draws up the zone's plan, the manager the community's quarter; each shown by its name
    (the zone's, the community's), its summary with the scope's figures; a senior butler's community plan is
    refused on the screen and nothing is written."""
    community, zone = team["community"], team["zone"]
    lead = _signed_in(stack, team["users"]["senior_butler"]["username"])
    manager = _signed_in(stack, team["users"]["cs_manager"]["username"])
    month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    quarter = f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"
    plans_url = f"/team/plans?community_id={community['id']}"
    page = _post(
        lead,
        "/team/plans",
        {"community_id": community["id"], "scope": "zone", "zone_id": zone["id"], "position_id": team["post"]["id"],
         "kind": "monthly", "period": month, "item_title": "片区消防通道清理", "item_due_on": f"{month}-25"},
        plans_url,
    )  # fmt: skip
    assert page.status_code == 200 and f"片区 {zone['name']}" in page.text and "片区消防通道清理" in page.text
    assert zone["id"] not in re.sub(r'value="[^"]*"|action="[^"]*"|id="[^"]*"', "", page.text)
    form = {"community_id": community["id"], "scope": "community", "kind": "quarterly", "period": quarter}
    refused = lead.post("/team/plans", data={**form, "csrf_token": _csrf(lead.get(plans_url).text)})
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert f"小区 {community['name']}" not in refused.text
    whole = _post(manager, "/team/plans", form, plans_url)
    assert f"小区 {community['name']}" in whole.text and "每季度" in whole.text
    plan_ids = dict(
        (scope, re.search(rf'id="plan-([0-9a-f-]+)">\s*<h2>{heading}', whole.text).group(1))
        for scope, heading in (("zone", f"片区 {zone['name']}"), ("community", f"小区 {community['name']}"))
    )
    summed = _post(
        lead, f"/team/plans/{plan_ids['zone']}/summary", {"community_id": community["id"], "text": "片区月末总结"},
        plans_url,
    )  # fmt: skip
    assert "片区月末总结" in summed.text and "收缴率" in summed.text
    quarter_summary = _post(
        manager,
        f"/team/plans/{plan_ids['community']}/summary",
        {"community_id": community["id"], "text": "本季度小区总结"},
        plans_url,
    )
    assert "本季度小区总结" in quarter_summary.text and "熟悉率" in quarter_summary.text
