"""The reporter a staff member names: the resident projection (resident.* events) answers when it says current,
residents itself otherwise — so a reporter who moved out, or of another unit or community, is refused as before."""

import uuid
from datetime import timedelta

import pytest

from guanjia.db import utcnow
from guanjia.http import WsgiUpstream
from guanjia.testing import auth_header, installed_app, wait_until
from tickets.domain import projections
from tickets.models import Resident


@pytest.fixture(scope="session")
def residents_app(infra):
    return installed_app(infra, "residents", {})


@pytest.fixture(scope="session")
def asking_app(tickets_settings, gateway_app, residents_app, tmp_path_factory):
    """tickets with the real residents behind it (the session's `tickets_app` has none: asking it is a 503)."""
    from tickets.app import create_app

    upstreams = {"gateway": WsgiUpstream("gateway", gateway_app), "residents": WsgiUpstream("residents", residents_app)}
    return create_app(tickets_settings, upstreams=upstreams, files_dir=tmp_path_factory.mktemp("files"))


@pytest.fixture
def household(new_household):
    return new_household()


@pytest.fixture
def new_household(residents_app, tickets_settings, tickets_worker, publish_unit_created, db):
    """new_household() → a registered resident of a unit of a new community in the real residents service; the
    unit projected in tickets."""
    return lambda: _household(residents_app, tickets_settings, publish_unit_created, db)


def _household(residents_app, tickets_settings, publish_unit_created, db):
    client, admin = residents_app.test_client(), auth_header(tickets_settings, "admin")

    def post(path, body, status=201):
        response = client.post(path, json=body, headers=admin)
        assert response.status_code == status, (path, response.json)
        return response.json

    community = post("/api/v1/communities", {"name": f"测试小区{uuid.uuid4().hex[:6]}"})
    building = post("/api/v1/buildings", {"community_id": community["id"], "name": "1栋"})
    unit = post("/api/v1/units", {"building_id": building["id"], "number": "1-101", "floor": 1, "area_m2": "88.50"})
    resident = post(
        "/api/v1/residents", {"unit_id": unit["id"], "name": "张三", "phone": "+8613800138000", "role": "owner"}
    )
    publish_unit_created(tickets_settings, unit["id"], community["id"])
    from tickets.models import Unit

    def projected():
        with db.transaction() as s:
            return s.get(Unit, unit["id"]) is not None

    wait_until(projected, message="unit projected")
    return {"community_id": community["id"], "unit_id": unit["id"], "resident_id": resident["id"], "post": post}


def _projected(db, resident_id):
    with db.transaction() as s:
        row = s.get(Resident, resident_id)
        return None if row is None else (row.community_id, row.unit_id, row.status)


def _file(app, settings, household, reporter_id, **body):
    admin = auth_header(settings, "admin")
    body = {"unit_id": household["unit_id"], "category": "repair", "description": "水龙头漏水", **body}
    return app.test_client().post("/api/v1/tickets", headers=admin, json={**body, "reporter_id": reporter_id})


@pytest.mark.parametrize("path", ["filing", "orm"])
def test_the_projection_answers_until_a_move_out_is_heard_then_residents_refuses(
    path, asking_app, tickets_app, tickets_settings, household, db, publish, monkeypatch
):
    from tickets.domain import filing

    if path == "orm":
        monkeypatch.setattr(filing, "fits", lambda session, data: False)
    resident_id, unit_id, community_id = household["resident_id"], household["unit_id"], household["community_id"]
    # Not heard of yet: residents is asked, and its answer kept.
    first = _file(asking_app, tickets_settings, household, resident_id)
    assert first.status_code == 201 and first.json["reporter_id"] == resident_id, first.json
    assert _projected(db, resident_id) == (community_id, unit_id, "registered")
    # Now the projection answers alone: tickets_app cannot reach residents at all.
    again = _file(tickets_app, tickets_settings, household, resident_id)
    assert again.status_code == 201, again.json

    household["post"](f"/api/v1/units/{unit_id}/move-in", {"resident_id": resident_id}, status=200)
    household["post"](f"/api/v1/units/{unit_id}/move-out", {"resident_ids": [resident_id]}, status=200)
    publish(
        tickets_settings,
        "resident.moved_out",
        {"resident_id": resident_id, "unit_id": unit_id, "community_id": community_id, "moved_out_at": "x"},
    )
    wait_until(lambda: _projected(db, resident_id) == (community_id, unit_id, "moved_out"), message="move-out heard")
    # The projection no longer says current: residents is asked (unreachable: a 503, never a ticket) ...
    unreachable = _file(tickets_app, tickets_settings, household, resident_id)
    assert unreachable.status_code == 503 and unreachable.mimetype == "application/problem+json", unreachable.json
    # ... and refuses, as it always did.
    refused = _file(asking_app, tickets_settings, household, resident_id)
    assert refused.status_code == 422 and "reporter_id" in refused.json["errors"], refused.json


def test_a_reporter_of_another_unit_or_community_is_asked_of_residents_and_refused(
    asking_app, tickets_settings, household, new_household, db
):
    other = new_household()
    assert _file(asking_app, tickets_settings, other, other["resident_id"]).status_code == 201
    assert _projected(db, other["resident_id"])[2] == "registered"  # current, of the other community
    refused = _file(asking_app, tickets_settings, household, other["resident_id"])
    assert refused.status_code == 422 and "reporter_id" in refused.json["errors"], refused.json
    # The projection says current but of another unit (residents does not know the id at all): refused too.
    stranger = str(uuid.uuid4())
    with db.transaction() as s:
        s.add(
            Resident(
                id=stranger,
                community_id=household["community_id"],
                unit_id="u",
                status="moved_in",
                source_time=utcnow(),
            )
        )
    refused = _file(asking_app, tickets_settings, household, stranger)
    assert refused.status_code == 422 and "reporter_id" in refused.json["errors"], refused.json


def test_resident_events_in_any_order_keep_the_newest_state(db):
    resident_id, now = str(uuid.uuid4()), utcnow()
    data = {"resident_id": resident_id, "community_id": "c", "unit_id": "u"}
    with db.transaction() as s:
        projections.upsert_resident(s, {**data, "status": "moved_out"}, now)
    with db.transaction() as s:
        projections.upsert_resident(s, {**data, "status": "moved_in"}, now - timedelta(minutes=1))  # late, older
    assert _projected(db, resident_id) == ("c", "u", "moved_out")
    with db.transaction() as s:
        projections.upsert_resident(s, {**data, "status": "moved_in", "unit_id": "u2"}, now + timedelta(seconds=1))
    assert _projected(db, resident_id) == ("c", "u2", "moved_in")


@pytest.mark.parametrize("path", ["filing", "orm"])
def test_a_unit_tickets_has_not_heard_of_is_asked_of_residents_and_filed_in_the_same_transaction(
    path, asking_app, residents_app, tickets_settings, db, monkeypatch
):
    """The api's plain-connection create (filing.fits) whose read finds no unit files the ticket through the ORM in
    a Session joined to that transaction: the unit is asked of residents and projected, the ticket, its timeline and
    ticket.created are written, and the response is the ORM create's."""
    from sqlalchemy import select

    from tickets.domain import filing
    from tickets.models import Ticket, TimelineEntry, Unit, outbox

    tried = []
    real = filing.create_in_unit

    def spy(*args, **kwargs):
        tried.append(real(*args, **kwargs))
        return tried[-1]

    monkeypatch.setattr(filing, "create_in_unit", spy)
    if path == "orm":
        monkeypatch.setattr(filing, "fits", lambda session, data: False)
    client, admin = residents_app.test_client(), auth_header(tickets_settings, "admin")
    community = client.post("/api/v1/communities", json={"name": f"未投影{uuid.uuid4().hex[:6]}"}, headers=admin).json
    building = client.post("/api/v1/buildings", json={"community_id": community["id"], "name": "2栋"}, headers=admin)
    unit = client.post(
        "/api/v1/units",
        json={"building_id": building.json["id"], "number": "2-201", "floor": 2, "area_m2": "90.00"},
        headers=admin,
    ).json
    headers = auth_header(tickets_settings, "resident", units=[unit["id"]], resident_id=str(uuid.uuid4()))
    body = {"unit_id": unit["id"], "category": "repair", "description": "暖气不热"}
    response = asking_app.test_client().post("/api/v1/tickets", headers=headers, json=body)
    assert response.status_code == 201, response.json
    assert tried == ([None] if path == "filing" else [])
    ticket = response.json
    assert ticket["unit_id"] == unit["id"] and ticket["community_id"] == community["id"]
    assert ticket["unit_label"] and ticket["number"].startswith("T")
    with db.transaction() as s:
        assert s.get(Unit, unit["id"]) is not None  # projected from residents' answer
        assert s.get(Ticket, ticket["id"]).status == ticket["status"]
        assert s.execute(select(TimelineEntry.action).where(TimelineEntry.ticket_id == ticket["id"])).first()
        types = s.execute(select(outbox.c.event_type).where(outbox.c.payload.contains(ticket["id"]))).scalars()
        assert "ticket.created" in set(types)
