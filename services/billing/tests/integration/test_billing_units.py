"""Billing's unit projection on real PostgreSQL and RabbitMQ: events, order, scope, problem+json."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from billing.models import BillingUnit, inbox
from guanjia import inbox as inboxmod
from guanjia.db import Database
from guanjia.testing import auth_header, running_worker, wait_until


@pytest.fixture(scope="module")
def worker(billing_settings):
    with running_worker("billing", billing_settings) as w:
        yield w


@pytest.fixture(scope="module")
def db(billing_settings):
    database = Database(billing_settings.database_url)
    yield database
    database.dispose()


def projected(db, unit_id, predicate=lambda unit: True):
    def check():
        with db.transaction() as s:
            unit = s.get(BillingUnit, unit_id)
            return unit if unit is not None and predicate(unit) else None

    return wait_until(check, message=f"unit {unit_id} projected")


def applied(db, event_id):
    def check():
        with db.transaction() as s:
            return inboxmod.seen(s, inbox, "billing", event_id)

    wait_until(check, message=f"event {event_id} handled")


@pytest.fixture
def unit(worker, db, publish, unit_event):
    unit_id, community_id = str(uuid.uuid4()), str(uuid.uuid4())
    zone_id = f"zone-{uuid.uuid4().hex[:8]}"  # a zone no other test names (zone-1 may have been seen, with a name)
    publish(unit_event(unit_id, community_id, zone_id=zone_id))
    projected(db, unit_id)
    return {"unit_id": unit_id, "community_id": community_id, "zone_id": zone_id}


def test_published_unit_created_is_served_with_its_area_as_a_decimal_string(client, finance, unit):
    response = client.get(f"/api/v1/billing/units/{unit['unit_id']}", headers=finance(unit["community_id"]))
    assert response.status_code == 200, response.json
    body = response.json
    assert body == {
        "unit_id": unit["unit_id"],
        "community_id": unit["community_id"],
        "building_id": "b-1",
        "zone_id": unit["zone_id"],
        "number": "3-201",
        "unit_label": "3栋3-201",  # from the event's additive `label`: what screens show
        "zone_name": None,  # no zone.updated seen for its zone
        "floor": 2,
        "unit_type": "residential",
        "area_m2": "88.50",
        "gross_area_m2": "88.50",
        "inner_area_m2": "70.20",
        "status": "delivered",
        "updated_at": body["updated_at"],
    }
    assert datetime.fromisoformat(body["updated_at"]).tzinfo is not None


def test_an_update_older_than_the_held_one_is_ignored(worker, client, db, publish, unit_event, finance):
    unit_id, community_id = str(uuid.uuid4()), str(uuid.uuid4())
    start = datetime.now(UTC)
    created = unit_event(unit_id, community_id, time=start)
    newer = unit_event(
        unit_id,
        community_id,
        type="unit.updated",
        time=start + timedelta(minutes=2),
        area_m2="95.00",
        status="occupied",
    )
    older = unit_event(
        unit_id, community_id, type="unit.updated", time=start + timedelta(minutes=1), area_m2="70.00", status="vacant"
    )
    publish(created, newer)
    projected(db, unit_id, lambda u: u.status == "occupied")
    publish(older)
    applied(db, older["id"])

    body = client.get(f"/api/v1/billing/units/{unit_id}", headers=finance(community_id)).json
    assert (body["area_m2"], body["status"]) == ("95.00", "occupied")
    assert datetime.fromisoformat(body["updated_at"]) == datetime.fromisoformat(newer["time"].replace("Z", "+00:00"))


# An integrator's key covering `billing` reads its communities' units (docs/integrators.md).
@pytest.mark.parametrize("role", ["admin", "service", "finance", "senior_butler", "cs_manager", "butler", "integrator"])
def test_who_may_see_a_unit(client, billing_settings, unit, role):
    headers = auth_header(billing_settings, role, communities=[unit["community_id"]], zones=[unit["zone_id"]])
    assert client.get(f"/api/v1/billing/units/{unit['unit_id']}", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("role", "scopes"),
    [
        ("finance", {"communities": ["OTHER"]}),
        ("butler", {}),
        ("butler", {"communities": ["OWN"], "zones": ["OTHER"]}),
        ("integrator", {"communities": ["OTHER"]}),
        ("resident", {"units": ["OTHER"]}),
    ],
)
def test_everyone_else_gets_404_problem_json(client, billing_settings, unit, role, scopes):
    resolve = {"OWN": unit["community_id"], "OTHER": str(uuid.uuid4())}
    scopes = {k: [resolve[v] for v in values] for k, values in scopes.items()}
    response = client.get(
        f"/api/v1/billing/units/{unit['unit_id']}", headers=auth_header(billing_settings, role, **scopes)
    )
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 404 and response.json["request_id"]


# An integrator's billing key reads units (test_who_may_see_a_unit); an engineer's work needs no billing data.
@pytest.mark.parametrize("role", ["engineer"])
def test_roles_without_the_need_get_403_problem_json(client, billing_settings, unit, role):
    headers = auth_header(billing_settings, role, communities=[unit["community_id"]])
    response = client.get(f"/api/v1/billing/units/{unit['unit_id']}", headers=headers)
    assert response.status_code == 403 and response.mimetype == "application/problem+json"


def test_a_resident_sees_their_own_unit(client, billing_settings, unit, resident_of):
    stranger = auth_header(billing_settings, "resident", units=[unit["unit_id"]], resident_id=str(uuid.uuid4()))
    assert client.get(f"/api/v1/billing/units/{unit['unit_id']}", headers=stranger).status_code == 404
    resident = resident_of(unit["unit_id"], unit["community_id"])
    assert client.get(f"/api/v1/billing/units/{unit['unit_id']}", headers=resident).json["area_m2"] == "88.50"
    listed = client.get("/api/v1/billing/units", headers=resident).json
    assert [u["unit_id"] for u in listed["items"]] == [unit["unit_id"]]


def test_list_by_community_is_paginated_and_scoped(worker, client, db, publish, unit_event, finance):
    community_id = str(uuid.uuid4())
    unit_ids = [str(uuid.uuid4()) for _ in range(3)]
    publish(*[unit_event(u, community_id, number=f"1-10{i}") for i, u in enumerate(unit_ids)])
    for u in unit_ids:
        projected(db, u)
    headers = finance(community_id)

    first = client.get(
        "/api/v1/billing/units", headers=headers, query_string={"community_id": community_id, "page_size": 2}
    )
    assert first.status_code == 200
    assert first.json["total"] == 3 and [u["number"] for u in first.json["items"]] == ["1-100", "1-101"]
    second = client.get(
        "/api/v1/billing/units", headers=headers, query_string={"community_id": community_id, "page_size": 2, "page": 2}
    )
    assert [u["unit_id"] for u in second.json["items"]] == [unit_ids[2]]

    stranger = finance(str(uuid.uuid4()))
    other = client.get("/api/v1/billing/units", headers=stranger, query_string={"community_id": community_id})
    assert other.json["items"] == [] and other.json["total"] == 0


def test_bad_paging_is_problem_json_naming_the_field(client, billing_settings):
    response = client.get(
        "/api/v1/billing/units", headers=auth_header(billing_settings, "admin"), query_string={"page_size": 0}
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "page_size" in response.json["errors"]


def test_without_a_token_is_401_problem_json(client, unit):
    response = client.get(f"/api/v1/billing/units/{unit['unit_id']}")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


# --- a unit billing has not heard of yet is checked with the real residents service -----------------------------


def _residents_unit(residents_app, billing_settings):
    client = residents_app.test_client()
    admin = auth_header(billing_settings, "admin")
    community = client.post("/api/v1/communities", json={"name": f"小区{uuid.uuid4().hex[:6]}"}, headers=admin).json
    building = client.post(
        "/api/v1/buildings", json={"community_id": community["id"], "name": "2栋"}, headers=admin
    ).json
    response = client.post(
        "/api/v1/units",
        headers=admin,
        json={"building_id": building["id"], "number": "2-301", "floor": 3, "area_m2": "120.75"},
    )
    assert response.status_code == 201, response.json
    return response.json


def test_a_unit_created_a_moment_ago_is_checked_with_residents(client, billing_settings, residents_app, db, finance):
    created = _residents_unit(residents_app, billing_settings)  # no billing worker consumed its unit.created
    response = client.get(f"/api/v1/billing/units/{created['id']}", headers=finance(created["community_id"]))
    assert response.status_code == 200, response.json
    assert (response.json["area_m2"], response.json["floor"], response.json["number"]) == ("120.75", 3, "2-301")
    with db.transaction() as s:
        assert s.get(BillingUnit, created["id"]) is not None  # kept in the projection


def test_a_unit_residents_does_not_know_is_404(client, billing_settings, residents_app):
    response = client.get(f"/api/v1/billing/units/{uuid.uuid4()}", headers=auth_header(billing_settings, "admin"))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_a_residents_unit_outside_the_callers_community_is_404(client, billing_settings, residents_app, finance):
    created = _residents_unit(residents_app, billing_settings)
    response = client.get(f"/api/v1/billing/units/{created['id']}", headers=finance("elsewhere"))
    assert response.status_code == 404


def test_a_run_catching_up_waits_for_the_consumers_batch_instead_of_deadlocking_with_it(db):
    """The consumer's batch holds one new unit (uncommitted) and upserts another next; a run catching up meanwhile
    upserts both in id order. Before, that was a deadlock (one side rolled back); now the catch-up waits for the
    batch's commit and both finish."""
    import threading

    from sqlalchemy import text

    from billing.domain.units import catch_up, upsert_unit

    community_id = str(uuid.uuid4())
    first, second = sorted([str(uuid.uuid4()), str(uuid.uuid4())])  # catch-up takes `first` first
    now = datetime.now(UTC)

    def unit(unit_id):
        return {
            "unit_id": unit_id,
            "community_id": community_id,
            "building_id": "b-1",
            "zone_id": "zone-1",
            "number": "1-101" if unit_id == first else "1-102",
            "floor": 1,
            "unit_type": "residential",
            "area_m2": 90,
            "status": "occupied",
        }

    batch_holds_one, errors, caught_up = threading.Event(), [], []

    def consumer_batch():
        try:
            with db.transaction() as session:
                session.execute(text("SET LOCAL deadlock_timeout = '100ms'"))  # it would be the one to notice
                upsert_unit(session, unit(second), now)
                batch_holds_one.set()
                time_to_catch_up.wait(10)
                upsert_unit(session, unit(first), now)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def run_catching_up():
        try:
            with db.transaction() as session:
                caught_up.append(catch_up(session, community_id, [first, second], lambda: [unit(first), unit(second)]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    time_to_catch_up = threading.Event()
    batch = threading.Thread(target=consumer_batch)
    batch.start()
    assert batch_holds_one.wait(10), errors
    run = threading.Thread(target=run_catching_up)
    run.start()
    run.join(0.5)  # the catch-up is now waiting (before, it held `first` and waited for `second`)
    time_to_catch_up.set()
    batch.join(20)
    run.join(20)
    assert errors == [] and caught_up == [2]
    with db.transaction() as session:
        assert {u.unit_id for u in session.query(BillingUnit).filter_by(community_id=community_id)} == {first, second}
