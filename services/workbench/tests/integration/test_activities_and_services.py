"""社区活动 and 特约服务 on a whole embedded instance, through the workbench's Flask test client: the butler creates
and publishes an activity, signs a household up by finding it, checks it in and adds a photo; an owner meeting's
issue raised by a household becomes a ticket in tickets; the senior butler keeps the catalogue, the butler orders
for a household, schedules and delivers it, and the promotion figures show the revenue by item and zone, also as
XLSX. The API's refusals stand under their fields; names, never ids; another community's activity is 404."""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import datetime, timedelta

import pytest
import requests

from guanjia.testing import embedded_instance

ADMIN_PASSWORD = "activities-admin-password-1"
PASSWORD = "activities-staff-password-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with embedded_instance(tmp_path_factory.mktemp("activities-var"), ADMIN_PASSWORD) as stack:
        yield stack


@pytest.fixture(scope="module")
def place(stack) -> dict:
    """A community with a zone (东区) and its butler, a senior butler, a unit 5栋5-101 with its owner, known to the
    community service; and a second community with an activity of its own."""
    http = requests.Session()
    token = http.post(
        stack.url + "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    ).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"

    def post(path, body):
        response = http.post(stack.url + path, json=body, timeout=15)
        assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
        return response.json()

    label = uuid.uuid4().hex[:6]
    community = post("/api/v1/communities", {"name": f"活动小区{label}"})
    other = post("/api/v1/communities", {"name": f"别的小区{label}"})
    staff = {}
    for role, name in (("butler", "周管家"), ("senior_butler", "吴主管")):
        staff[role] = post(
            "/api/v1/users",
            {"username": f"{role}-{label}", "display_name": name, "role": role, "password": PASSWORD,
             "communities": [community["id"]]},
        )  # fmt: skip
    zone = post(
        "/api/v1/zones", {"community_id": community["id"], "name": "东区", "butler_ids": [staff["butler"]["id"]]}
    )
    building = post("/api/v1/buildings", {"community_id": community["id"], "name": "5栋", "zone_id": zone["id"]})
    unit = post("/api/v1/units", {"building_id": building["id"], "number": "5-101", "floor": 1, "area_m2": "90.00"})
    post("/api/v1/residents", {"unit_id": unit["id"], "name": "郑小花", "phone": "13900139555", "role": "owner"})
    start = datetime.now().astimezone() + timedelta(days=5)
    foreign = post("/api/v1/activities", _activity(other["id"], "别人的活动", "culture", start))
    deadline = time.monotonic() + 30
    probe = {"community_id": community["id"], "title": "探测", "kind": "sport", "place": "球场",
             "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
             "signup_closes_at": start.isoformat(), "capacity": 1}  # fmt: skip
    probe_id = post("/api/v1/activities", probe)["id"]
    http.patch(f"{stack.url}/api/v1/activities/{probe_id}", json={"status": "published"}, timeout=10)
    while http.post(  # the unit reaches the community service by its event
        f"{stack.url}/api/v1/activities/{probe_id}/signups", json={"unit_id": unit["id"]}, timeout=10
    ).status_code not in (201, 409):
        assert time.monotonic() < deadline, "the household never reached the community service"
        time.sleep(0.2)
    return {"community": community, "zone": zone, "building": building, "unit": unit, "staff": staff, "foreign": foreign,
            "other_zone": post("/api/v1/zones", {"community_id": other["id"], "name": "别区"}), "admin": http}  # fmt: skip


def _activity(community_id, title, kind, start):
    return {
        "community_id": community_id,
        "title": title,
        "kind": kind,
        "place": "会所",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "signup_closes_at": (start - timedelta(hours=1)).isoformat(),
        "capacity": 20,
    }


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(stack, username: str):
    browser = stack.upstreams["workbench"].wsgi_app.test_client()
    page = browser.get("/signin")
    answer = browser.post("/signin", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(page.text)})
    assert answer.status_code == 303, answer.text
    return browser


def _row(html: str, row_id: str) -> str:
    row = html[html.index(f'id="{row_id}"') :]
    return row[: row.index("</tr>")]


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (30, 120, 30)).save(out, "PNG")
    return out.getvalue()


def _local(moment: datetime) -> str:
    return moment.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def test_the_butler_runs_an_activity_sign_up_check_in_and_photos(stack, place):
    browser = _signed_in(stack, place["staff"]["butler"]["username"])
    community_id = place["community"]["id"]
    home = browser.get("/")
    assert 'id="nav-activities"' in home.text and 'id="nav-services"' in home.text
    page = browser.get(f"/activities/new?community_id={community_id}")
    start = datetime.now().astimezone() + timedelta(days=3)
    form = {"title": "重阳节登山", "kind": "festival", "place": "北门集合", "starts_at": _local(start),
            "ends_at": _local(start + timedelta(hours=3)), "signup_closes_at": _local(start - timedelta(hours=2)),
            "waiting_list": "on", "csrf_token": _csrf(page.text)}  # fmt: skip
    refused = browser.post(f"/activities/new?community_id={community_id}", data={**form, "capacity": "0"})
    assert refused.status_code == 422 and 'id="capacity-error"' in refused.text and "重阳节登山" in refused.text
    made = browser.post(f"/activities/new?community_id={community_id}", data={**form, "capacity": "30"})
    assert made.status_code == 303, made.text
    detail_url = made.headers["Location"]
    activity_id = detail_url.rstrip("/").rsplit("/", 1)[-1]
    page = browser.get(detail_url)
    assert "重阳节登山" in page.text and "节庆活动" in page.text and "草稿" in page.text
    assert browser.post(
        f"/activities/{activity_id}/status", data={"status": "published", "csrf_token": _csrf(page.text)}
    ).status_code == 303  # fmt: skip
    listed = browser.get(f"/activities?community_id={community_id}")
    assert "已发布" in _row(listed.text, f"activity-{activity_id}")

    found = browser.get(f"{detail_url}?q=5-101")
    assert "5栋5-101" in found.text and "郑" in found.text
    signed = browser.post(
        f"/activities/{activity_id}/signups",
        data={"unit_id": place["unit"]["id"], "people": "2", "csrf_token": _csrf(found.text)},
    )
    assert signed.status_code == 303
    again = browser.post(
        f"/activities/{activity_id}/signups",
        data={"unit_id": place["unit"]["id"], "people": "1", "csrf_token": _csrf(found.text)},
    )
    assert again.status_code == 422 and 'class="form-error"' in again.text  # the API's 409: once per household
    page = browser.get(detail_url)
    signup_id = re.search(r'id="signup-([0-9a-f-]+)"', page.text).group(1)
    row = _row(page.text, f"signup-{signup_id}")
    assert "5栋5-101" in row and "已确认" in row and place["unit"]["id"] not in row
    checked = browser.post(
        f"/activities/{activity_id}/signups/{signup_id}/check-in", data={"csrf_token": _csrf(page.text)}
    )
    assert checked.status_code == 303
    page = browser.get(detail_url)
    assert 'id="attended-count">1<' in page.text and "check-in" not in _row(page.text, f"signup-{signup_id}")

    not_a_photo = browser.post(
        f"/activities/{activity_id}/photos",
        data={"file": (io.BytesIO(b"GIF89a not really"), "x.gif"), "csrf_token": _csrf(page.text)},
        content_type="multipart/form-data",
    )
    assert not_a_photo.status_code == 422 and 'id="file-error"' in not_a_photo.text
    added = browser.post(
        f"/activities/{activity_id}/photos",
        data={"file": (io.BytesIO(_png()), "登山合影.png"), "csrf_token": _csrf(page.text)},
        content_type="multipart/form-data",
    )
    assert added.status_code == 303
    page = browser.get(detail_url)
    src = re.search(r'<img src="([^"]+)" alt="登山合影.png"', page.text).group(1)
    photo = browser.get(src)
    assert photo.status_code == 200 and photo.data == _png() and photo.mimetype == "image/png"

    assert browser.get(f"/activities/{place['foreign']['id']}").status_code == 404  # another community's


def test_the_audience_is_ticked_by_zone_and_building_and_shown_by_name(stack, place):
    browser = _signed_in(stack, place["staff"]["senior_butler"]["username"])
    community_id = place["community"]["id"]
    page = browser.get(f"/activities/new?community_id={community_id}")
    assert (
        f'value="{place["zone"]["id"]}"> 东区' in page.text and f'value="{place["building"]["id"]}"> 5栋' in page.text
    )
    start = datetime.now().astimezone() + timedelta(days=4)
    form = {"title": "东区乒乓球赛", "kind": "sport", "place": "会所", "starts_at": _local(start),
            "ends_at": _local(start + timedelta(hours=2)), "signup_closes_at": _local(start - timedelta(hours=2)),
            "capacity": "16", "csrf_token": _csrf(page.text)}  # fmt: skip
    foreign = browser.post(
        f"/activities/new?community_id={community_id}", data={**form, "zone_ids": place["other_zone"]["id"]}
    )
    assert foreign.status_code == 422 and 'id="zone_ids-error"' in foreign.text, foreign.text
    made = browser.post(
        f"/activities/new?community_id={community_id}",
        data={**form, "zone_ids": place["zone"]["id"], "building_ids": place["building"]["id"]},
    )
    assert made.status_code == 303, made.text
    facts = browser.get(made.headers["Location"]).text
    audience = facts[facts.index('id="activity-audience"') :].split("</p>")[0]
    assert "东区" in audience and "5栋" in audience and place["zone"]["id"] not in audience


def test_an_owner_meeting_issue_becomes_a_ticket(stack, place):
    browser = _signed_in(stack, place["staff"]["butler"]["username"])
    http = place["admin"]
    start = datetime.now().astimezone() + timedelta(days=2)
    meeting = http.post(
        f"{stack.url}/api/v1/activities",
        json=_activity(place["community"]["id"], "第四季度业主见面会", "owner_meeting", start),
        timeout=10,
    ).json()
    http.patch(f"{stack.url}/api/v1/activities/{meeting['id']}", json={"status": "published"}, timeout=10)
    http.post(f"{stack.url}/api/v1/activities/{meeting['id']}/signups", json={"unit_id": place["unit"]["id"]})
    detail_url = f"/activities/{meeting['id']}"
    page = browser.get(detail_url)
    assert 'id="meeting-issues"' in page.text and 'id="meeting-minutes"' in page.text
    issue = {"topic": "lift", "unit_id": place["unit"]["id"], "csrf_token": _csrf(page.text)}
    refused = browser.post(f"{detail_url}/issues", data={**issue, "description": ""})
    assert refused.status_code == 422 and 'id="description-error"' in refused.text
    assert browser.post(f"{detail_url}/issues", data={**issue, "description": "5栋电梯晚上常停"}).status_code == 303
    saved = browser.post(f"{detail_url}/minutes", data={"minutes": "通报四季度工作。", "csrf_token": _csrf(page.text)})
    assert saved.status_code == 303
    page = browser.get(detail_url)
    issue_id = re.search(r'id="issue-([0-9a-f-]+)"', page.text).group(1)
    row = _row(page.text, f"issue-{issue_id}")
    assert "电梯" in row and "5栋5-101" in row and "待处理" in row and "通报四季度工作。" in page.text
    handed = browser.post(
        f"{detail_url}/issues/{issue_id}/ticket", data={"category": "repair", "csrf_token": _csrf(page.text)}
    )
    assert handed.status_code == 303
    page = browser.get(detail_url)
    assert "已转工单" in _row(page.text, f"issue-{issue_id}")
    twice = browser.post(
        f"{detail_url}/issues/{issue_id}/ticket", data={"category": "repair", "csrf_token": _csrf(page.text)}
    )
    assert twice.status_code == 422  # the API's 409, shown on the page

    deadline = time.monotonic() + 30
    while True:  # tickets opens it from meeting.issue_raised
        found = http.get(f"{stack.url}/api/v1/tickets", params={"unit_id": place["unit"]["id"]}, timeout=10).json()
        made = [t for t in found["items"] if t.get("channel") == "owner_meeting"]
        if made:
            break
        assert time.monotonic() < deadline, "tickets never opened the meeting's ticket"
        time.sleep(0.2)
    assert made[0]["category"] == "repair" and issue_id in made[0]["description"]


def test_catalogue_orders_and_promotion_figures(stack, place):
    community_id = place["community"]["id"]
    senior = _signed_in(stack, place["staff"]["senior_butler"]["username"])
    page = senior.get(f"/services?community_id={community_id}")
    assert page.status_code == 200 and "特约服务与有偿服务" in page.text
    item = {"name": "家电清洗", "description": "空调、油烟机", "pricing": "per_unit", "unit_name": "台",
            "provider": "partner", "partner_name": "洁净家政", "lead_days": "2", "csrf_token": _csrf(page.text)}  # fmt: skip
    refused = senior.post(f"/services/items?community_id={community_id}", data=item)
    assert refused.status_code == 422 and 'id="price-error"' in refused.text
    assert senior.post(f"/services/items?community_id={community_id}", data={**item, "price": "80"}).status_code == 303
    page = senior.get(f"/services?community_id={community_id}")
    item_id = re.search(r'id="item-([0-9a-f-]+)"', page.text).group(1)
    row = _row(page.text, f"item-{item_id}")
    assert "¥80.00" in row and "台" in row and "合作商家" in row and "洁净家政" in row and "提前 2 天" in row

    butler = _signed_in(stack, place["staff"]["butler"]["username"])
    page = butler.get(f"/services/orders?community_id={community_id}&q=5-101")
    assert 'id="order-form"' in page.text and "5栋5-101" in page.text and "家电清洗" in page.text
    order = {"unit_id": place["unit"]["id"], "item_id": item_id, "csrf_token": _csrf(page.text)}
    too_many = butler.post(f"/services/orders?community_id={community_id}", data={**order, "quantity": "5000"})
    assert too_many.status_code == 422 and 'id="quantity-error"' in too_many.text
    placed = butler.post(f"/services/orders?community_id={community_id}", data={**order, "quantity": "2"})
    assert placed.status_code == 303
    page = butler.get(f"/services/orders?community_id={community_id}")
    order_id = re.search(r'id="order-([0-9a-f-]+)"', page.text).group(1)
    row = _row(page.text, f"order-{order_id}")
    assert "5栋5-101" in row and "家电清洗 × 2" in row and "¥160.00" in row and "已预约" in row
    base = f"/services/orders/{order_id}"
    bad = butler.post(f"{base}/schedule", data={"scheduled_for": "明天", "csrf_token": _csrf(page.text)})
    assert bad.status_code == 422 and 'id="scheduled_for-error"' in bad.text
    when = _local(datetime.now().astimezone() + timedelta(days=2))
    assert (
        butler.post(f"{base}/schedule", data={"scheduled_for": when, "csrf_token": _csrf(page.text)}).status_code == 303
    )
    assert butler.post(f"{base}/complete", data={"csrf_token": _csrf(page.text)}).status_code == 303
    row = _row(butler.get(f"/services/orders?community_id={community_id}").text, f"order-{order_id}")
    assert "已完成" in row and when.replace("T", " ") in row

    figures = senior.get(f"/services/figures?community_id={community_id}")
    assert figures.status_code == 200
    by_item, by_zone = (figures.text.split(f'id="{name}"')[1] for name in ("figures-by-item", "figures-by-zone"))
    assert "家电清洗" in by_item and "¥160.00" in by_item and "东区" in by_zone.split("</section>")[0]
    month = re.search(r'name="month" type="month" value="([0-9-]+)"', figures.text).group(1)
    xlsx = senior.get(f"/services/figures.xlsx?community_id={community_id}&month={month}")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx.data))
    assert ("家电清洗", 1, 160) in list(book["按服务项目"].values)
    wrong = senior.get(f"/services/figures?community_id={community_id}&month=2026-13")
    assert 'id="month-error"' in wrong.text
