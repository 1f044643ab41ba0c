"""Residents in full: roles and tags, ID numbers validated and encrypted, masking per role, search, updates."""

import uuid

import pytest
from sqlalchemy import select

from residents.models import Resident, outbox

ID = "11010519491231002X"


def test_id_number_is_stored_encrypted_and_shown_masked_except_to_the_resident(client, db, as_role, place, register):
    response = client.post(
        "/api/v1/residents",
        headers=place["staff"],
        json={
            "unit_id": place["unit_id"],
            "name": "陈静",
            "phone": "13800138001",
            "role": "family",
            "id_number": "110105 19491231 002x",
            "emergency_contact": {"name": "陈大明", "phone": "13900139001"},
            "tags": ["living_alone", "elderly"],
            "notes": "独居，周三上门",
        },
    )
    assert response.status_code == 201, response.json
    created = response.json
    assert created["id_number"] == "1101**********002X"
    assert created["emergency_contact"] == {"name": "陈**", "phone": "139****9001"}
    assert created["tags"] == ["elderly", "living_alone"] and created["role"] == "family"
    with db.transaction() as s:
        row = s.execute(select(Resident).where(Resident.id == created["id"])).scalar_one()
        assert ID not in (row.id_number_enc or "") and row.id_number_hash and len(row.id_number_hash) == 64
    me = as_role("resident", units=[place["unit_id"]], resident_id=created["id"])
    own = client.get(f"/api/v1/residents/{created['id']}", headers=me).json
    assert own["id_number"] == ID and own["phone"] == "+8613800138001"
    assert own["emergency_contact"] == {"name": "陈大明", "phone": "+8613900139001"}
    assert own["notes"] is None  # the staff's working notes are not shown to the resident
    assert client.get(f"/api/v1/residents/{created['id']}", headers=place["staff"]).json["notes"] == "独居，周三上门"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"id_number": "110105194912310021"}, "id_number"),  # wrong check digit
        ({"id_number": "110105194902300026"}, "id_number"),  # 30 February
        ({"role": "landlord"}, "role"),
        ({"tags": ["vip"]}, "tags.0"),
        ({"emergency_contact": {"name": "x", "phone": "1"}}, "emergency_contact.phone"),
    ],
)
def test_bad_resident_input_is_422_naming_the_field_and_writes_nothing(client, count, place, change, field):
    before = (count(Resident), count(outbox))
    body = {"unit_id": place["unit_id"], "name": "刘洋", "phone": "13800138002", "role": "owner", **change}
    response = client.post("/api/v1/residents", headers=place["staff"], json=body)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert (count(Resident), count(outbox)) == before


def test_the_same_phone_twice_in_a_unit_is_409(client, place, register):
    register(place, phone="13800138003")
    again = client.post(
        "/api/v1/residents",
        headers=place["staff"],
        json={"unit_id": place["unit_id"], "name": "重复", "phone": "+86 138 0013 8003", "role": "tenant"},
    )
    assert again.status_code == 409 and "phone" in again.json["errors"]
    other = register(place, phone="13800138004")
    moved = client.patch(f"/api/v1/residents/{other['id']}", headers=place["staff"], json={"phone": "13800138003"})
    assert moved.status_code == 409 and "phone" in moved.json["errors"]


def test_search_by_phone_id_number_name_and_unit_number(client, as_role, place, register):
    wang = register(place, name="王小明", phone="13600136000")
    li = register(place, name="李雷", phone="13600136001")
    client.patch(f"/api/v1/residents/{li['id']}", headers=place["staff"], json={"id_number": ID})

    def search(q):
        found = client.get("/api/v1/residents", headers=place["staff"], query_string={"q": q}).json
        return {r["id"] for r in found["items"]}

    assert search("136 0013 6000") == {wang["id"]}
    assert search("+8613600136001") == {li["id"]}
    assert search(ID) == {li["id"]}
    assert search("1-101") >= {wang["id"], li["id"]}
    assert search("13699999999") == set()
    # Staff see names masked (王**): a name fragment would unmask them letter by letter, so it is refused.
    for fragment in ("小明", "王", "王小", "wang"):
        refused = client.get("/api/v1/residents", headers=place["staff"], query_string={"q": fragment})
        assert refused.status_code == 422 and "q" in refused.json["errors"], fragment
    # Another community's staff find nothing, whatever they search.
    stranger = as_role("cs_manager", communities=[str(uuid.uuid4())])
    assert client.get("/api/v1/residents?q=13600136000", headers=stranger).json["total"] == 0


def test_update_publishes_resident_updated_and_a_no_op_publishes_nothing(client, place, register, outbox_types):
    resident = register(place)
    subject = f"resident/{resident['id']}"
    changed = client.patch(
        f"/api/v1/residents/{resident['id']}",
        headers=place["staff"],
        json={"tags": ["key_customer"], "role": "tenant", "notes": "VIP"},
    )
    assert changed.status_code == 200 and changed.json["tags"] == ["key_customer"] and changed.json["role"] == "tenant"
    same = client.patch(f"/api/v1/residents/{resident['id']}", headers=place["staff"], json={"role": "tenant"})
    assert same.status_code == 200
    assert outbox_types(subject) == ["resident.registered", "resident.updated"]
    tagged = client.get(
        "/api/v1/residents", headers=place["staff"], query_string={"tag": "key_customer", "unit_id": place["unit_id"]}
    ).json
    assert [r["id"] for r in tagged["items"]] == [resident["id"]]


def test_a_resident_may_change_only_their_emergency_contact_and_opt_out(client, as_role, place, register):
    resident = register(place)
    me = as_role("resident", units=[place["unit_id"]], resident_id=resident["id"])
    ok = client.patch(
        f"/api/v1/residents/{resident['id']}",
        headers=me,
        json={"sms_opt_out": True, "emergency_contact": {"name": "老伴", "phone": "13700137009"}},
    )
    assert ok.status_code == 200 and ok.json["sms_opt_out"] is True
    assert client.patch(f"/api/v1/residents/{resident['id']}", headers=me, json={"name": "x"}).status_code == 403
    other = register(place, phone="13700137010")
    assert client.patch(f"/api/v1/residents/{other['id']}", headers=me, json={"sms_opt_out": True}).status_code == 403


def test_personal_data_never_reaches_the_logs(client, caplog, place):
    import logging

    caplog.set_level(logging.DEBUG)
    name, phone = "上官婉儿", "13800138777"
    created = client.post(
        "/api/v1/residents",
        headers=place["staff"],
        json={"unit_id": place["unit_id"], "name": name, "phone": phone, "role": "owner", "id_number": ID},
    )
    assert created.status_code == 201
    client.get("/api/v1/residents", headers=place["staff"], query_string={"q": phone})
    client.get("/api/v1/residents", headers=place["staff"], query_string={"q": ID})
    assert client.get("/api/v1/residents", headers=place["staff"], query_string={"q": name}).status_code == 422
    client.post(
        "/api/v1/residents",
        headers=place["staff"],
        json={"unit_id": place["unit_id"], "name": name, "phone": "1380013877", "role": "owner"},
    )
    assert caplog.records, "the access log should have recorded the requests"
    for record in caplog.records:
        text = record.getMessage() + " " + " ".join(str(v) for v in record.__dict__.values())
        for secret in (name, phone, ID):
            assert secret not in text, f"{secret} logged by {record.name}"


def test_staff_who_must_reach_a_resident_see_the_contact_in_clear_and_it_is_recorded(
    client, as_role, place, register, second_zone
):
    created = client.post(
        "/api/v1/residents",
        headers=place["staff"],
        json={
            "unit_id": place["unit_id"],
            "name": "欧阳修",
            "phone": "13800138888",
            "role": "owner",
            "id_number": ID,
            "emergency_contact": {"name": "欧阳夫人", "phone": "13900139888"},
        },
    ).json
    path = f"/api/v1/residents/{created['id']}/personal-data"
    by_butler = client.get(path, headers={**place["staff"], "X-Request-ID": "req-reveal-1"})
    assert by_butler.status_code == 200
    assert by_butler.json == {
        "resident_id": created["id"],
        "name": "欧阳修",
        "phone": "+8613800138888",
        "emergency_contact": {"name": "欧阳夫人", "phone": "+8613900139888"},
        "id_number": "1101**********002X",
    }
    assert client.get(path, headers=place["manager"]).json["id_number"] == ID
    other_zone = as_role("butler", communities=[place["community_id"]], zones=[second_zone["zone_id"]])
    assert client.get(path, headers=other_zone).status_code == 404
    for role in ("engineer", "finance", "integrator", "service"):
        assert client.get(path, headers=as_role(role, communities=[place["community_id"]])).status_code == 403
    log = client.get(f"/api/v1/residents/{created['id']}/disclosures", headers=place["manager"]).json
    assert [(d["actor_role"], d["fields"]) for d in log] == [
        ("senior_butler", ["name", "phone", "emergency_contact", "id_number"]),
        ("butler", ["name", "phone", "emergency_contact"]),
    ]
    assert log[1]["request_id"] == "req-reveal-1"
    assert client.get(f"/api/v1/residents/{created['id']}/disclosures", headers=place["staff"]).status_code == 403
