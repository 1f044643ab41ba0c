"""Communities, buildings and units on real PostgreSQL: create, read, scope, permissions, bad input."""

import uuid

import pytest
from sqlalchemy import func, select

from residents.models import Unit, outbox


def _count(db, table):
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(table)).scalar_one()


def test_the_hierarchy_is_created_and_read_back(client, as_role, place):
    unit = client.get(f"/api/v1/units/{place['unit_id']}", headers=place["staff"])
    assert unit.status_code == 200
    assert unit.json == {
        "id": place["unit_id"],
        "community_id": place["community_id"],
        "building_id": place["building_id"],
        "zone_id": place["zone_id"],
        "number": "1-101",
        # Display fields: what a screen shows instead of ids.
        "unit_label": "1栋1-101",
        "building_name": "1栋",
        "zone_name": "A区",
        "floor": 1,
        "unit_type": "residential",
        "area_m2": "88.50",
        "gross_area_m2": "88.50",
        "inner_area_m2": None,
        "status": "vacant",
        "handed_over_at": None,
        "open_acceptance_defects": 0,  # new-building acceptance's open defects (tickets' events)
        "created_at": unit.json["created_at"],
        "updated_at": unit.json["updated_at"],
    }
    assert unit.json["created_at"].endswith("+00:00")

    building = client.get(f"/api/v1/buildings/{place['building_id']}", headers=place["staff"]).json
    assert building["community_id"] == place["community_id"] and building["name"] == "1栋"
    community = client.get(f"/api/v1/communities/{place['community_id']}", headers=place["staff"]).json
    assert community["name"].startswith("翠湖苑")

    listed = client.get(f"/api/v1/units?building_id={place['building_id']}", headers=place["staff"]).json
    assert [u["id"] for u in listed["items"]] == [place["unit_id"]]
    assert listed["total"] == 1 and listed["page"] == 1 and listed["page_size"] == 20
    assert (
        client.get(f"/api/v1/units?community_id={place['community_id']}&status=occupied", headers=place["staff"]).json[
            "total"
        ]
        == 0
    )
    buildings = client.get(f"/api/v1/buildings?community_id={place['community_id']}", headers=place["staff"]).json
    assert [b["id"] for b in buildings["items"]] == [place["building_id"]]


def test_lists_paginate(client, place):
    for number in ("1-102", "1-103"):
        response = client.post(
            "/api/v1/units",
            headers=place["manager"],
            json={"building_id": place["building_id"], "number": number, "floor": 1, "area_m2": "60"},
        )
        assert response.status_code == 201
        assert response.json["area_m2"] == "60.00"
    first = client.get(f"/api/v1/units?building_id={place['building_id']}&page_size=2", headers=place["staff"]).json
    second = client.get(
        f"/api/v1/units?building_id={place['building_id']}&page_size=2&page=2", headers=place["staff"]
    ).json
    assert first["total"] == second["total"] == 3
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert [u["number"] for u in first["items"] + second["items"]] == ["1-101", "1-102", "1-103"]
    too_big = client.get("/api/v1/units?page_size=101", headers=place["staff"])
    assert too_big.status_code == 422 and "page_size" in too_big.json["errors"]


def test_staff_see_only_their_communities(client, as_role, place):
    stranger = as_role("senior_butler", communities=[str(uuid.uuid4())])
    for path in (
        f"/api/v1/communities/{place['community_id']}",
        f"/api/v1/buildings/{place['building_id']}",
        f"/api/v1/units/{place['unit_id']}",
    ):
        response = client.get(path, headers=stranger)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"
    assert client.get("/api/v1/communities", headers=stranger).json["total"] == 0
    assert client.get(f"/api/v1/units?community_id={place['community_id']}", headers=stranger).json["total"] == 0
    mine = client.get("/api/v1/communities", headers=place["staff"]).json
    assert [c["id"] for c in mine["items"]] == [place["community_id"]]
    everything = client.get("/api/v1/communities?page_size=100", headers=as_role("admin")).json
    assert place["community_id"] in [c["id"] for c in everything["items"]]


def test_unit_read_by_service_and_by_its_resident_only(client, as_role, place):
    service = as_role("service")
    assert client.get(f"/api/v1/units/{place['unit_id']}", headers=service).status_code == 200
    registered = client.post(
        "/api/v1/residents",
        headers=place["staff"],
        json={"unit_id": place["unit_id"], "name": "王五", "phone": "13700137000", "role": "owner"},
    )
    assert registered.status_code == 201, registered.json
    own = as_role("resident", units=[place["unit_id"]], resident_id=registered.json["id"])
    assert client.get(f"/api/v1/units/{place['unit_id']}", headers=own).status_code == 200
    # A token naming a unit without a record of its holder in it opens nothing.
    stranger = as_role("resident", units=[place["unit_id"]], resident_id=str(uuid.uuid4()))
    assert client.get(f"/api/v1/units/{place['unit_id']}", headers=stranger).status_code == 404
    assert [u["id"] for u in client.get("/api/v1/units", headers=own).json["items"]] == [place["unit_id"]]
    other = as_role("resident", units=[str(uuid.uuid4())], resident_id=str(uuid.uuid4()))
    assert client.get(f"/api/v1/units/{place['unit_id']}", headers=other).status_code == 404
    assert client.get(f"/api/v1/communities/{place['community_id']}", headers=own).status_code == 404


def test_who_may_shape_a_community(client, as_role, place):
    butler = place["staff"]
    assert client.post("/api/v1/communities", headers=butler, json={"name": "x"}).status_code == 403
    assert (
        client.post(
            "/api/v1/buildings", headers=butler, json={"community_id": place["community_id"], "name": "2栋"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/units",
            headers=butler,
            json={"building_id": place["building_id"], "number": "9-9", "floor": 9, "area_m2": "1.00"},
        ).status_code
        == 403
    )
    cs_manager = as_role("cs_manager", communities=[place["community_id"]])
    assert (
        client.post(
            "/api/v1/buildings", headers=cs_manager, json={"community_id": place["community_id"], "name": "2栋"}
        ).status_code
        == 201
    )
    # A manager of another community cannot tell this one exists.
    foreign = as_role("senior_butler", communities=[str(uuid.uuid4())])
    response = client.post(
        "/api/v1/buildings", headers=foreign, json={"community_id": place["community_id"], "name": "3栋"}
    )
    assert response.status_code == 422 and "community_id" in response.json["errors"]
    assert client.post("/api/v1/communities", json={"name": "x"}).status_code == 401


def test_duplicate_unit_number_in_a_building_is_409(client, db, place):
    before = (_count(db, Unit), _count(db, outbox))
    response = client.post(
        "/api/v1/units",
        headers=place["manager"],
        json={"building_id": place["building_id"], "number": "1-101", "floor": 1, "area_m2": "70.00"},
    )
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "number" in response.json["errors"]
    assert (_count(db, Unit), _count(db, outbox)) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"area_m2": 88.5}, "area_m2"),
        ({"area_m2": 88}, "area_m2"),
        ({"area_m2": "-1.00"}, "area_m2"),
        ({"area_m2": "88.505"}, "area_m2"),
        ({"area_m2": "abc"}, "area_m2"),
        ({"floor": 1.5}, "floor"),
        ({"building_id": "no-such-building"}, "building_id"),
        ({"colour": "red"}, "colour"),
        ({"number": None}, "number"),
        ({"number": "DROP"}, "number"),
    ],
)
def test_bad_unit_input_is_422_naming_the_field_and_writes_nothing(client, db, place, change, field):
    body = {
        "building_id": place["building_id"],
        "number": f"2-{uuid.uuid4().hex[:4]}",
        "floor": 2,
        "area_m2": "75.25",
        **change,
    }
    body = {k: v for k, v in body.items() if v != "DROP"}
    before = (_count(db, Unit), _count(db, outbox))
    response = client.post("/api/v1/units", headers=place["manager"], json=body)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert (_count(db, Unit), _count(db, outbox)) == before


def test_unit_idempotency_key_replays_the_first_response(client, db, place):
    headers = {**place["manager"], "Idempotency-Key": str(uuid.uuid4())}
    body = {"building_id": place["building_id"], "number": "3-301", "floor": 3, "area_m2": "101.10"}
    first = client.post("/api/v1/units", headers=headers, json=body)
    assert first.status_code == 201
    before = (_count(db, Unit), _count(db, outbox))
    again = client.post("/api/v1/units", headers=headers, json=body)
    assert again.status_code == 201 and again.json == first.json
    assert (_count(db, Unit), _count(db, outbox)) == before
    other = client.post("/api/v1/units", headers=headers, json={**body, "number": "3-302"})
    assert other.status_code == 422 and "Idempotency-Key" in other.json["errors"]


def test_unit_facts_are_corrected_but_the_status_only_changes_through_the_flows(client, place, outbox_types):
    created = client.post(
        "/api/v1/units",
        headers=place["manager"],
        json={
            "building_id": place["building_id"],
            "number": "S-01",
            "floor": 1,
            "unit_type": "shop",
            "gross_area_m2": "120.00",
            "inner_area_m2": "98.40",
        },
    )
    assert created.status_code == 201, created.json
    assert (created.json["area_m2"], created.json["gross_area_m2"], created.json["inner_area_m2"]) == (
        "120.00",
        "120.00",
        "98.40",
    )
    assert created.json["unit_type"] == "shop" and created.json["zone_id"] == place["zone_id"]
    path = f"/api/v1/units/{created.json['id']}"
    changed = client.patch(path, headers=place["manager"], json={"gross_area_m2": "121.50", "floor": 2})
    assert changed.status_code == 200 and changed.json["area_m2"] == "121.50" and changed.json["floor"] == 2
    assert client.patch(path, headers=place["manager"], json={"floor": 2}).status_code == 200  # no change
    assert outbox_types(f"unit/{created.json['id']}") == ["unit.created", "unit.updated"]
    too_big = client.patch(path, headers=place["manager"], json={"inner_area_m2": "200.00"})
    assert too_big.status_code == 422 and "inner_area_m2" in too_big.json["errors"]
    status = client.patch(path, headers=place["manager"], json={"status": "occupied"})
    assert status.status_code == 422 and "status" in status.json["errors"]
    assert client.patch(path, headers=place["staff"], json={"floor": 3}).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"gross_area_m2": "90.00", "inner_area_m2": "95.00"}, "inner_area_m2"),
        ({"area_m2": "90.00", "gross_area_m2": "91.00"}, "gross_area_m2"),
        ({}, "area_m2"),
        ({"area_m2": "90.00", "unit_type": "villa"}, "unit_type"),
        ({"area_m2": "90.00", "zone_id": "no-such-zone"}, "zone_id"),
    ],
)
def test_bad_areas_types_and_zones_are_422(client, place, body, field):
    response = client.post(
        "/api/v1/units",
        headers=place["manager"],
        json={"building_id": place["building_id"], "number": f"X-{uuid.uuid4().hex[:4]}", "floor": 1, **body},
    )
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


def test_renovation_hours_are_set_per_community(client, as_role, place):
    path = f"/api/v1/communities/{place['community_id']}"
    assert client.get(path, headers=place["staff"]).json["renovation_hours"] == "08:00-12:00,14:00-18:00"
    changed = client.patch(path, headers=place["manager"], json={"renovation_hours": "09:00-12:00, 14:30-17:30"})
    assert changed.status_code == 200 and changed.json["renovation_hours"] == "09:00-12:00,14:30-17:30"
    bad = client.patch(path, headers=place["manager"], json={"renovation_hours": "18:00-08:00"})
    assert bad.status_code == 422 and "renovation_hours" in bad.json["errors"]
    assert client.patch(path, headers=place["staff"], json={"name": "x"}).status_code == 403
