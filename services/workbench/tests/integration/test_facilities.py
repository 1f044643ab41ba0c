"""The equipment register (设施设备台账), maintenance work orders and major complaints (重大投诉) on a whole embedded
instance through the workbench's test client: names instead of ids, the API's refusals under the field and nothing
saved, 报故障 opening a linked repair ticket, an overdue order completed item by item with a fault, a case's feedback
log and closure report, photos from an incident's scene and a patrol finding, and the roles that may not use a screen
kept out of it."""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import date, datetime, timedelta

import pytest
import requests

from guanjia.testing import ApiClient as Api
from guanjia.testing import embedded_instance

ADMIN_PASSWORD = "facilities-admin-password-1"
PASSWORD = "facilities-staff-password-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with embedded_instance(tmp_path_factory.mktemp("facilities-var"), ADMIN_PASSWORD) as stack:
        yield stack


def _user(admin: Api, label: str, role: str, name: str, community_id: str) -> dict:
    return admin.post(
        "/api/v1/users",
        {"username": f"{role[:4]}-{label}", "display_name": name, "role": role, "password": PASSWORD,
         "communities": [community_id]},
    )  # fmt: skip


@pytest.fixture(scope="module")
def place(stack) -> dict:
    token = requests.post(
        stack.url + "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    ).json()["access_token"]
    admin = Api(stack.url, token)
    label = uuid.uuid4().hex[:6]
    community = admin.post("/api/v1/communities", {"name": f"设备小区{label}"})
    engineer = _user(admin, label, "engineer", "周工程师", community["id"])
    manager = _user(admin, label, "cs_manager", "吴经理", community["id"])
    butler = _user(admin, label, "butler", "郑管家", community["id"])
    finance = _user(admin, label, "finance", "钱会计", community["id"])
    zone = admin.post("/api/v1/zones", {"community_id": community["id"], "name": "北区", "butler_ids": [butler["id"]]})
    building = admin.post("/api/v1/buildings", {"community_id": community["id"], "name": "7栋", "zone_id": zone["id"]})
    deadline = time.monotonic() + 20
    while True:  # tickets learns the zone from zone.updated
        answer = admin.get("/api/v1/tickets/patrols/coverage", community_id=community["id"])
        if answer.status_code == 200 and any(z["zone_id"] == zone["id"] for z in answer.json()["zones"]):
            break
        assert time.monotonic() < deadline, "tickets never learnt the zone"
        time.sleep(0.1)
    return {"admin": admin, "community": community, "zone": zone, "building": building, "engineer": engineer,
            "manager": manager, "butler": butler, "finance": finance}  # fmt: skip


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(stack, username: str):
    browser = stack.upstreams["workbench"].wsgi_app.test_client()
    page = browser.get("/signin")
    answer = browser.post("/signin", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(page.text)})
    assert answer.status_code == 303, answer.text
    return browser


def _post(browser, page_path: str, path: str, data: dict):
    page = browser.get(page_path)
    assert page.status_code == 200, page.text
    return browser.post(path, data={**data, "csrf_token": _csrf(page.text)})


def _run_maintenance(stack) -> None:
    worker = next(w for w in stack.workers if w.spec.name == "tickets" and w.spec.periodic)
    assert worker.run_job("maintenance").outcome == "ok"


def test_the_register_a_piece_its_fault_and_its_certificates(stack, place):
    engineer = _signed_in(stack, place["engineer"]["username"])
    community_id = place["community"]["id"]
    home = engineer.get("/")
    assert 'id="nav-equipment"' in home.text and 'id="nav-maintenance"' in home.text

    # A refusal is shown under its field and nothing is registered.
    refused = _post(
        engineer, "/equipment", "/equipment", {"community_id": community_id, "kind": "elevator", "name": ""}
    )
    assert refused.status_code == 422 and 'id="name-error"' in refused.text
    assert place["admin"].get("/api/v1/tickets/equipment", community_id=community_id).json()["total"] == 0

    made = _post(
        engineer, "/equipment", "/equipment",
        {"community_id": community_id, "kind": "elevator", "name": "7栋1号客梯", "code": "DT-701",
         "zone_id": place["zone"]["id"], "building_id": place["building"]["id"], "floor": "B1", "maker": "奥的斯",
         "model": "GeN2", "contractor": "迅达维保"},
    )  # fmt: skip
    assert made.status_code == 303, made.text
    page = engineer.get(made.headers["Location"])
    assert page.status_code == 200
    for shown in ("7栋1号客梯", "电梯", "7栋", "B1", "北区", "奥的斯", "GeN2", "迅达维保", "运行中"):
        assert shown in page.text, shown
    equipment_id = made.headers["Location"].rsplit("/", 1)[1]
    assert place["building"]["id"] not in page.text.replace(f'value="{place["building"]["id"]}"', "")

    # A certificate expiring in 10 days is on the piece and on the register's expiring list.
    expires = (date.today() + timedelta(days=10)).isoformat()
    added = _post(engineer, f"/equipment/{equipment_id}", f"/equipment/{equipment_id}/certificates",
                  {"kind": "elevator_annual_inspection", "number": "NJ-2026-1", "expires_on": expires})  # fmt: skip
    assert added.status_code == 303, added.text
    refused = _post(engineer, f"/equipment/{equipment_id}", f"/equipment/{equipment_id}/certificates",
                    {"kind": "elevator_annual_inspection", "expires_on": "明天"})  # fmt: skip
    assert refused.status_code == 422 and 'id="expires_on-error"' in refused.text
    register = engineer.get(f"/equipment?community_id={community_id}")
    assert 'id="expiring"' in register.text and "7栋1号客梯" in register.text.split('id="expiring"')[1]
    filtered = engineer.get(f"/equipment?community_id={community_id}&kind=water_pump")
    assert f'id="equipment-{equipment_id}"' not in filtered.text

    # The running state changes; a butler of the zone reports a fault: a repair ticket linked to the piece.
    changed = _post(engineer, f"/equipment/{equipment_id}", f"/equipment/{equipment_id}/state",
                    {"state": "under_maintenance", "note": "年检前保养"})  # fmt: skip
    assert changed.status_code == 303
    assert "年检前保养" in engineer.get(f"/equipment/{equipment_id}").text.split('id="state"')[1]
    butler = _signed_in(stack, place["butler"]["username"])
    empty = _post(butler, f"/equipment/{equipment_id}", f"/equipment/{equipment_id}/fault", {"description": ""})
    assert empty.status_code == 422 and 'id="fault-description-error"' in empty.text
    reported = _post(butler, f"/equipment/{equipment_id}", f"/equipment/{equipment_id}/fault",
                     {"description": "轿厢异响", "priority": "high"})  # fmt: skip
    assert reported.status_code == 303 and reported.headers["Location"].startswith("/tickets/")
    ticket = butler.get(reported.headers["Location"])
    assert "轿厢异响" in ticket.text
    history = engineer.get(f"/equipment/{equipment_id}")
    assert "轿厢异响" in history.text.split('id="history"')[1]
    # The butler reads the register but is offered neither the register form nor the state change.
    assert 'id="register-form"' not in butler.get("/equipment").text
    assert 'id="state-form"' not in butler.get(f"/equipment/{equipment_id}").text

    # Finance has no part: no link, and the API's refusal for the piece (nothing of it on the page).
    finance = _signed_in(stack, place["finance"]["username"])
    assert 'id="nav-equipment"' not in finance.get("/").text
    refused = finance.get(f"/equipment/{equipment_id}")
    assert refused.status_code in (403, 404) and "7栋1号客梯" not in refused.text


def test_a_plan_makes_an_overdue_order_completed_item_by_item_with_a_fault(stack, place):
    engineer = _signed_in(stack, place["engineer"]["username"])
    admin = place["admin"]
    piece = admin.post(
        "/api/v1/tickets/equipment",
        {"community_id": place["community"]["id"], "kind": "water_pump", "name": "2号生活水泵",
         "zone_id": place["zone"]["id"]},
    )  # fmt: skip
    page = f"/equipment/{piece['id']}"
    refused = _post(engineer, page, f"{page}/plans", {"title": "周保养", "frequency": "weekly", "checklist": "",
                                                      "starts_on": date.today().isoformat()})  # fmt: skip
    assert refused.status_code == 422 and 'id="checklist-error"' in refused.text
    starts = (date.today() - timedelta(days=3)).isoformat()  # its latest due date has passed: the order is overdue
    made = _post(engineer, page, f"{page}/plans",
                 {"title": "周保养", "frequency": "weekly", "checklist": "检查电机温度\n检查压力表\n",
                  "starts_on": starts, "assignee_id": place["engineer"]["id"]})  # fmt: skip
    assert made.status_code == 303, made.text
    assert "周保养" in engineer.get(page).text and "检查压力表" in engineer.get(page).text
    _run_maintenance(stack)

    listing = engineer.get(f"/maintenance?community_id={place['community']['id']}")
    overdue = listing.text.split('id="overdue-orders"')[1].split('id="due-orders"')[0]
    assert "2号生活水泵" in overdue and "周工程师" in overdue and "逾期" in overdue
    order_id = re.search(r'href="/maintenance/orders/([^"]+)"', overdue).group(1)

    order = engineer.get(f"/maintenance/orders/{order_id}")
    assert "检查电机温度" in order.text and "检查压力表" in order.text
    done = _post(engineer, f"/maintenance/orders/{order_id}", f"/maintenance/orders/{order_id}/complete",
                 {"ok-0": "yes", "ok-1": "no", "note-1": "压力偏低", "fault": "压力表失灵", "fault_priority": "high"})  # fmt: skip
    assert done.status_code == 303, done.text
    shown = engineer.get(f"/maintenance/orders/{order_id}")
    assert "压力偏低" in shown.text and 'id="fault-tickets"' in shown.text
    assert re.search(r"T\d{8}", shown.text.split('id="fault-tickets"')[1])
    assert 'id="complete-form"' not in shown.text
    again = _post(engineer, f"/maintenance/orders/{order_id}", f"/maintenance/orders/{order_id}/complete", {})
    assert again.status_code == 422 and 'class="form-error"' in again.text  # the API's 409, shown on the page
    tickets = admin.get("/api/v1/tickets", equipment_id=piece["id"]).json()["items"]
    assert [t["channel"] for t in tickets] == ["maintenance"]

    # Pause and resume from the maintenance screen.
    plan = admin.get("/api/v1/tickets/maintenance/plans", equipment_id=piece["id"]).json()["items"][0]
    paused = _post(engineer, "/maintenance", f"/maintenance/plans/{plan['id']}/active", {"active": "false"})
    assert paused.status_code == 303
    assert (
        admin.get("/api/v1/tickets/maintenance/plans", equipment_id=piece["id"]).json()["items"][0]["active"] is False
    )
    assert "已暂停" in engineer.get(f"/maintenance?community_id={place['community']['id']}").text


def test_a_major_complaint_from_the_list_to_its_closure_report(stack, place):
    admin = place["admin"]
    community_id = place["community"]["id"]
    unit = admin.post("/api/v1/units", {"building_id": place["building"]["id"], "number": "7-1201", "floor": 12,
                                        "area_m2": "96.00"})  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        answer = admin.http.post(admin.base + "/api/v1/tickets", json={"unit_id": unit["id"], "category": "complaint",
                                 "description": "电梯长期异响无人处理"}, timeout=15)  # fmt: skip
        if answer.status_code == 201:
            ticket = answer.json()
            break
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.2)

    manager = _signed_in(stack, place["manager"]["username"])
    assert 'id="nav-quality"' in manager.get("/").text
    soon = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form = {"community_id": community_id, "source": "hotline_12345", "title": "12345 电梯异响投诉",
            "owner_id": place["butler"]["id"], "deadline_at": soon}  # fmt: skip
    refused = _post(manager, "/quality-cases", "/quality-cases", {**form, "tickets": "T99999999"})
    assert refused.status_code == 422 and 'id="tickets-error"' in refused.text
    past = _post(manager, "/quality-cases", "/quality-cases", {**form, "deadline_at": "2020-01-01T09:00"})
    assert past.status_code == 422 and 'id="deadline_at-error"' in past.text
    assert admin.get("/api/v1/tickets/quality-cases", community_id=community_id).json()["total"] == 0

    made = _post(manager, "/quality-cases", "/quality-cases", {**form, "tickets": ticket["number"]})
    assert made.status_code == 303, made.text
    case_page = manager.get(made.headers["Location"])
    assert "12345热线" in case_page.text or "12345" in case_page.text
    assert "郑管家" in case_page.text and ticket["number"] in case_page.text
    case_id = made.headers["Location"].rsplit("/", 1)[1]
    listing = manager.get(f"/quality-cases?community_id={community_id}")
    assert f'id="case-{case_id}"' in listing.text and "郑管家" in listing.text

    # The owner (a butler) gives feedback; an empty one is refused under the field.
    butler = _signed_in(stack, place["butler"]["username"])
    empty = _post(butler, f"/quality-cases/{case_id}", f"/quality-cases/{case_id}/feedback",
                  {"audience": "customer", "body": ""})  # fmt: skip
    assert empty.status_code == 422 and 'id="body-error"' in empty.text
    given = _post(butler, f"/quality-cases/{case_id}", f"/quality-cases/{case_id}/feedback",
                  {"audience": "customer", "body": "已联系维保单位，周五前更换导靴"})  # fmt: skip
    assert given.status_code == 303
    assert 'id="close-form"' not in butler.get(f"/quality-cases/{case_id}").text  # only managers close

    closed = _post(manager, f"/quality-cases/{case_id}", f"/quality-cases/{case_id}/close",
                   {"report": "更换导靴后回访业主满意，结案。"})  # fmt: skip
    assert closed.status_code == 303
    shown = manager.get(f"/quality-cases/{case_id}")
    assert "结案。" in shown.text and "已联系维保单位" in shown.text and "郑管家" in shown.text
    assert 'id="feedback-form"' not in shown.text
    assert f'id="case-{case_id}"' not in manager.get(f"/quality-cases?community_id={community_id}").text
    assert f'id="case-{case_id}"' in manager.get(f"/quality-cases?community_id={community_id}&closed=1").text


def _png(colour: str) -> bytes:
    from PIL import Image

    photo = io.BytesIO()
    Image.new("RGB", (6, 4), colour).save(photo, "PNG")
    return photo.getvalue()


def test_photos_from_an_incidents_scene_and_a_patrol_finding(stack, place):
    admin, manager = place["admin"], _signed_in(stack, place["manager"]["username"])
    incident = admin.post(
        "/api/v1/tickets/incidents",
        {"community_id": place["community"]["id"], "type": "flooding", "severity": "major", "title": "7栋地下室水浸",
         "scope": {"building_ids": [place["building"]["id"]]}, "notify_residents": False},
    )  # fmt: skip
    page = f"/incidents/{incident['id']}"
    shot = _png("blue")
    arrived = _post(manager, page, f"{page}/progress",
                    {"step": "arrived", "note": "已到场", "photo": (io.BytesIO(shot), "scene.png", "image/png")})  # fmt: skip
    assert arrived.status_code == 303, arrived.text
    shown = manager.get(page)
    log = shown.text.split('id="incident-log"')[1].split("</ol>")[0]
    src = re.search(rf'src="(/incidents/{incident["id"]}/photos/[^"]+)"', log).group(1)
    image = manager.get(src)
    assert image.status_code == 200 and image.data == shot and image.content_type == "image/png"
    # Not an image: refused under the field, nothing kept.
    refused = _post(manager, page, f"{page}/photos", {"photo": (io.BytesIO(b"<html>hi</html>"), "x.png", "image/png")})
    assert refused.status_code == 422 and 'id="photo-error"' in refused.text
    loose = _post(manager, page, f"{page}/photos", {"photo": (io.BytesIO(_png("red")), "wide.png", "image/png")})
    assert loose.status_code == 303
    assert 'id="incident-photos"' in manager.get(page).text
    assert len(admin.get(f"/api/v1/tickets/incidents/{incident['id']}/photos").json()["items"]) == 2

    # A patrol finding keeps its photo, though it opens no ticket.
    butler = _signed_in(stack, place["butler"]["username"])
    plan = admin.post(
        "/api/v1/tickets/patrols/plans",
        {"zone_id": place["zone"]["id"], "name": "北区夜巡", "frequency": "daily", "staff_ids": [place["butler"]["id"]],
         "checkpoints": [{"code": "N-1", "name": "7栋大堂"}]},
    )  # fmt: skip
    started = _post(butler, "/patrols", "/patrols/rounds", {"plan_id": plan["id"]})
    assert started.status_code == 303, started.text
    round_page = started.headers["Location"]
    finding = _post(butler, round_page, f"{round_page}/findings",
                    {"kind": "environment", "severity": "minor", "description": "大堂地面湿滑",
                     "photo": (io.BytesIO(shot), "floor.png", "image/png")})  # fmt: skip
    assert finding.status_code == 303, finding.text
    findings = butler.get(round_page).text.split('id="findings"')[1]
    src = re.search(r'src="(/patrols/rounds/[^"]+/photos/[^"]+)"', findings).group(1)
    assert butler.get(src).data == shot
