"""Residents on real PostgreSQL: registration, masking per role, household scope, move-in, the contact endpoint."""

import uuid

import pytest
from sqlalchemy import func, select

from residents.models import Resident, outbox


def _count(db, table):
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(table)).scalar_one()


def test_registered_resident_is_masked_for_staff_admin_and_services(client, as_role, place, register):
    created = register(place, name="张三丰", phone="138 0013 8000", role="tenant")
    assert created["name"] == "张**" and created["phone"] == "138****8000"
    assert created["role"] == "tenant" and created["status"] == "registered" and created["moved_in_at"] is None
    assert created["unit_id"] == place["unit_id"] and created["community_id"] == place["community_id"]
    for header in (place["staff"], place["manager"], as_role("admin"), as_role("service")):
        seen = client.get(f"/api/v1/residents/{created['id']}", headers=header).json
        assert (seen["name"], seen["phone"]) == ("张**", "138****8000")
    listed = client.get(f"/api/v1/residents?unit_id={place['unit_id']}", headers=place["staff"]).json
    assert [(r["id"], r["name"], r["phone"]) for r in listed["items"]] == [(created["id"], "张**", "138****8000")]


def test_a_resident_sees_themself_unmasked_and_their_household_masked(client, as_role, place, register):
    me = register(place, name="李四", phone="13900139000")
    spouse = register(place, name="王五", phone="+8613700137000")
    mine = as_role("resident", units=[place["unit_id"]], resident_id=me["id"])
    own = client.get(f"/api/v1/residents/{me['id']}", headers=mine).json
    assert (own["name"], own["phone"]) == ("李四", "+8613900139000")
    household = client.get("/api/v1/residents", headers=mine).json
    by_id = {r["id"]: r for r in household["items"]}
    assert set(by_id) == {me["id"], spouse["id"]}
    assert (by_id[spouse["id"]]["name"], by_id[spouse["id"]]["phone"]) == ("王*", "137****7000")


def test_residents_of_another_unit_or_community_are_404(client, as_role, place, register):
    resident = register(place)
    neighbour = as_role("resident", units=[str(uuid.uuid4())], resident_id=str(uuid.uuid4()))
    foreign_staff = as_role("butler", communities=[str(uuid.uuid4())])
    for header in (neighbour, foreign_staff):
        response = client.get(f"/api/v1/residents/{resident['id']}", headers=header)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        listed = client.get(f"/api/v1/residents?unit_id={place['unit_id']}", headers=header).json
        assert listed["total"] == 0


def test_staff_of_another_community_cannot_register_into_it(client, as_role, db, place):
    before = _count(db, Resident)
    response = client.post(
        "/api/v1/residents",
        headers=as_role("butler", communities=[str(uuid.uuid4())]),
        json={"unit_id": place["unit_id"], "name": "赵六", "phone": "13800138000", "role": "owner"},
    )
    assert response.status_code == 422 and "unit_id" in response.json["errors"]
    assert _count(db, Resident) == before
    resident = as_role("resident", units=[place["unit_id"]], resident_id=str(uuid.uuid4()))
    assert (
        client.post(
            "/api/v1/residents",
            headers=resident,
            json={"unit_id": place["unit_id"], "name": "赵六", "phone": "13800138000", "role": "owner"},
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "not a phone"}, "phone"),
        ({"phone": 13800138000}, "phone"),
        ({"unit_id": "no-such-unit"}, "unit_id"),
        ({"role": "landlord"}, "role"),
        ({"name": "   "}, "name"),
        ({"nickname": "小张"}, "nickname"),
        ({"phone": "DROP"}, "phone"),
        ({"unit_id": "DROP"}, "unit_id"),
    ],
)
def test_bad_resident_input_is_422_naming_the_field_and_writes_nothing(client, db, place, change, field):
    body = {"unit_id": place["unit_id"], "name": "钱七", "phone": "13800138000", "role": "owner", **change}
    body = {k: v for k, v in body.items() if v != "DROP"}
    before = (_count(db, Resident), _count(db, outbox))
    response = client.post("/api/v1/residents", headers=place["staff"], json=body)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert (_count(db, Resident), _count(db, outbox)) == before


def test_resident_idempotency_key_replays_the_first_response(client, db, place):
    headers = {**place["staff"], "Idempotency-Key": str(uuid.uuid4())}
    body = {"unit_id": place["unit_id"], "name": "孙八", "phone": "13800138001", "role": "owner"}
    first = client.post("/api/v1/residents", headers=headers, json=body)
    assert first.status_code == 201
    before = (_count(db, Resident), _count(db, outbox))
    again = client.post("/api/v1/residents", headers=headers, json=body)
    assert again.status_code == 201 and again.json == first.json
    assert (_count(db, Resident), _count(db, outbox)) == before
    other = client.post("/api/v1/residents", headers=headers, json={**body, "role": "tenant"})
    assert other.status_code == 422 and "Idempotency-Key" in other.json["errors"]


def test_move_in_occupies_the_unit_and_a_second_household_is_409(client, as_role, db, place, register):
    owner = register(place, role="owner")
    tenant = register(place, name="周九", phone="13600136000", role="tenant")
    path = f"/api/v1/units/{place['unit_id']}/move-in"
    moved = client.post(path, headers=place["staff"], json={"resident_id": owner["id"]})
    assert moved.status_code == 200, moved.json
    assert moved.json["unit"]["status"] == "occupied" and moved.json["unit"]["id"] == place["unit_id"]
    assert moved.json["resident"]["status"] == "moved_in" and moved.json["resident"]["moved_in_at"]
    assert moved.json["resident"]["phone"] == "138****8000"

    # Repeating the same move-in changes nothing and publishes nothing.
    before = _count(db, outbox)
    again = client.post(path, headers=place["staff"], json={"resident_id": owner["id"]})
    assert again.status_code == 200 and again.json["resident"]["moved_in_at"] == moved.json["resident"]["moved_in_at"]
    assert _count(db, outbox) == before

    conflict = client.post(path, headers=place["staff"], json={"resident_id": tenant["id"]})
    assert conflict.status_code == 409
    assert conflict.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/residents/{tenant['id']}", headers=place["staff"]).json["status"] == "registered"
    assert _count(db, outbox) == before


def test_move_in_rules(client, as_role, place, register):
    resident = register(place)
    path = f"/api/v1/units/{place['unit_id']}/move-in"
    other_unit = client.post(
        "/api/v1/units",
        headers=place["manager"],
        json={"building_id": place["building_id"], "number": "5-501", "floor": 5, "area_m2": "66.00"},
    ).json
    wrong_unit = client.post(
        f"/api/v1/units/{other_unit['id']}/move-in", headers=place["staff"], json={"resident_id": resident["id"]}
    )
    assert wrong_unit.status_code == 422 and "resident_id" in wrong_unit.json["errors"]
    for header in (
        as_role("engineer", communities=[place["community_id"]]),
        as_role("resident", units=[place["unit_id"]], resident_id=resident["id"]),
    ):
        assert client.post(path, headers=header, json={"resident_id": resident["id"]}).status_code == 403
    foreign = as_role("butler", communities=[str(uuid.uuid4())])
    assert client.post(path, headers=foreign, json={"resident_id": resident["id"]}).status_code == 404
    missing = client.post(path, headers=place["staff"], json={})
    assert missing.status_code == 422 and "resident_id" in missing.json["errors"]
    assert client.post(path, headers=as_role("admin"), json={"resident_id": resident["id"]}).status_code == 200


def test_contact_endpoint_is_for_services_only(client, as_role, place, register):
    resident = register(place, name="吴十", phone="13500135000")
    path = f"/api/v1/internal/residents/{resident['id']}/contact"
    contact = client.get(path, headers=as_role("service"))
    assert contact.status_code == 200
    assert contact.json == {
        "resident_id": resident["id"],
        "unit_id": place["unit_id"],
        "community_id": place["community_id"],
        "name": "吴十",
        "phone": "+8613500135000",
        "locale": "zh-CN",
    }
    for header in (
        as_role("admin"),
        place["staff"],
        as_role("integrator"),
        as_role("resident", units=[place["unit_id"]], resident_id=resident["id"]),
    ):
        response = client.get(path, headers=header)
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"
    anonymous = client.get(path)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert (
        client.get(f"/api/v1/internal/residents/{uuid.uuid4()}/contact", headers=as_role("service")).status_code == 404
    )


def test_the_contacts_of_several_residents_in_one_call_for_services_only(client, as_role, place, register):
    first = register(place, name="郑一", phone="13500135001")
    second = register(place, name="郑二", phone="13500135002")
    path = "/api/v1/internal/residents/contacts"
    unknown = str(uuid.uuid4())
    body = {"resident_ids": [first["id"], unknown, second["id"], first["id"]]}
    answer = client.post(path, headers=as_role("service"), json=body)
    assert answer.status_code == 200
    # Each known one once, exactly as the one-resident endpoint answers; the unknown id is left out.
    one = client.get(f"/api/v1/internal/residents/{first['id']}/contact", headers=as_role("service")).json
    by_id = {c["resident_id"]: c for c in answer.json["contacts"]}
    assert len(answer.json["contacts"]) == 2 and by_id[first["id"]] == one
    assert by_id[second["id"]]["phone"] == "+8613500135002"
    for header in (as_role("admin"), place["staff"], as_role("integrator")):
        response = client.post(path, headers=header, json=body)
        assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert client.post(path, json=body).status_code == 401
    for bad in ({}, {"resident_ids": []}, {"resident_ids": [unknown] * 501}, {"resident_ids": [""]}):
        refused = client.post(path, headers=as_role("service"), json=bad)
        assert refused.status_code == 422 and any(name.startswith("resident_ids") for name in refused.json["errors"])
