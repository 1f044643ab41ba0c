"""Zones and their butlers: zone.updated, and a butler of zone A cannot read or change zone B's households."""

import uuid

from residents.models import Key, Resident, outbox


def test_zone_creation_and_butler_assignment_publish_zone_updated(client, as_role, place, outbox_types):
    zone = client.get(f"/api/v1/zones/{place['zone_id']}", headers=place["manager"]).json
    assert zone["name"] == "A区" and zone["butler_ids"] == []
    changed = client.patch(
        f"/api/v1/zones/{place['zone_id']}", headers=place["manager"], json={"butler_ids": ["u-1", "u-2", "u-1"]}
    )
    assert changed.status_code == 200 and changed.json["butler_ids"] == ["u-1", "u-2"]
    assert (
        client.patch(
            f"/api/v1/zones/{place['zone_id']}", headers=place["manager"], json={"butler_ids": ["u-1", "u-2"]}
        ).status_code
        == 200
    )
    assert outbox_types(f"zone/{place['zone_id']}") == ["zone.updated", "zone.updated"]
    assert (
        client.patch(f"/api/v1/zones/{place['zone_id']}", headers=place["staff"], json={"name": "x"}).status_code == 403
    )
    internal = client.get(f"/api/v1/internal/zones/{place['zone_id']}", headers=as_role("service"))
    assert internal.json == {
        "zone_id": place["zone_id"],
        "community_id": place["community_id"],
        "name": "A区",
        "butler_ids": ["u-1", "u-2"],
    }
    assert client.get(f"/api/v1/internal/zones/{place['zone_id']}", headers=place["manager"]).status_code == 403
    twin = client.post(
        "/api/v1/zones", headers=place["manager"], json={"community_id": place["community_id"], "name": "A区"}
    )
    assert twin.status_code == 409 and "name" in twin.json["errors"]


def test_moving_a_building_to_another_zone_moves_its_units(client, place, second_zone, outbox_types):
    moved = client.patch(
        f"/api/v1/buildings/{place['building_id']}", headers=place["manager"], json={"zone_id": second_zone["zone_id"]}
    )
    assert moved.status_code == 200 and moved.json["zone_id"] == second_zone["zone_id"]
    unit = client.get(f"/api/v1/units/{place['unit_id']}", headers=place["manager"]).json
    assert unit["zone_id"] == second_zone["zone_id"]
    assert outbox_types(f"unit/{place['unit_id']}")[-1] == "unit.updated"
    # The zone-A butler no longer sees it.
    assert client.get(f"/api/v1/units/{place['unit_id']}", headers=place["staff"]).status_code == 404


def test_a_butler_of_zone_a_cannot_read_or_change_zone_b(client, as_role, count, place, second_zone, register):
    b_butler = as_role("butler", communities=[place["community_id"]], zones=[second_zone["zone_id"]])
    b_resident = register(place, unit_id=second_zone["unit_id"], phone="13800138200")
    b_resident_headers = b_butler
    a = place["staff"]
    key = client.post(
        f"/api/v1/units/{second_zone['unit_id']}/keys",
        headers=b_resident_headers,
        json={"label": "大门钥匙", "authorized": [{"resident_id": b_resident["id"]}]},
    )
    assert key.status_code == 201, key.json
    renovation = client.post(
        "/api/v1/renovations",
        headers=b_butler,
        json={
            "unit_id": second_zone["unit_id"],
            "applicant_id": b_resident["id"],
            "contractor": {"name": "好家装饰", "phone": "13900139200"},
            "items": [{"description": "刷墙", "structural": False}],
            "planned_start": "2030-01-02",
            "planned_end": "2030-02-01",
        },
    )
    assert renovation.status_code == 201, renovation.json

    for path in (
        f"/api/v1/residents/{b_resident['id']}",
        f"/api/v1/units/{second_zone['unit_id']}",
        f"/api/v1/units/{second_zone['unit_id']}/keys",
        f"/api/v1/renovations/{renovation.json['id']}",
        f"/api/v1/zones/{second_zone['zone_id']}",
        f"/api/v1/zones/{second_zone['zone_id']}/familiarity",
    ):
        response = client.get(path, headers=a)
        assert response.status_code == 404, path
        assert client.get(path, headers=b_butler).status_code == 200, path
    assert client.get(f"/api/v1/residents?unit_id={second_zone['unit_id']}", headers=a).json["total"] == 0
    assert client.get(f"/api/v1/renovations?unit_id={second_zone['unit_id']}", headers=a).json["total"] == 0
    before = count(Resident), count(Key), count(outbox)
    writes = [
        ("PATCH", f"/api/v1/residents/{b_resident['id']}", {"notes": "x"}, 404),
        (
            "POST",
            f"/api/v1/units/{second_zone['unit_id']}/keys/{key.json['id']}/lend",
            {"borrower": {"resident_id": b_resident["id"]}, "reason": "x", "due_back_at": "2031-01-01T00:00:00+00:00"},
            404,
        ),
        ("POST", f"/api/v1/renovations/{renovation.json['id']}/inspections", {"findings": "x"}, 404),
        (
            "POST",
            "/api/v1/residents",
            {"unit_id": second_zone["unit_id"], "name": "x", "phone": "13800138201", "role": "tenant"},
            422,
        ),
        ("POST", f"/api/v1/units/{second_zone['unit_id']}/move-in", {"resident_id": b_resident["id"]}, 404),
    ]
    for method, path, body, status in writes:
        response = client.open(path, method=method, headers=a, json=body)
        assert response.status_code == status, (path, response.json)
    assert (count(Resident), count(Key), count(outbox)) == before


def test_a_resident_sees_only_their_household(client, as_role, place, second_zone, register):
    mine = register(place, phone="13800138210")
    theirs = register(place, unit_id=second_zone["unit_id"], phone="13800138211")
    me = as_role("resident", units=[place["unit_id"]], resident_id=mine["id"])
    assert client.get(f"/api/v1/residents/{theirs['id']}", headers=me).status_code == 404
    assert client.get(f"/api/v1/units/{second_zone['unit_id']}/keys", headers=me).status_code == 404
    assert {r["id"] for r in client.get("/api/v1/residents", headers=me).json["items"]} == {mine["id"]}
    assert client.get("/api/v1/zones", headers=me).json["total"] == 0
    assert client.get(f"/api/v1/zones/{place['zone_id']}", headers=me).status_code == 404
    unzoned = as_role("butler", communities=[place["community_id"]], zones=[str(uuid.uuid4())])
    assert client.get(f"/api/v1/units?community_id={place['community_id']}", headers=unzoned).json["total"] == 0
