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
        "number": "1-101",
        "floor": 1,
        "area_m2": "88.50",
        "status": "vacant",
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
