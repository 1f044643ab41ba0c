"""The residents events reach the real RabbitMQ through the outbox relay, with ids and facts but no personal data."""

import json

import pytest

from guanjia.testing import EventRecorder, running_worker
from residents.events import PUBLISHED


@pytest.fixture(scope="module")
def worker(residents_settings):
    with running_worker("residents", residents_settings) as w:
        yield w


@pytest.fixture
def recorder(residents_settings):
    rec = EventRecorder(residents_settings, "#")
    yield rec
    rec.close()


def _no_personal_data(event, *secrets):
    text = json.dumps(event, ensure_ascii=False)
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked into {event['type']}"


def test_unit_created_is_published_as_the_contract_says(worker, recorder, place):
    event = recorder.wait_for("unit.created", lambda e: e["data"]["unit_id"] == place["unit_id"])
    assert event["data"] == {
        "unit_id": place["unit_id"],
        "community_id": place["community_id"],
        "building_id": place["building_id"],
        "zone_id": place["zone_id"],
        "number": "1-101",
        "floor": 1,
        "unit_type": "residential",
        "area_m2": "88.50",
        "gross_area_m2": "88.50",
        "inner_area_m2": None,
        "status": "vacant",
        # Display facts (not personal data), so other services' screens show 1栋1-101 rather than an id.
        "building_name": "1栋",
        "label": "1栋1-101",
    }
    assert event["subject"] == f"unit/{place['unit_id']}"
    assert event["community"] == place["community_id"]
    assert event["source"] == "/testcity/residents"
    assert PUBLISHED["unit.created"]().validate(event["data"]) == {}


def test_registration_and_move_in_publish_ids_only(worker, recorder, client, place, register):
    name, digits = "欧阳娜娜", "13800138000"
    resident = register(place, name=name, phone=digits)
    moved = client.post(
        f"/api/v1/units/{place['unit_id']}/move-in",
        headers={**place["staff"], "X-Request-ID": "req-mv"},
        json={"resident_id": resident["id"]},
    )
    assert moved.status_code == 200

    registered = recorder.wait_for("resident.registered", lambda e: e["data"]["resident_id"] == resident["id"])
    assert registered["data"] == {
        "resident_id": resident["id"],
        "unit_id": place["unit_id"],
        "community_id": place["community_id"],
        "role": "owner",
        "status": "registered",
    }
    moved_in = recorder.wait_for("resident.moved_in", lambda e: e["data"]["resident_id"] == resident["id"])
    assert moved_in["data"]["moved_in_at"] and moved_in["data"]["unit_id"] == place["unit_id"]
    assert moved_in["correlationid"] == "req-mv"
    updated = recorder.wait_for("unit.updated", lambda e: e["data"]["unit_id"] == place["unit_id"])
    assert updated["data"]["status"] == "occupied" and updated["data"]["area_m2"] == "88.50"

    for event in (registered, moved_in, updated):
        assert event["community"] == place["community_id"]
        assert PUBLISHED[event["type"]]().validate(event["data"]) == {}
        _no_personal_data(event, name, digits, digits[-8:])


def test_occupancy_zone_and_renovation_events_reach_the_bus_as_contracted(
    worker, recorder, client, as_role, place, register
):
    owner = register(place, name="司马光", phone="13800138700")
    staff, manager = place["staff"], place["manager"]
    client.patch(f"/api/v1/zones/{place['zone_id']}", headers=manager, json={"butler_ids": ["u-butler-9"]})
    client.post(f"/api/v1/units/{place['unit_id']}/move-in", headers=staff, json={"resident_id": owner["id"]})
    renovation = client.post(
        "/api/v1/renovations",
        headers=staff,
        json={
            "unit_id": place["unit_id"],
            "applicant_id": owner["id"],
            "contractor": {"name": "某装饰", "phone": "13900139700"},
            "items": [{"description": "改卫生间", "structural": True}],
            "planned_start": "2031-01-01",
            "planned_end": "2031-02-01",
        },
    ).json
    base = f"/api/v1/renovations/{renovation['id']}"
    engineer = as_role("engineer", communities=[place["community_id"]])
    client.post(f"{base}/review", headers=engineer, json={"passed": True, "notes": "ok"})
    client.post(f"{base}/approve", headers=manager)
    client.post(
        f"{base}/inspections",
        headers=staff,
        json={
            "findings": "拆承重墙",
            "violation": {
                "category": "unapproved_structural_change",
                "severity": "serious",
                "evidence": "司马光家拆墙",
                "rectify_by": "2099-01-01T00:00:00+00:00",
                "refer_to_authorities": True,
            },
        },
    )
    client.post(f"{base}/acceptance", headers=engineer, json={"passed": False, "notes": "不合格", "close": True})
    client.post(f"/api/v1/units/{place['unit_id']}/move-out", headers=staff, json={})

    zone = recorder.wait_for(
        "zone.updated", lambda e: e["data"]["butler_ids"] == ["u-butler-9"] and e["data"]["zone_id"] == place["zone_id"]
    )
    assert zone["data"] == {
        "zone_id": place["zone_id"],
        "community_id": place["community_id"],
        "name": "A区",
        "butler_ids": ["u-butler-9"],
    }
    mine = lambda e: e["data"].get("renovation_id") == renovation["id"]  # noqa: E731
    approved = recorder.wait_for("renovation.approved", mine)
    assert approved["data"] == {
        "renovation_id": renovation["id"],
        "unit_id": place["unit_id"],
        "community_id": place["community_id"],
        "applicant_id": owner["id"],
        "structural": True,
        "planned_start": "2031-01-01",
        "planned_end": "2031-02-01",
        "approved_at": approved["data"]["approved_at"],
    }
    violation = recorder.wait_for("renovation.violation", mine)
    assert violation["data"]["category"] == "unapproved_structural_change"
    assert violation["data"]["severity"] == "serious" and violation["data"]["referred_to_authorities"] is True
    assert violation["data"]["rectify_by"] == "2099-01-01T00:00:00+00:00"
    completed = recorder.wait_for("renovation.completed", mine)
    assert completed["data"]["passed"] is False and completed["subject"] == f"renovation/{renovation['id']}"
    moved_out = recorder.wait_for("resident.moved_out", lambda e: e["data"]["resident_id"] == owner["id"])
    assert moved_out["data"]["unit_id"] == place["unit_id"] and moved_out["data"]["moved_out_at"]
    for event in (zone, approved, violation, completed, moved_out):
        assert event["community"] == place["community_id"]
        assert PUBLISHED[event["type"]]().validate(event["data"]) == {}
        _no_personal_data(event, "司马光", "13800138700", "13900139700", "拆承重墙", "某装饰")
