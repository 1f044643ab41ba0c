"""A unit's handover waits while it has open new-building acceptance defects, where the community says so: residents
learns of them from tickets' acceptance.defect_opened / acceptance.defect_closed, in any order, each applied once."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from guanjia.testing import announce, running_worker, wait_until

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def residents_worker(residents_settings):
    with running_worker("residents", residents_settings, {}) as worker:
        yield worker


def _defect(place, unit_id=None, **changes):
    return {
        "defect_id": str(uuid.uuid4()),
        "plan_id": str(uuid.uuid4()),
        "community_id": place["community_id"],
        "building_id": place["building_id"],
        "unit_id": unit_id or place["unit_id"],
        "category": "waterproofing",
        "item": "卫生间、厨房闭水试验无渗漏",
        "responsible_party": "developer",
        "rectify_by": "2026-12-20",
        "status": "open",
        "at": NOW.isoformat(),
        **changes,
    }


def _open_defects(db, unit_id):
    from residents.domain.occupancy import open_defects

    with db.transaction() as s:
        return [d.defect_id for d in open_defects(s, unit_id)]


def _handover(client, place, owner):
    url = f"/api/v1/units/{place['unit_id']}/handover"
    return client.post(url, headers=place["staff"], json={"owner_id": owner["id"]})


def test_handover_is_held_while_defects_are_open(client, place, register, residents_worker, residents_settings, db):
    owner = register(place)
    opened = _defect(place)
    announce(residents_settings, "acceptance.defect_opened", opened, source="tickets", time=NOW)
    wait_until(lambda: _open_defects(db, place["unit_id"]) == [opened["defect_id"]], message="defect projected")

    # The community's setting: off by default, set by a manager.
    assert (
        client.get(f"/api/v1/communities/{place['community_id']}", headers=place["manager"]).json[
            "hold_handover_on_defects"
        ]
        is False
    )
    hold = {"hold_handover_on_defects": True}
    changed = client.patch(f"/api/v1/communities/{place['community_id']}", headers=place["manager"], json=hold)
    assert changed.status_code == 200 and changed.json["hold_handover_on_defects"] is True

    shown = client.get(f"/api/v1/units/{place['unit_id']}", headers=place["staff"]).json
    assert shown["open_acceptance_defects"] == 1
    held = _handover(client, place, owner)
    assert held.status_code == 409, held.json
    assert "防水：卫生间、厨房闭水试验无渗漏" in held.json["detail"]
    assert [d["defect_id"] for d in held.json["open_defects"]] == [opened["defect_id"]]
    assert client.get(f"/api/v1/units/{place['unit_id']}", headers=place["staff"]).json["status"] == "vacant"

    # A duplicate delivery changes nothing; the close (published later) lets the handover through.
    closed = {**opened, "status": "closed"}
    later = NOW + timedelta(days=3)
    announce(residents_settings, "acceptance.defect_closed", closed, source="tickets", time=later)
    wait_until(lambda: _open_defects(db, place["unit_id"]) == [], message="defect closed")
    handed = _handover(client, place, owner)
    assert handed.status_code == 200 and handed.json["status"] == "delivered"


def test_a_close_heard_before_the_opening_stays_closed(place, residents_worker, residents_settings, db):
    defect = _defect(place)
    announce(residents_settings, "acceptance.defect_closed", {**defect, "status": "closed"}, source="tickets")
    wait_until(lambda: _seen(db, defect["defect_id"]), message="close projected")
    announce(residents_settings, "acceptance.defect_opened", defect, source="tickets")
    marker = _defect(place, unit_id=str(uuid.uuid4()))  # a later event on the same queue: the first was handled
    announce(residents_settings, "acceptance.defect_opened", marker, source="tickets")
    wait_until(lambda: _seen(db, marker["defect_id"]), message="marker projected")
    assert _open_defects(db, place["unit_id"]) == []


def test_without_the_setting_open_defects_do_not_hold(
    client, place, register, residents_worker, residents_settings, db
):
    owner = register(place)
    defect = _defect(place)
    announce(residents_settings, "acceptance.defect_opened", defect, source="tickets")
    wait_until(lambda: _open_defects(db, place["unit_id"]) == [defect["defect_id"]], message="defect projected")
    assert _handover(client, place, owner).status_code == 200


def _seen(db, defect_id):
    from residents.models import AcceptanceDefect

    with db.transaction() as s:
        return s.get(AcceptanceDefect, defect_id) is not None
