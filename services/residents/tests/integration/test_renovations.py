"""Renovation control: application → review → approval → permit → inspections/violations → acceptance."""

from datetime import UTC, datetime

import pytest

from guanjia.http import HttpUpstream
from guanjia.testing import free_port_block
from residents.models import Inspection, Renovation, Violation, outbox


@pytest.fixture
def owner(client, place, register):
    resident = register(place, name="业主周", phone="13800138500")
    client.post(
        f"/api/v1/units/{place['unit_id']}/move-in", headers=place["staff"], json={"resident_id": resident["id"]}
    )
    return resident


@pytest.fixture
def apply(client, as_role, place, owner):
    def _apply(structural=False):
        me = as_role("resident", units=[place["unit_id"]], resident_id=owner["id"])
        response = client.post(
            "/api/v1/renovations",
            headers=me,
            json={
                "unit_id": place["unit_id"],
                "applicant_id": owner["id"],
                "contractor": {"name": "好家装饰", "phone": "13900139500", "licence": "沪装2026-001"},
                "workers": [{"name": "张师傅", "phone": "13900139501"}],
                "items": [
                    {"description": "厨房改造", "structural": False},
                    {"description": "拆除非承重墙", "structural": structural},
                ],
                "planned_start": "2030-03-01",
                "planned_end": "2030-04-15",
            },
        )
        assert response.status_code == 201, response.json
        return response.json

    return _apply


@pytest.fixture
def engineer(as_role, place):
    return as_role("engineer", communities=[place["community_id"]])


def _approve(client, place, engineer, renovation):
    base = f"/api/v1/renovations/{renovation['id']}"
    reviewed = client.post(f"{base}/review", headers=engineer, json={"passed": True, "notes": "方案可行"})
    assert reviewed.status_code == 200, reviewed.json
    approved = client.post(f"{base}/approve", headers=place["manager"])
    assert approved.status_code == 200, approved.json
    return approved.json


def test_the_whole_renovation_flow(client, clock, place, owner, apply, engineer, outbox_types):
    clock.set(datetime(2030, 2, 20, 3, 0, tzinfo=UTC))
    renovation = apply(structural=True)
    assert renovation["status"] == "submitted" and renovation["structural"] is True and renovation["permit"] is None
    assert renovation["contractor"]["phone"] == "139****9500"
    base = f"/api/v1/renovations/{renovation['id']}"
    # The manager decides only after engineering's review.
    early = client.post(f"{base}/approve", headers=place["manager"])
    assert early.status_code == 409 and early.mimetype == "application/problem+json"
    assert client.post(f"{base}/approve", headers=engineer).status_code == 403

    approved = _approve(client, place, engineer, renovation)
    assert approved["status"] == "approved" and approved["permit"] is None  # the permit is a step of its own
    # This community does not wait for the deposit (the default does: see test_renovation_permit in billing).
    community = f"/api/v1/communities/{place['community_id']}"
    off = client.patch(community, headers=place["manager"], json={"deposit_before_permit": False})
    assert off.status_code == 200 and off.json["deposit_before_permit"] is False
    permitted = client.post(f"{base}/permit", headers=place["manager"], json={})
    assert permitted.status_code == 200, permitted.json
    assert permitted.json["permit"]["working_hours"] == "08:00-12:00,14:00-18:00"
    permit = permitted.json["permit"]
    assert permit["number"].startswith("ZX2030") and permit["valid_to"] == "2030-04-15"
    assert [h["action"] for h in permitted.json["history"]] == ["submitted", "reviewed", "approved", "permit_issued"]
    again = client.post(f"{base}/permit", headers=place["manager"], json={})
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    clock.set(datetime(2030, 3, 2, 3, 0, tzinfo=UTC))
    assert client.get(f"/api/v1/units/{place['unit_id']}", headers=place["staff"]).json["status"] == "renovating"

    clean = client.post(f"{base}/inspections", headers=place["staff"], json={"findings": "现场整洁"})
    assert clean.status_code == 201 and clean.json["violations"] == []
    found = client.post(
        f"{base}/inspections",
        headers=engineer,
        json={
            "findings": "晚间施工",
            "violation": {
                "category": "outside_permitted_hours",
                "severity": "minor",
                "evidence": "21:30 电钻作业，邻居投诉",
                "rectify_by": "2030-03-03T10:00:00+00:00",
            },
        },
    )
    assert found.status_code == 201, found.json
    violation = found.json["violations"][0]
    assert violation["status"] == "open" and violation["referred_to_authorities"] is False

    # Acceptance waits for the violation to be rectified.
    blocked = client.post(f"{base}/acceptance", headers=engineer, json={"passed": True, "notes": "验收"})
    assert blocked.status_code == 409 and "passed" in blocked.json["errors"]
    still = client.post(
        f"{base}/violations/{violation['id']}/reinspection",
        headers=engineer,
        json={"rectified": False, "notes": "未整改"},
    )
    assert still.status_code == 200 and still.json["status"] == "open"
    fixed = client.post(
        f"{base}/violations/{violation['id']}/reinspection",
        headers=engineer,
        json={"rectified": True, "notes": "已整改"},
    )
    assert fixed.status_code == 200 and fixed.json["status"] == "rectified"
    inspections = client.get(f"{base}/inspections", headers=place["staff"]).json
    assert [len(i["violations"]) for i in inspections] == [0, 1]

    failed = client.post(f"{base}/acceptance", headers=engineer, json={"passed": False, "notes": "防水未做"})
    assert failed.status_code == 200 and failed.json["status"] == "approved"
    done = client.post(f"{base}/acceptance", headers=engineer, json={"passed": True, "notes": "合格"})
    assert done.status_code == 200 and done.json["status"] == "completed" and done.json["completed_at"]
    # The household had moved in before: the unit is occupied again.
    assert client.get(f"/api/v1/units/{place['unit_id']}", headers=place["staff"]).json["status"] == "occupied"
    assert outbox_types(f"renovation/{renovation['id']}") == [
        "renovation.approved",
        "renovation.violation",
        "renovation.completed",
    ]


def test_an_inspection_of_a_rejected_renovation_is_refused_and_writes_nothing(client, count, place, apply, engineer):
    renovation = apply()
    base = f"/api/v1/renovations/{renovation['id']}"
    no_reason = client.post(f"{base}/reject", headers=place["manager"], json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["errors"]
    rejected = client.post(f"{base}/reject", headers=place["manager"], json={"reason": "未提供施工图"})
    assert rejected.status_code == 200 and rejected.json["rejection_reason"] == "未提供施工图"
    before = count(Inspection), count(Violation), count(outbox)
    response = client.post(
        f"{base}/inspections",
        headers=engineer,
        json={
            "findings": "x",
            "violation": {
                "category": "debris",
                "severity": "minor",
                "evidence": "x",
                "rectify_by": "2031-01-01T00:00:00+00:00",
            },
        },
    )
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert "status" in response.json["errors"]
    assert (count(Inspection), count(Violation), count(outbox)) == before
    assert client.post(f"{base}/approve", headers=place["manager"]).status_code == 409
    # A new application is possible once the old one is rejected.
    assert apply()["status"] == "submitted"


def test_referral_to_the_authorities_only_for_serious_or_repeated_violations(client, clock, place, apply, engineer):
    clock.set(datetime(2030, 2, 20, 3, 0, tzinfo=UTC))
    renovation = apply()
    _approve(client, place, engineer, renovation)
    clock.set(datetime(2030, 3, 2, 3, 0, tzinfo=UTC))
    path = f"/api/v1/renovations/{renovation['id']}/inspections"

    def violation(severity, refer):
        return {
            "findings": "检查",
            "violation": {
                "category": "fire_safety",
                "severity": severity,
                "evidence": "无灭火器",
                "rectify_by": "2030-03-05T00:00:00+00:00",
                "refer_to_authorities": refer,
            },
        }

    first = client.post(path, headers=engineer, json=violation("minor", True))
    assert first.status_code == 422 and "violation.refer_to_authorities" in first.json["errors"]
    assert client.post(path, headers=engineer, json=violation("minor", False)).status_code == 201
    repeated = client.post(path, headers=engineer, json=violation("minor", True))
    assert repeated.status_code == 201 and repeated.json["violations"][0]["referred_to_authorities"] is True
    late = client.post(
        path,
        headers=engineer,
        json={
            **violation("serious", True),
            "violation": {**violation("serious", True)["violation"], "rectify_by": "2030-03-01T00:00:00+00:00"},
        },
    )
    assert late.status_code == 422 and "violation.rectify_by" in late.json["errors"]

    # The dashboard's counts: the two violations of March 2030 in zone A, none serious, both open; the refused
    # ones wrote nothing. A resident may not read them.
    clock.set(datetime(2030, 4, 10, 3, 0, tzinfo=UTC))
    counts = client.get(
        f"/api/v1/communities/{place['community_id']}/renovation-violations?months=3", headers=place["manager"]
    )
    assert counts.status_code == 200, counts.json
    assert counts.json["months"] == ["2030-02", "2030-03", "2030-04"]
    [zone] = counts.json["items"]
    assert (zone["zone_id"], zone["name"], zone["violations"], zone["serious"], zone["open"]) == (
        place["zone_id"],
        "A区",
        2,
        0,
        2,
    )
    assert zone["by_month"] == {"2030-02": 0, "2030-03": 2, "2030-04": 0}
    later = client.get(
        f"/api/v1/communities/{place['community_id']}/renovation-violations?months=1", headers=engineer
    ).json["items"]
    assert [z["violations"] for z in later] == [0]
    bad = client.get(
        f"/api/v1/communities/{place['community_id']}/renovation-violations?months=0", headers=place["manager"]
    )
    assert bad.status_code == 422 and "months" in bad.json["errors"]


def test_who_may_apply_and_what_is_checked(client, as_role, place, register, owner):
    tenant = register(place, phone="13800138510", role="tenant")
    body = {
        "unit_id": place["unit_id"],
        "applicant_id": tenant["id"],
        "contractor": {"name": "x", "phone": "13900139510"},
        "items": [{"description": "刷墙", "structural": False}],
        "planned_start": "2030-03-01",
        "planned_end": "2030-02-01",
    }
    not_owner = client.post("/api/v1/renovations", headers=place["staff"], json=body)
    assert not_owner.status_code == 422 and "applicant_id" in not_owner.json["errors"]
    backwards = client.post("/api/v1/renovations", headers=place["staff"], json={**body, "applicant_id": owner["id"]})
    assert backwards.status_code == 422 and "planned_end" in backwards.json["errors"]
    no_items = client.post(
        "/api/v1/renovations", headers=place["staff"], json={**body, "applicant_id": owner["id"], "items": []}
    )
    assert no_items.status_code == 422 and "items" in no_items.json["errors"]
    someone_else = as_role("resident", units=[place["unit_id"]], resident_id=tenant["id"])
    assert (
        client.post(
            "/api/v1/renovations",
            headers=someone_else,
            json={**body, "applicant_id": owner["id"], "planned_end": "2030-04-01"},
        ).status_code
        == 422
    )


# --- the permit waits for the deposit billing holds (with the real billing app: billing/tests/…/test_renovation_permit)


def test_no_permit_while_billing_cannot_say_whether_the_deposit_is_paid(
    client, residents_settings, place, apply, engineer, db
):
    """Billing unreachable over HTTP → 503 problem+json; nothing is issued on a guess."""
    from residents.app import create_app

    renovation = apply()
    _approve(client, place, engineer, renovation)
    closed = HttpUpstream("billing", f"http://127.0.0.1:{free_port_block(1)}")  # nothing listens there
    unreachable = create_app(residents_settings, upstreams={"billing": closed}).test_client()
    base = f"/api/v1/renovations/{renovation['id']}"
    response = unreachable.post(f"{base}/permit", headers=place["manager"], json={})
    assert response.status_code == 503 and response.mimetype == "application/problem+json", response.json
    assert "billing" in response.json["detail"]
    with db.transaction() as session:
        stored = session.get(Renovation, renovation["id"])
        assert stored.permit_number is None and stored.permit_issued_at is None
    assert client.get(base, headers=place["manager"]).json["permit"] is None


def test_a_manager_may_waive_the_deposit_with_a_reason_which_the_history_shows(
    client, clock, place, apply, engineer, as_role
):
    clock.set(datetime(2030, 2, 20, 3, 0, tzinfo=UTC))
    renovation = apply()
    base = f"/api/v1/renovations/{renovation['id']}"
    _approve(client, place, engineer, renovation)
    butler = client.post(f"{base}/permit", headers=place["staff"], json={"waive_deposit_reason": "老业主"})
    assert butler.status_code == 403
    short = client.post(f"{base}/permit", headers=place["manager"], json={"waive_deposit_reason": " "})
    assert short.status_code == 422 and "waive_deposit_reason" in short.json["errors"]
    reason = "业主已线下交付押金，财务次日入账"
    waived = client.post(f"{base}/permit", headers=place["manager"], json={"waive_deposit_reason": reason})
    assert waived.status_code == 200, waived.json
    assert waived.json["permit"]["number"].startswith("ZX2030")
    assert waived.json["deposit_waiver"]["reason"] == reason and waived.json["deposit_waiver"]["by"]
    shown = client.get(base, headers=place["staff"]).json["history"]
    assert [h["action"] for h in shown][-2:] == ["deposit_waived", "permit_issued"]
    assert shown[-2]["reason"] == reason and shown[-2]["at"].startswith("2030-02-20") and shown[-2]["by"]


def test_no_permit_before_approval(client, place, apply):
    renovation = apply()
    response = client.post(f"/api/v1/renovations/{renovation['id']}/permit", headers=place["manager"], json={})
    assert response.status_code == 409 and "status" in response.json["errors"]
