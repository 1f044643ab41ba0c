"""排班考勤 and 交办任务 on a whole embedded instance through the workbench's test client: the senior butler adds a
shift and draws up next week (flagged understaffed on screen), a butler clocks in (twice refused, shown on the
card), asks to swap a shift and the senior butler approves it, the attendance sheet downloads as XLSX; a task is
handed down (a past due time refused under its field) and completed by its assignee; another community's
department is not found."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta

import openpyxl
import pytest
import requests

from guanjia.testing import ApiClient as Api
from guanjia.testing import embedded_instance

ADMIN_PASSWORD = "rota-admin-password-1"
PASSWORD = "rota-staff-password-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with embedded_instance(tmp_path_factory.mktemp("rota-var"), ADMIN_PASSWORD) as stack:
        yield stack


@pytest.fixture(scope="module")
def team(stack) -> dict:
    """A community's 客服部: a senior butler over two butlers, each with a login."""
    token = requests.post(
        stack.url + "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    ).json()["access_token"]
    admin = Api(stack.url, token)
    label = uuid.uuid4().hex[:6]
    community = admin.post("/api/v1/communities", {"name": f"排班小区{label}"})
    department = admin.post("/api/v1/staff/departments", {"community_id": community["id"], "kind": "customer_service"})
    people = {}
    for key, role, title, name, boss in (
        ("lead", "senior_butler", "senior_butler", "王主管", None),
        ("wang", "butler", "assistant_butler", "李管家", "lead"),
        ("li", "butler", "butler_aide", "赵助理", "lead"),
    ):
        user = admin.post(
            "/api/v1/users",
            {"username": f"{key}-{label}", "display_name": name, "role": role, "password": PASSWORD,
             "communities": [community["id"]]},
        )  # fmt: skip
        post = admin.post(
            "/api/v1/staff/positions",
            {"department_id": department["id"], "title": title, "user_id": user["id"], "display_name": name,
             "reports_to_id": people[boss]["post"]["id"] if boss else None},
        )  # fmt: skip
        people[key] = {"user": user, "post": post}
    other = admin.post("/api/v1/communities", {"name": f"别的小区{label}"})
    admin.post(
        "/api/v1/users",
        {"username": f"other-{label}", "display_name": "外人", "role": "cs_manager", "password": PASSWORD,
         "communities": [other["id"]]},
    )  # fmt: skip
    return {"community": community, "department": department, "people": people, "label": label}


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(stack, username: str):
    browser = stack.upstreams["workbench"].wsgi_app.test_client()
    page = browser.get("/signin")
    answer = browser.post("/signin", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(page.text)})
    assert answer.status_code == 303, answer.text
    return browser


def test_a_week_is_drawn_up_clocked_swapped_and_downloaded(stack, team):
    label, department = team["label"], team["department"]
    community_id = team["community"]["id"]
    people = team["people"]
    monday = date.today() - timedelta(days=date.today().weekday()) + timedelta(days=7)
    lead = _signed_in(stack, f"lead-{label}")
    url = f"/rota/departments/{department['id']}?week={monday.isoformat()}"
    page = lead.get(url)
    assert page.status_code == 200 and "排班" in page.text and 'id="shift-form"' in page.text
    token = _csrf(page.text)
    shift_url = f"/rota/departments/{department['id']}/shifts"
    bad = {"name": "早班", "starts": "25:00", "ends": "16:00", "min_staff": "2", "week": monday.isoformat()}
    refused = lead.post(shift_url, data={**bad, "csrf_token": token})
    assert refused.status_code == 422 and 'id="starts-error"' in refused.text
    made = lead.post(shift_url, data={**bad, "starts": "08:00", "csrf_token": token})
    assert made.status_code == 303
    page = lead.get(url)
    shift_id = re.search(r'id="shift-([0-9a-f-]{36})"', page.text).group(1)
    wang, li = people["wang"]["post"]["id"], people["li"]["post"]["id"]
    days = [(monday + timedelta(days=n)).isoformat() for n in range(7)]
    cells = [f"{shift_id}|{d}|{wang}" for d in days] + [f"{shift_id}|{days[0]}|{li}"]
    saved = lead.post(
        f"/rota/departments/{department['id']}", data={"cell": cells, "week": monday.isoformat(), "csrf_token": token}
    )
    assert saved.status_code == 303
    page = lead.get(saved.headers["Location"])
    assert 'id="understaffed"' in page.text and "人手不足" in page.text
    assert (
        f'id="cell-{shift_id}-{days[0]}"' in page.text
        and f'id="cell-{shift_id}-{days[1]}" class="understaffed"' in page.text
    )

    # The butler's phone page: the shifts of the next two weeks, clock in (htmx swaps the card), not twice.
    butler = _signed_in(stack, f"wang-{label}")
    mine = butler.get(f"/rota?community_id={community_id}")
    assert (
        mine.status_code == 200 and "我的班次" in mine.text and "早班" in mine.text and 'id="clock-button"' in mine.text
    )
    token = _csrf(mine.text)
    clock = {"community_id": community_id, "position_id": wang, "csrf_token": token}
    first = butler.post("/rota/clock/in", data=clock, headers={"HX-Request": "true"})
    assert first.status_code == 200 and 'id="clock"' in first.text and "下班打卡" in first.text
    assert "<html" not in first.text  # the card alone
    twice = butler.post("/rota/clock/in", data=clock, headers={"HX-Request": "true"})
    assert twice.status_code == 422 and 'id="clock-error"' in twice.text and "已于" in twice.text
    assert butler.post("/rota/clock/out", data=clock).status_code == 303

    # 换班: the butler hands the second day to li; the senior butler approves it on their page.
    entry_id = re.findall(r'name="entry_id" value="([0-9a-f-]{36})"', mine.text)[1]
    asked = butler.post(
        "/rota/swaps",
        data={"community_id": community_id, "entry_id": entry_id, "with_position_id": li, "csrf_token": token},
    )
    assert asked.status_code == 303
    again = butler.post(
        "/rota/swaps",
        data={"community_id": community_id, "entry_id": entry_id, "with_position_id": li, "csrf_token": token},
    )
    assert again.status_code == 422 and 'id="swap-error"' in again.text and "待审批" in again.text
    taker = _signed_in(stack, f"li-{label}").get(f"/rota?community_id={community_id}")
    assert "李管家" in taker.text and "/approve" not in taker.text  # li takes the shift but does not decide it
    page = lead.get(f"/rota?community_id={community_id}")
    swap_id = re.search(r'id="swap-([0-9a-f-]{36})"', page.text).group(1)
    assert "赵助理" in page.text and "李管家" in page.text
    approved = lead.post(
        f"/rota/swaps/{swap_id}/approve", data={"community_id": community_id, "csrf_token": _csrf(page.text)}
    )
    assert approved.status_code == 303
    page = lead.get(f"/rota?community_id={community_id}")
    assert re.search(rf'id="swap-{swap_id}">.*?已批准', page.text, re.S)

    sheet = lead.get(f"/rota/attendance.xlsx?community_id={community_id}&month={monday.strftime('%Y-%m')}")
    assert sheet.status_code == 200 and sheet.content_type.startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(sheet.data))
    assert next(book["考勤明细"].iter_rows(values_only=True))[:3] == ("日期", "部门", "姓名")

    stranger = _signed_in(stack, f"other-{label}")
    assert stranger.get(url).status_code == 404


def test_a_task_is_handed_down_refused_in_the_past_and_completed(stack, team):
    label, community_id = team["label"], team["community"]["id"]
    lead = _signed_in(stack, f"lead-{label}")
    page = lead.get(f"/tasks?community_id={community_id}")
    assert page.status_code == 200 and "领导交办" in page.text and 'id="task-form"' in page.text
    body = {
        "community_id": community_id,
        "position_id": team["people"]["wang"]["post"]["id"],
        "title": "检查 3 栋消防通道",
        "due_at": "2020-01-01T09:00",
        "csrf_token": _csrf(page.text),
    }
    refused = lead.post("/tasks", data=body)
    assert refused.status_code == 422 and 'id="due_at-error"' in refused.text
    due = (date.today() + timedelta(days=3)).isoformat() + "T18:00"
    assert lead.post("/tasks", data={**body, "due_at": due}).status_code == 303

    butler = _signed_in(stack, f"wang-{label}")
    page = butler.get(f"/tasks?community_id={community_id}")
    assert "检查 3 栋消防通道" in page.text and "王主管" in page.text and 'id="task-form"' not in page.text
    task_id = re.search(r'id="task-([0-9a-f-]{36})"', page.text).group(1)
    done = butler.post(
        f"/tasks/{task_id}/complete", data={"community_id": community_id, "csrf_token": _csrf(page.text)}
    )
    assert done.status_code == 303
    page = butler.get(f"/tasks?community_id={community_id}")
    assert re.search(rf'id="task-{task_id}".*?已完成', page.text, re.S)
