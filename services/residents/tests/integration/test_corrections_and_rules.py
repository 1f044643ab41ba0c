"""Workflow rules a property company expects: acceptance not before the planned start, no release pass for a past
day, and audited corrections — remove a record registered by mistake, merge a duplicate, note a moved-out record."""

import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_renovations import _approve, apply, engineer, owner  # noqa: E402, F401  (fixtures)


def test_acceptance_is_not_before_the_planned_start(client, clock, place, apply, engineer):  # noqa: F811
    clock.set(datetime(2030, 2, 20, 3, 0, tzinfo=UTC))
    renovation = apply()
    _approve(client, place, engineer, renovation)
    base = f"/api/v1/renovations/{renovation['id']}"
    early = client.post(f"{base}/acceptance", headers=engineer, json={"passed": True, "notes": "验收"})
    assert early.status_code == 409 and "planned_start" in early.json["errors"]
    # 1 March 2030, 00:30 in Shanghai (still 28 February in UTC): the work has started locally.
    clock.set(datetime(2030, 2, 28, 16, 30, tzinfo=UTC))
    done = client.post(f"{base}/acceptance", headers=engineer, json={"passed": True, "notes": "合格"})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "completed"


def test_a_release_pass_is_for_today_or_later(client, clock, place, register):
    resident = register(place, phone="13800138510")
    clock.set(datetime(2030, 5, 10, 2, 0, tzinfo=UTC))  # 10:00 on 10 May in Shanghai
    url = f"/api/v1/units/{place['unit_id']}/passes"
    body = {"resident_id": resident["id"], "carrier_name": "搬家公司", "items": "沙发一套"}
    past = client.post(url, headers=place["staff"], json={**body, "valid_on": "2030-05-09"})
    assert past.status_code == 422 and "valid_on" in past.json["errors"]
    assert client.post(url, headers=place["staff"], json={**body, "valid_on": "2030-05-10"}).status_code == 201


def test_a_record_registered_by_mistake_is_removed_with_an_audit_trail(client, place, register, outbox_types):
    wrong = register(place, name="错录", phone="13800138520")
    butler = client.post(f"/api/v1/residents/{wrong['id']}/removal", headers=place["staff"], json={"reason": "录错"})
    assert butler.status_code == 403
    removed = client.post(
        f"/api/v1/residents/{wrong['id']}/removal", headers=place["manager"], json={"reason": "房号录错"}
    )
    assert removed.status_code == 200, removed.json
    assert (removed.json["action"], removed.json["reason"]) == ("removed", "房号录错")
    assert client.get(f"/api/v1/residents/{wrong['id']}", headers=place["manager"]).status_code == 404
    audit = client.get(f"/api/v1/residents/{wrong['id']}/corrections", headers=place["manager"])
    assert audit.status_code == 200 and [c["action"] for c in audit.json] == ["removed"]
    assert outbox_types(f"resident/{wrong['id']}") == ["resident.registered", "resident.updated"]
    assert (
        client.post(
            f"/api/v1/residents/{wrong['id']}/removal", headers=place["manager"], json={"reason": "再来"}
        ).status_code
        == 404
    )


def test_a_used_or_moved_in_record_is_not_removed_but_a_duplicate_is_merged(client, place, register):
    moved = register(place, name="住户甲", phone="13800138530")
    client.post(f"/api/v1/units/{place['unit_id']}/move-in", headers=place["staff"], json={"resident_id": moved["id"]})
    refused = client.post(f"/api/v1/residents/{moved['id']}/removal", headers=place["manager"], json={"reason": "x"})
    assert refused.status_code == 409 and "status" in refused.json["errors"]

    keep = register(place, name="住户乙", phone="13800138531")
    duplicate = register(place, name="住户乙", phone="13800138532")
    visit = {"kind": "visit", "effective": True, "notes": "上门走访"}
    assert (
        client.post(f"/api/v1/residents/{duplicate['id']}/contacts", headers=place["staff"], json=visit).status_code
        == 201
    )
    used = client.post(f"/api/v1/residents/{duplicate['id']}/removal", headers=place["manager"], json={"reason": "x"})
    assert used.status_code == 409 and "contacts: 1" in used.json["errors"]["resident_id"]

    foreign = client.post(
        f"/api/v1/residents/{duplicate['id']}/merge", headers=place["manager"], json={"into": "nope", "reason": "重复"}
    )
    assert foreign.status_code == 422 and "into" in foreign.json["errors"]
    merged = client.post(
        f"/api/v1/residents/{duplicate['id']}/merge",
        headers=place["manager"],
        json={"into": keep["id"], "reason": "同一人登记两次"},
    )
    assert merged.status_code == 200, merged.json
    assert merged.json["into_resident_id"] == keep["id"]
    assert client.get(f"/api/v1/residents/{duplicate['id']}", headers=place["manager"]).status_code == 404
    contacts = client.get(f"/api/v1/residents/{keep['id']}/contacts", headers=place["manager"]).json
    assert [c["notes"] for c in contacts] == ["上门走访"]
    audit = client.get(f"/api/v1/residents/{keep['id']}/corrections", headers=place["manager"]).json
    assert [(c["action"], c["resident_id"]) for c in audit] == [("merged", duplicate["id"])]


def test_a_moved_out_record_takes_a_note_and_nothing_else(client, place, register):
    resident = register(place, name="老住户", phone="13800138540")
    unit = f"/api/v1/units/{place['unit_id']}"
    client.post(f"{unit}/move-in", headers=place["staff"], json={"resident_id": resident["id"]})
    left = client.post(f"{unit}/move-out", headers=place["staff"], json={"resident_ids": [resident["id"]]})
    assert left.status_code == 200, left.json
    patch = client.patch(f"/api/v1/residents/{resident['id']}", headers=place["staff"], json={"name": "改名"})
    assert patch.status_code == 409
    noted = client.post(
        f"/api/v1/residents/{resident['id']}/notes", headers=place["staff"], json={"note": "迁出后押金已退还"}
    )
    assert noted.status_code == 200, noted.json
    assert noted.json["status"] == "moved_out" and noted.json["notes"].endswith("迁出后押金已退还")
    audit = client.get(f"/api/v1/residents/{resident['id']}/corrections", headers=place["manager"]).json
    assert [c["action"] for c in audit] == ["noted"]
