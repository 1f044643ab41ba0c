"""突发事件: an incident's scope checked against the community, its on-site timeline, people, aftermath tasks,
closure, the report as JSON and XLSX, and its events (incident.opened carries the scope for the urgent notice)."""

import io
import uuid
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from guanjia.db import parse_time
from guanjia.testing import auth_header, wait_until
from tickets.models import Incident

BASE = "/api/v1/tickets/incidents"


def _open(client, world, status=201, **changes):
    body = {
        "community_id": world["community_id"],
        "type": "flooding",
        "severity": "major",
        "title": "3号楼地下车库水浸",
        "description": "暴雨倒灌，车库积水约20厘米",
        "scope": {"unit_ids": [world["unit_id"]], "building_ids": ["b1"], "zone_ids": [world["zone_id"]]},
        **changes,
    }
    response = client.post(BASE, headers=world["manager"], json=body)
    assert response.status_code == status, response.json
    return response.json


def _post(client, world, incident, path, body=None, status=200, headers=None):
    response = client.post(f"{BASE}/{incident['id']}/{path}", headers=headers or world["manager"], json=body or {})
    assert response.status_code == status, response.json
    return response.json


def test_an_incident_runs_from_report_to_closure_with_its_events(client, world, staff_user, clock, outbox_events):
    engineer_id = staff_user(world["community_id"])
    incident = _open(client, world, on_site=[engineer_id])
    assert incident["status"] == "open" and incident["on_site"] == [engineer_id]
    assert incident["scope"] == {"unit_ids": [world["unit_id"]], "building_ids": ["b1"], "zone_ids": [world["zone_id"]]}
    assert incident["allowed_steps"] == ["arrived", "contained", "resolved"]
    (opened,) = outbox_events(f"incident/{incident['id']}", "incident.opened")
    assert opened["data"]["scope"]["building_ids"] == ["b1"] and opened["data"]["notify_residents"] is True
    assert "车库" not in str(opened["data"])  # no free text on the bus

    reported = parse_time(incident["reported_at"])
    clock.set(reported + timedelta(minutes=8))
    _post(client, world, incident, "progress", {"step": "arrived", "note": "秩序部到场，设置警戒"})
    clock.set(reported + timedelta(minutes=40))
    contained = _post(client, world, incident, "progress", {"step": "contained", "note": "抽水泵启动"})
    assert contained["status"] == "contained" and contained["allowed_steps"] == ["resolved"]
    engineer = auth_header(
        client.application.extensions["guanjia.settings"],
        "engineer",
        communities=[world["community_id"]],
        subject=engineer_id,
    )
    task = _post(client, world, incident, "tasks", {"title": "清理车库淤泥并消毒", "owner_id": engineer_id})["tasks"][0]
    clock.set(reported + timedelta(hours=3))
    resolved = _post(client, world, incident, "progress", {"step": "resolved"}, headers=engineer)
    assert resolved["status"] == "resolved" and resolved["allowed_steps"] == []
    again = _post(client, world, incident, "progress", {"step": "resolved"}, status=409)
    assert again["allowed_actions"] == [] and again["current_status"] == "resolved"
    # Not closed while an aftermath task is open; its owner marks it done.
    _post(client, world, incident, "close", {"summary": "已恢复"}, status=409)
    _post(client, world, incident, f"tasks/{task['id']}/done", headers=engineer)
    closed = _post(client, world, incident, "close", {"summary": "积水已排净，车库恢复使用"})
    assert closed["status"] == "closed"
    _post(client, world, incident, "tasks", {"title": "x", "owner_id": engineer_id}, status=409)
    changes = [e["data"]["change"] for e in outbox_events(f"incident/{incident['id']}", "incident.updated")]
    assert changes == ["arrived", "contained", "task_added", "resolved", "task_done"]
    (done,) = outbox_events(f"incident/{incident['id']}", "incident.closed")
    assert done["data"]["tasks"] == 1 and done["data"]["arrived_at"] is not None

    report = client.get(f"{BASE}/{incident['id']}/report", headers=world["manager"]).json
    assert report["minutes_to_arrive"] == 8.0 and report["minutes_to_contain"] == 40.0
    assert report["minutes_to_resolve"] == 180.0
    assert [e["action"] for e in report["log"]] == [
        "opened",
        "arrived",
        "contained",
        "task_added",
        "resolved",
        "task_done",
        "closed",
    ]
    xlsx = client.get(f"{BASE}/{incident['id']}/report", headers=world["manager"], query_string={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames == ["概况", "影响范围", "现场记录", "善后任务"]
    facts = {row[0]: row[1] for row in book["概况"].iter_rows(min_row=2, values_only=True)}
    assert facts["类型"] == "水浸" and facts["等级"] == "较大" and facts["状态"] == "已结案"
    assert facts["到场用时（分钟）"] == 8
    assert [r[0] for r in book["现场记录"].iter_rows(min_row=2, values_only=True)][0] is not None
    assert {r[0] for r in book["影响范围"].iter_rows(min_row=2, values_only=True)} == {"房屋", "楼栋", "片区"}
    zone_row = [r for r in book["影响范围"].iter_rows(min_row=2, values_only=True) if r[0] == "片区"][0]
    assert zone_row[1] == "一区"  # names, not ids


def test_bad_input_names_the_field_and_writes_nothing(
    client, tickets_settings, world, db, publish, publish_unit_created
):
    # A unit, its building and a zone of another community, known to the projections.
    other, other_unit, other_zone = (str(uuid.uuid4()) for _ in range(3))
    publish(tickets_settings, "zone.updated", {"zone_id": other_zone, "community_id": other, "name": "外区"})
    publish_unit_created(tickets_settings, other_unit, other, zone_id=other_zone)
    from tickets.models import Unit, Zone

    def projected():
        with db.transaction() as s:
            return s.get(Unit, other_unit) is not None and s.get(Zone, other_zone) is not None

    wait_until(projected, message="the other community's unit and zone projected")
    with db.transaction() as s:
        before = s.execute(select(func.count()).select_from(Incident)).scalar_one()
    cases = [
        ({"type": "meteor"}, "type"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"scope": {}}, "scope"),
        ({"scope": {"unit_ids": [other_unit]}}, "scope.unit_ids"),
        ({"scope": {"zone_ids": [other_zone]}}, "scope.zone_ids"),
        ({"on_site": ["nobody-" + uuid.uuid4().hex[:6]]}, "on_site"),
        ({"community_id": str(uuid.uuid4())}, "community_id"),
    ]
    for changes, field in cases:
        refused = _open(client, world, status=422, **changes)
        assert field in str(refused), (field, refused)
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(Incident)).scalar_one() == before


def test_who_sees_an_incident(client, tickets_settings, world):
    incident = _open(client, world)
    path = f"{BASE}/{incident['id']}"
    stranger = auth_header(tickets_settings, "cs_manager", communities=[str(uuid.uuid4())])
    assert client.get(path, headers=stranger).status_code == 404
    assert client.post(f"{path}/progress", headers=stranger, json={"step": "arrived"}).status_code == 404
    assert client.get(path, headers=world["resident"]).status_code == 403
    assert client.post(BASE, headers=world["resident"], json={}).status_code == 403
    integrator = auth_header(tickets_settings, "integrator", communities=[world["community_id"]])
    seen = client.get(path, headers=integrator).json
    assert seen["type"] == "flooding" and seen["description"] is None  # facts, not the staff's text
    listed = client.get(BASE, headers=world["butler"], query_string={"open": "true"}).json
    assert incident["id"] in [i["id"] for i in listed["items"]]
    assert client.get(BASE, headers=world["manager"], query_string={"colour": "red"}).status_code in (400, 422)


def _png(colour="red") -> bytes:
    from PIL import Image

    photo = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(photo, "PNG")
    return photo.getvalue()


def test_photos_from_the_scene_on_the_incident_and_its_log(client, world, tickets_settings):
    incident = _open(client, world)
    arrived = _post(client, world, incident, "progress", {"step": "arrived", "note": "到场"})
    (entry,) = arrived["log"][1:] or arrived["log"]
    png = _png()

    def upload(data, headers=None):
        return client.post(f"{BASE}/{incident['id']}/photos", headers=headers or world["manager"], data=data,
                           content_type="multipart/form-data")  # fmt: skip

    made = upload({"file": (io.BytesIO(png), "scene.png", "image/png"), "log_id": entry["id"]})
    assert made.status_code == 201, made.json
    assert made.json["log_id"] == entry["id"] and made.json["content_type"] == "image/png"
    # A PDF or a page pretending to be a photo, another incident's log entry: 422 naming the field, nothing kept.
    pdf = upload({"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "a.pdf", "application/pdf")})
    assert pdf.status_code == 422 and "file" in pdf.json["errors"]
    page = upload({"file": (io.BytesIO(b"<html><script>x</script>"), "a.png", "image/png")})
    assert page.status_code == 422 and "file" in page.json["errors"]
    other = _open(client, world, title="另一起")
    foreign = upload({"file": (io.BytesIO(png), "x.png", "image/png"), "log_id": other["log"][0]["id"]})
    assert foreign.status_code == 422 and "log_id" in foreign.json["errors"]

    shown = client.get(f"{BASE}/{incident['id']}", headers=world["manager"]).json
    assert [p["id"] for p in shown["photos"]] == [made.json["id"]]
    listed = client.get(f"{BASE}/{incident['id']}/photos", headers=world["manager"]).json["items"]
    assert [p["id"] for p in listed] == [made.json["id"]]
    content = client.get(f"{BASE}/{incident['id']}/photos/{made.json['id']}/content", headers=world["manager"])
    assert content.status_code == 200 and content.data == png
    assert content.headers["Content-Disposition"].startswith("attachment")
    # Under another incident, or for another community's manager, the photo is not there.
    assert client.get(f"{BASE}/{other['id']}/photos/{made.json['id']}/content",
                      headers=world["manager"]).status_code == 404  # fmt: skip
    stranger = auth_header(tickets_settings, "cs_manager", communities=[str(uuid.uuid4())])
    assert client.get(f"{BASE}/{incident['id']}/photos", headers=stranger).status_code == 404
    integrator = auth_header(tickets_settings, "integrator", communities=[world["community_id"]])
    assert client.get(f"{BASE}/{incident['id']}/photos", headers=integrator).status_code == 403
