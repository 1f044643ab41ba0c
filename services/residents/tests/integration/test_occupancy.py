"""Handover → move-in → move-out on real PostgreSQL: each status change recorded and published, bad moves refused."""

from datetime import UTC, date, datetime, timedelta

from residents.models import Resident, UnitStatusChange, outbox


def _status(client, place):
    return client.get(f"/api/v1/units/{place['unit_id']}", headers=place["staff"]).json["status"]


def test_the_full_occupancy_cycle_is_recorded(client, place, register, outbox_types):
    owner = register(place, name="业主甲", phone="13800138100")
    spouse = register(place, name="家属乙", phone="13800138101", role="family")
    handed = client.post(
        f"/api/v1/units/{place['unit_id']}/handover", headers=place["staff"], json={"owner_id": owner["id"]}
    )
    assert handed.status_code == 200, handed.json
    assert handed.json["status"] == "delivered" and handed.json["handed_over_at"]

    moved = client.post(
        f"/api/v1/units/{place['unit_id']}/move-in",
        headers=place["staff"],
        json={"resident_id": owner["id"], "with_resident_ids": [spouse["id"]]},
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["unit"]["status"] == "occupied"
    assert {r["status"] for r in moved.json["residents"]} == {"moved_in"}

    out = client.post(f"/api/v1/units/{place['unit_id']}/move-out", headers=place["staff"], json={})
    assert out.status_code == 200, out.json
    assert out.json["unit"]["status"] == "vacant"
    assert sorted(r["id"] for r in out.json["residents"]) == sorted([owner["id"], spouse["id"]])
    assert all(r["status"] == "moved_out" and r["moved_out_at"] for r in out.json["residents"])

    history = client.get(f"/api/v1/units/{place['unit_id']}/status-history", headers=place["staff"]).json["items"]
    assert [(h["from_status"], h["to_status"], h["reason"]) for h in history] == [
        ("vacant", "delivered", "handover"),
        ("delivered", "occupied", "move_in"),
        ("occupied", "vacant", "move_out"),
    ]
    assert outbox_types(f"unit/{place['unit_id']}") == ["unit.created", "unit.updated", "unit.updated", "unit.updated"]
    assert outbox_types(f"resident/{owner['id']}") == [
        "resident.registered",
        "resident.moved_in",
        "resident.moved_out",
    ]


def test_move_in_to_an_occupied_unit_is_409_and_changes_nothing(client, count, place, register):
    first = register(place, phone="13800138110")
    second = register(place, phone="13800138111", role="tenant")
    assert (
        client.post(
            f"/api/v1/units/{place['unit_id']}/move-in", headers=place["staff"], json={"resident_id": first["id"]}
        ).status_code
        == 200
    )
    before = (count(outbox), count(UnitStatusChange))
    again = client.post(
        f"/api/v1/units/{place['unit_id']}/move-in", headers=place["staff"], json={"resident_id": second["id"]}
    )
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert "resident_id" in again.json["errors"]
    assert (count(outbox), count(UnitStatusChange)) == before
    assert client.get(f"/api/v1/residents/{second['id']}", headers=place["staff"]).json["status"] == "registered"
    # The same resident again is a harmless repeat.
    repeat = client.post(
        f"/api/v1/units/{place['unit_id']}/move-in", headers=place["staff"], json={"resident_id": first["id"]}
    )
    assert repeat.status_code == 200 and count(outbox) == before[0]


def test_refused_moves(client, count, place, register):
    owner = register(place, phone="13800138120")
    tenant = register(place, phone="13800138121", role="tenant")
    before = count(Resident), count(outbox)
    nobody = client.post(f"/api/v1/units/{place['unit_id']}/move-out", headers=place["staff"], json={})
    assert nobody.status_code == 409
    not_owner = client.post(
        f"/api/v1/units/{place['unit_id']}/handover", headers=place["staff"], json={"owner_id": tenant["id"]}
    )
    assert not_owner.status_code == 422 and "owner_id" in not_owner.json["errors"]
    stranger = client.post(
        f"/api/v1/units/{place['unit_id']}/move-in", headers=place["staff"], json={"resident_id": "nobody"}
    )
    assert stranger.status_code == 422 and "resident_id" in stranger.json["errors"]
    assert (count(Resident), count(outbox)) == before
    client.post(f"/api/v1/units/{place['unit_id']}/move-in", headers=place["staff"], json={"resident_id": owner["id"]})
    late = client.post(
        f"/api/v1/units/{place['unit_id']}/handover", headers=place["staff"], json={"owner_id": owner["id"]}
    )
    assert late.status_code == 409 and _status(client, place) == "occupied"


def test_moving_appointments_and_release_passes(client, as_role, clock, place, register):
    clock.set(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    owner = register(place, phone="13800138130")
    booked = client.post(
        f"/api/v1/units/{place['unit_id']}/moving-appointments",
        headers=place["staff"],
        json={"resident_id": owner["id"], "kind": "move_out", "scheduled_at": "2026-11-28T01:00:00+00:00"},
    )
    assert booked.status_code == 201, booked.json
    listed = client.get(f"/api/v1/units/{place['unit_id']}/moving-appointments", headers=place["staff"]).json
    assert [a["id"] for a in listed] == [booked.json["id"]]
    past = client.post(
        f"/api/v1/units/{place['unit_id']}/moving-appointments",
        headers=place["staff"],
        json={"resident_id": owner["id"], "kind": "move_in", "scheduled_at": "2026-11-01T01:00:00+00:00"},
    )
    assert past.status_code == 422 and "scheduled_at" in past.json["errors"]

    me = as_role("resident", units=[place["unit_id"]], resident_id=owner["id"])
    release = client.post(
        f"/api/v1/units/{place['unit_id']}/passes",
        headers=me,
        json={"resident_id": owner["id"], "carrier_name": "顺丰搬家", "items": "沙发一张", "valid_on": "2026-11-28"},
    )
    assert release.status_code == 201, release.json
    use = f"/api/v1/units/{place['unit_id']}/passes/{release.json['id']}/use"
    assert client.post(use, headers=place["staff"]).status_code == 409  # not today
    clock.set(datetime(2026, 11, 28, 3, 0, tzinfo=UTC))
    used = client.post(use, headers=place["staff"])
    assert used.status_code == 200 and used.json["status"] == "used"
    assert client.post(use, headers=place["staff"]).status_code == 409  # only once
    assert date.fromisoformat(used.json["valid_on"]) == date(2026, 11, 28)
    assert timedelta(0) <= datetime.fromisoformat(used.json["used_at"]) - clock.now < timedelta(seconds=1)


def test_a_butler_lists_a_days_moving_appointments_of_their_zones_in_one_call(
    client, clock, place, second_zone, register
):
    clock.set(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    owner = register(place, phone="13800138140")
    other = register({**place, "unit_id": second_zone["unit_id"], "staff": place["manager"]}, phone="13800138141")
    for unit_id, resident, at in [
        (place["unit_id"], owner, "2026-11-28T01:00:00+00:00"),
        (place["unit_id"], owner, "2026-11-29T01:00:00+00:00"),  # another day
        (second_zone["unit_id"], other, "2026-11-28T02:00:00+00:00"),  # another zone
    ]:
        booked = client.post(
            f"/api/v1/units/{unit_id}/moving-appointments",
            headers=place["manager"],
            json={"resident_id": resident["id"], "kind": "move_in", "scheduled_at": at},
        )
        assert booked.status_code == 201, booked.json
    day = {"start": "2026-11-27T16:00:00+00:00", "end": "2026-11-28T16:00:00+00:00"}
    mine = client.get("/api/v1/units/moving-appointments", query_string=day, headers=place["staff"])
    assert mine.status_code == 200, mine.json
    assert [(a["unit_number"], a["scheduled_at"]) for a in mine.json] == [("1-101", "2026-11-28T01:00:00+00:00")]
    everyone = client.get("/api/v1/units/moving-appointments", query_string=day, headers=place["manager"]).json
    assert sorted(a["unit_number"] for a in everyone) == ["1-101", "9-901"]
    missing = client.get(
        "/api/v1/units/moving-appointments", query_string={"start": day["start"]}, headers=place["staff"]
    )
    assert missing.status_code == 422 and "end" in missing.json["errors"]
