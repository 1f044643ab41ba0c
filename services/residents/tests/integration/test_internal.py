"""The internal endpoints other services call (role `service` only): contacts of a unit, by phone, recipients."""

import pytest


@pytest.fixture
def household(client, place, register):
    owner = register(place, name="业主王", phone="13800138400")
    tenant = register(place, name="租客李", phone="13800138401", role="tenant")
    client.patch(f"/api/v1/residents/{tenant['id']}", headers=place["staff"], json={"sms_opt_out": True})
    return owner, tenant


def test_unit_contacts_in_clear_for_services_only(client, as_role, place, household):
    owner, tenant = household
    path = f"/api/v1/internal/units/{place['unit_id']}/contacts"
    everyone = client.get(path, headers=as_role("service")).json
    assert everyone["unit_id"] == place["unit_id"] and everyone["community_id"] == place["community_id"]
    by_id = {c["resident_id"]: c for c in everyone["contacts"]}
    assert by_id[owner["id"]] == {
        "resident_id": owner["id"],
        "unit_id": place["unit_id"],
        "name": "业主王",
        "phone": "+8613800138400",
        "role": "owner",
        "locale": "zh-CN",
        "opted_out": False,
    }
    assert by_id[tenant["id"]]["opted_out"] is True
    owners = client.get(f"{path}?roles=owner", headers=as_role("service")).json["contacts"]
    assert [c["resident_id"] for c in owners] == [owner["id"]]
    assert client.get(path).status_code == 401
    for role in ("admin", "senior_butler", "butler", "resident"):
        assert client.get(path, headers=as_role(role, communities=[place["community_id"]])).status_code == 403


def test_residents_by_phone_for_sign_in(client, as_role, place, household):
    owner, _ = household
    found = client.get("/api/v1/internal/residents?phone=+8613800138400", headers=as_role("service")).json
    assert {
        "resident_id": owner["id"],
        "unit_id": place["unit_id"],
        "community_id": place["community_id"],
        "status": "registered",
    } in found["items"]
    bad = client.get("/api/v1/internal/residents?phone=123", headers=as_role("service"))
    assert bad.status_code == 422 and "phone" in bad.json["errors"]
    assert client.get("/api/v1/internal/residents?phone=13800138400", headers=as_role("admin")).status_code == 403


def test_recipients_of_a_community_building_or_zone(client, as_role, place, household, second_zone, register):
    far = register(place, unit_id=second_zone["unit_id"], phone="13800138402")
    service = as_role("service")
    base = f"/api/v1/internal/communities/{place['community_id']}/recipients"
    community = {c["resident_id"] for c in client.get(base, headers=service).json["contacts"]}
    assert community >= {household[0]["id"], household[1]["id"], far["id"]}
    zone = client.get(f"{base}?scope=zone&target_id={second_zone['zone_id']}", headers=service).json["contacts"]
    assert [c["resident_id"] for c in zone] == [far["id"]]
    building = client.get(f"{base}?scope=building&target_id={place['building_id']}", headers=service).json
    assert {c["resident_id"] for c in building["contacts"]} == {household[0]["id"], household[1]["id"]}
    missing = client.get(f"{base}?scope=zone", headers=service)
    assert missing.status_code == 422 and "target_id" in missing.json["errors"]
    assert client.get(base, headers=as_role("cs_manager", communities=[place["community_id"]])).status_code == 403
