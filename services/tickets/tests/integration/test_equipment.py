"""设施设备台账 and maintenance: the register, certificates expiring, running state, faults as repair tickets linked
to the equipment, its history; plans making one work order per due date (two workers racing, re-runs), overdue."""

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from guanjia.testing import auth_header
from tickets import jobs
from tickets.context import make_context
from tickets.models import MaintenanceOrder

EQ, MT = "/api/v1/tickets/equipment", "/api/v1/tickets/maintenance"
# 02:00 UTC is 10:00 in Shanghai: the local day is the UTC day.
MORNING = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def _register(client, world, status=201, **changes):
    body = {
        "community_id": world["community_id"],
        "kind": "elevator",
        "name": "3栋1号客梯",
        "code": f"DT-{uuid.uuid4().hex[:6]}",
        "zone_id": world["zone_id"],
        "building_id": "b1",
        "floor": "B1",
        "room": "电梯机房",
        "maker": "奥的斯",
        "model": "GeN2",
        "contractor": "某某电梯维保有限公司",
        **changes,
    }
    response = client.post(EQ, headers=world["manager"], json=body)
    assert response.status_code == status, response.json
    return response.json


def _engineer(client, world, staff_user, subject=None):
    settings = client.application.extensions["guanjia.settings"]
    subject = subject or staff_user(world["community_id"])
    return subject, auth_header(settings, "engineer", communities=[world["community_id"]], subject=subject)


def test_the_register_keeps_location_makers_certificates_and_state(client, world, clock):
    clock.set(MORNING)
    lift = _register(client, world)
    assert lift["state"] == "operating" and lift["room"] == "电梯机房" and lift["contractor"].startswith("某某")
    _register(client, world, status=422, code=lift["code"])  # the asset tag is unique in the community
    bad = _register(client, world, status=422, kind="spaceship")
    assert "kind" in str(bad)
    _register(client, world, status=422, zone_id=str(uuid.uuid4()))

    path = f"{EQ}/{lift['id']}"
    cert = {"kind": "elevator_annual_inspection", "number": "TSX-2026-001", "expires_on": "2026-12-20"}
    with_cert = client.post(f"{path}/certificates", headers=world["manager"], json=cert).json
    assert with_cert["certificates"][0]["days_left"] == 18
    late = {"kind": "fire_inspection", "expires_on": "2027-06-01"}
    client.post(f"{path}/certificates", headers=world["manager"], json=late)
    args = {"community_id": world["community_id"], "within_days": 30}
    expiring = client.get(f"{EQ}/certificates/expiring", headers=world["butler"], query_string=args).json["items"]
    assert [(c["kind"], c["equipment_name"]) for c in expiring] == [("elevator_annual_inspection", "3栋1号客梯")]

    moved = client.patch(path, headers=world["manager"], json={"floor": "B2", "contractor": "新维保公司"}).json
    assert moved["floor"] == "B2" and moved["contractor"] == "新维保公司" and moved["maker"] == "奥的斯"
    stopped = client.post(f"{path}/state", headers=world["manager"], json={"state": "stopped", "note": "年检整改"})
    assert stopped.status_code == 200 and stopped.json["state"] == "stopped"
    listed = client.get(EQ, headers=world["butler"], query_string={"community_id": world["community_id"]}).json
    assert [e["id"] for e in listed["items"]] == [lift["id"]] and listed["items"][0]["state"] == "stopped"
    client.post(f"{path}/state", headers=world["manager"], json={"state": "retired"})
    again = client.post(f"{path}/state", headers=world["manager"], json={"state": "operating"})
    assert again.status_code == 409 and again.json["allowed_actions"] == []


def test_equipment_is_for_its_community_staff_only(client, world, staff):
    lift = _register(client, world)
    settings = client.application.extensions["guanjia.settings"]
    other = staff(settings, str(uuid.uuid4()))
    assert client.get(f"{EQ}/{lift['id']}", headers=other).status_code == 404
    assert client.get(EQ, headers=other, query_string={"community_id": world["community_id"]}).json["total"] == 0
    assert client.get(f"{EQ}/{lift['id']}", headers=world["resident"]).status_code == 403
    refused = client.post(f"{EQ}/{lift['id']}/state", headers=world["butler"], json={"state": "fault"})
    assert refused.status_code == 403


def test_butlers_see_their_zones_equipment_and_the_community_wide_pieces(client, world):
    settings = client.application.extensions["guanjia.settings"]
    elsewhere = auth_header(settings, "butler", communities=[world["community_id"]], zones=[str(uuid.uuid4())])
    lift = _register(client, world)  # in the world's zone
    gate = _register(client, world, name="南门道闸", kind="gate", zone_id=None, building_id=None)
    for path in (f"{EQ}/{lift['id']}", f"{EQ}/{lift['id']}/history"):
        assert client.get(path, headers=world["butler"]).status_code == 200
        assert client.get(path, headers=elsewhere).status_code == 404
    assert client.post(f"{EQ}/{lift['id']}/faults", headers=elsewhere, json={"description": "异响"}).status_code == 404
    assert client.get(f"{EQ}/{gate['id']}", headers=elsewhere).status_code == 200
    listed = client.get(EQ, headers=elsewhere, query_string={"community_id": world["community_id"]}).json["items"]
    assert gate["id"] in [e["id"] for e in listed] and lift["id"] not in [e["id"] for e in listed]


def test_a_fault_becomes_a_repair_ticket_in_the_equipment_history(client, world):
    lift = _register(client, world)
    body = {"description": "轿厢异响", "priority": "high"}
    ticket = client.post(f"{EQ}/{lift['id']}/faults", headers=world["butler"], json=body)
    assert ticket.status_code == 201, ticket.json
    assert ticket.json["equipment_id"] == lift["id"] and ticket.json["category"] == "repair"
    assert ticket.json["subcategory"] == "equipment_elevator" and ticket.json["location"] == "public_area"
    history = client.get(f"{EQ}/{lift['id']}/history", headers=world["manager"]).json
    assert [t["number"] for t in history["tickets"]] == [ticket.json["number"]]
    listed = client.get("/api/v1/tickets", headers=world["manager"], query_string={"equipment_id": lift["id"]}).json
    assert [t["id"] for t in listed["items"]] == [ticket.json["id"]]


def _plan(client, world, lift, status=201, **changes):
    body = {
        "equipment_id": lift["id"],
        "title": "电梯半月保养",
        "frequency": "weekly",
        "checklist": ["曳引机运行", "门机开关", "应急照明"],
        "starts_on": "2026-11-18",
        **changes,
    }
    response = client.post(f"{MT}/plans", headers=world["manager"], json=body)
    assert response.status_code == status, response.json
    return response.json


def _orders(db, plan_id):
    with db.transaction() as session:
        query = select(MaintenanceOrder.due_on).where(MaintenanceOrder.plan_id == plan_id)
        return sorted(session.execute(query).scalars())


def test_plans_make_one_order_per_due_date_with_two_workers(
    client, world, db, tickets_settings, at_once, outbox_events, clock
):
    clock.set(MORNING)
    lift = _register(client, world)
    weekly = _plan(client, world, lift)
    monthly = _plan(client, world, lift, frequency="monthly", starts_on="2026-08-31", title="月度保养")
    _plan(client, world, lift, status=422, checklist=["门机", "门机"])
    context = make_context(tickets_settings, {})
    # Two workers at once, then a re-run: still one order per plan and date; missed dates are not made up.
    at_once(2, lambda: jobs.maintenance_job(context, db, now=MORNING))
    jobs.maintenance_job(context, db, now=MORNING)
    assert _orders(db, weekly["id"]) == [date(2026, 12, 2)]
    assert _orders(db, monthly["id"]) == [date(2026, 11, 30)]  # the 31st falls on the last day of November
    plans = client.get(f"{MT}/plans", headers=world["manager"], query_string={"equipment_id": lift["id"]}).json
    assert {p["id"]: p["next_due_on"] for p in plans["items"]} == {
        weekly["id"]: "2026-12-09",
        monthly["id"]: "2026-12-31",
    }
    orders = client.get(f"{MT}/orders", headers=world["butler"], query_string={"plan_id": weekly["id"]}).json
    (order,) = orders["items"]
    (due,) = outbox_events(f"maintenance/{order['id']}", "equipment.maintenance_due")
    assert due["data"]["due_on"] == "2026-12-02" and due["data"]["equipment_kind"] == "elevator"

    # The next week: a new order, and the monthly one of 30 November is overdue (listed, escalated once).
    later = datetime(2026, 12, 9, 2, 0, tzinfo=UTC)
    clock.set(later)
    jobs.maintenance_job(context, db, now=later)
    jobs.maintenance_job(context, db, now=later)
    assert _orders(db, weekly["id"]) == [date(2026, 12, 2), date(2026, 12, 9)]
    args = {"community_id": world["community_id"], "overdue": "true"}
    overdue = client.get(f"{MT}/orders", headers=world["manager"], query_string=args).json["items"]
    assert {o["due_on"] for o in overdue} == {"2026-11-30", "2026-12-02"} and all(o["overdue"] for o in overdue)
    assert len(outbox_events(f"maintenance/{order['id']}", "equipment.maintenance_overdue")) == 1

    paused = client.post(f"{MT}/plans/{weekly['id']}/active", headers=world["manager"], json={"active": False})
    assert paused.json["active"] is False
    much_later = datetime(2026, 12, 30, 2, 0, tzinfo=UTC)
    jobs.maintenance_job(context, db, now=much_later)
    assert len(_orders(db, weekly["id"])) == 2


def test_completing_an_order_records_results_and_opens_fault_tickets(
    client, world, db, tickets_settings, staff_user, clock
):
    clock.set(MORNING)
    lift = _register(client, world)
    engineer_id, engineer = _engineer(client, world, staff_user)
    plan = _plan(client, world, lift, frequency="daily", starts_on="2026-12-02", assignee_id=engineer_id)
    jobs.maintenance_job(make_context(tickets_settings, {}), db, now=MORNING)
    (order,) = client.get(f"{MT}/orders", headers=engineer, query_string={"plan_id": plan["id"]}).json["items"]
    assert order["assignee_id"] == engineer_id and order["allowed_actions"] == ["complete"]

    path = f"{MT}/orders/{order['id']}/complete"
    partial = {"results": [{"item": "曳引机运行", "ok": True}]}
    missing = client.post(path, headers=engineer, json=partial)
    assert missing.status_code == 422 and "门机开关" in str(missing.json)
    _, someone_else = _engineer(client, world, staff_user)
    results = [
        {"item": "曳引机运行", "ok": True},
        {"item": "门机开关", "ok": False, "note": "门刀磨损"},
        {"item": "应急照明", "ok": True},
    ]
    body = {"results": results, "faults": [{"description": "门刀磨损需更换", "priority": "normal"}]}
    assert client.post(path, headers=someone_else, json=body).status_code == 403
    done = client.post(path, headers=engineer, json=body)
    assert done.status_code == 200, done.json
    assert done.json["status"] == "done" and len(done.json["fault_ticket_ids"]) == 1
    assert done.json["results"][1] == {"item": "门机开关", "ok": False, "note": "门刀磨损"}
    again = client.post(path, headers=engineer, json=body)
    assert again.status_code == 409 and again.json["allowed_actions"] == []

    history = client.get(f"{EQ}/{lift['id']}/history", headers=world["manager"]).json
    assert [t["id"] for t in history["tickets"]] == done.json["fault_ticket_ids"]
    assert history["tickets"][0]["channel"] == "maintenance"
    assert [o["id"] for o in history["maintenance"]] == [order["id"]]
    with db.transaction() as session:
        assert session.execute(select(func.count()).select_from(MaintenanceOrder)).scalar_one() >= 1
