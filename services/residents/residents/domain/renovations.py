"""Renovation control (装修管理): application → engineering review → manager's approval (bills the deposit) →
permit (once the deposit is paid, or waived) → site inspections and violations → final acceptance (验收).
Publishes renovation.approved / .violation / .completed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal, require_role
from guanjia.db import as_utc, new_id
from guanjia.errors import Conflict, Invalid, NotFound, UpstreamUnavailable
from guanjia.money import yuan_text

from .. import events
from ..models import Community, Inspection, Renovation, Resident, Unit, Violation, Zone
from .common import (
    FRONT_DESK,
    INSPECTORS,
    MANAGERS,
    REVIEWERS,
    change_unit_status,
    emit,
    iso,
    load_unit,
    unit_scope,
)
from .structure import community_hours, get_community, visible_zones

VIOLATION_CATEGORIES = (
    "unapproved_structural_change",
    "outside_permitted_hours",
    "debris",
    "fire_safety",
    "noise",
    "other",
)
ACTIVE = ("submitted", "reviewed", "approved")


def _conflict(message: str) -> Conflict:
    return Conflict(message, errors={"status": [message]})


def apply(session: Session, settings, principal: Principal, data: dict, now: datetime) -> Renovation:
    """An owner's application (filed by the owner themself or by the front desk on their behalf)."""
    if principal.role != "resident":
        require_role(principal, *FRONT_DESK)
    unit = load_unit(session, principal, data["unit_id"], field="unit_id", lock=True)
    applicant = session.get(Resident, data["applicant_id"])
    if (
        applicant is None
        or applicant.unit_id != unit.id
        or applicant.role != "owner"
        or applicant.status == "moved_out"
    ):
        raise Invalid("applicant_id", "must be a current owner of this unit")
    if principal.role == "resident" and principal.resident_id != applicant.id:
        raise Invalid("applicant_id", "residents apply in their own name")
    if data["planned_end"] < data["planned_start"]:
        raise Invalid("planned_end", "must not be before planned_start")
    if data["planned_start"] < now.date():
        raise Invalid("planned_start", "must not be in the past")
    pending = select(Renovation.id).where(Renovation.unit_id == unit.id, Renovation.status.in_(ACTIVE))
    if session.execute(pending).first():
        raise Conflict("this unit already has a renovation under way", errors={"unit_id": ["renovation under way"]})
    items = [{"description": i["description"].strip(), "structural": bool(i["structural"])} for i in data["items"]]
    renovation = Renovation(
        id=new_id(),
        unit_id=unit.id,
        community_id=unit.community_id,
        applicant_id=applicant.id,
        contractor=data["contractor"],
        workers=data.get("workers") or [],
        items=items,
        structural=any(i["structural"] for i in items),
        planned_start=data["planned_start"],
        planned_end=data["planned_end"],
        status="submitted",
        created_at=now,
        updated_at=now,
    )
    session.add(renovation)
    session.flush()
    return renovation


def _query(principal: Principal):
    query = select(Renovation).join(Unit, Unit.id == Renovation.unit_id)
    return unit_scope(query, principal)


def list_renovations(principal: Principal, filters: dict):
    query = _query(principal).order_by(Renovation.created_at.desc(), Renovation.id)
    for name in ("community_id", "unit_id", "status"):
        if filters.get(name):
            query = query.where(getattr(Renovation, name) == filters[name])
    if filters.get("zone_id"):
        query = query.where(Unit.zone_id == filters["zone_id"])
    return query


def get(session: Session, principal: Principal, renovation_id: str, lock=False) -> Renovation:
    query = _query(principal).where(Renovation.id == renovation_id)
    if lock:
        query = query.with_for_update(of=Renovation)
    renovation = session.execute(query).scalar_one_or_none()
    if renovation is None:
        raise NotFound(f"renovation {renovation_id} not found")
    return renovation


def review(session: Session, principal: Principal, renovation_id: str, data: dict, now: datetime) -> Renovation:
    """Engineering's opinion on the plan (structural items above all); the manager decides afterwards."""
    require_role(principal, *REVIEWERS)
    renovation = get(session, principal, renovation_id, lock=True)
    if renovation.status not in ("submitted", "reviewed"):
        raise _conflict(f"a {renovation.status} renovation is not reviewed")
    renovation.review_passed = data["passed"]
    renovation.review_notes = data["notes"].strip()
    renovation.reviewed_by = principal.subject
    renovation.reviewed_at = now
    renovation.status = "reviewed"
    renovation.updated_at = now
    session.flush()
    return renovation


def approve(session: Session, settings, principal: Principal, renovation_id: str, now: datetime) -> Renovation:
    """The manager's approval: published as renovation.approved, on which billing bills the deposit; the unit turns
    `renovating`. The permit itself is issued afterwards (issue_permit), when the deposit rule is met."""
    require_role(principal, *MANAGERS)
    renovation = get(session, principal, renovation_id, lock=True)
    if renovation.status != "reviewed":
        raise _conflict(f"a {renovation.status} renovation cannot be approved; engineering reviews it first")
    if not renovation.review_passed:
        raise _conflict("engineering did not pass this plan; reject it or have it reviewed again")
    unit = session.execute(select(Unit).where(Unit.id == renovation.unit_id).with_for_update()).scalar_one()
    renovation.status = "approved"
    renovation.decided_by = principal.subject
    renovation.approved_at = now
    renovation.unit_status_before = unit.status
    renovation.updated_at = now
    session.flush()
    emit(
        session,
        settings,
        events.RENOVATION_APPROVED,
        f"renovation/{renovation.id}",
        renovation.community_id,
        {
            "renovation_id": renovation.id,
            "unit_id": renovation.unit_id,
            "community_id": renovation.community_id,
            "applicant_id": renovation.applicant_id,
            "structural": renovation.structural,
            "planned_start": renovation.planned_start.isoformat(),
            "planned_end": renovation.planned_end.isoformat(),
            "approved_at": iso(now),
        },
    )
    change_unit_status(session, settings, unit, "renovating", "renovation_approved", principal, now)
    return renovation


def issue_permit(
    session: Session,
    principal: Principal,
    renovation_id: str,
    data: dict,
    now: datetime,
    deposit_of: Callable[[str, str], dict | None],
) -> Renovation:
    """The permit (number, the community's working hours). Where the community's rule says so (the default) the
    deposit must be paid first — asked of billing, which owns it; a manager may waive that with a reason, recorded
    on the renovation. `deposit_of(community_id, renovation_id)` raises UpstreamUnavailable when billing cannot
    answer: no permit is issued on a guess."""
    require_role(principal, *MANAGERS)
    renovation = get(session, principal, renovation_id, lock=True)
    if renovation.status != "approved":
        raise _conflict(f"a {renovation.status} renovation gets no permit; it is approved first")
    if renovation.permit_number:
        raise _conflict(f"permit {renovation.permit_number} is already issued")
    community = session.get(Community, renovation.community_id)
    waiver = (data.get("waive_deposit_reason") or "").strip()
    if community.deposit_before_permit and not waiver:
        state = deposit_of(renovation.community_id, renovation.id)
        if state is None:
            raise UpstreamUnavailable("billing does not know this renovation's deposit yet")
        if state["status"] == "not_billed":
            # renovation.approved has not reached billing yet: a moment's wait, not a business refusal.
            raise UpstreamUnavailable("billing has not billed this renovation's deposit yet; retry shortly")
        if state["status"] == "outstanding":
            amount = yuan_text(state.get("outstanding") or "0")
            raise Conflict(
                f"the renovation deposit (bill {state['bill_id']}) is not paid: {amount} outstanding",
                errors={"deposit": [f"{amount} outstanding on bill {state['bill_id']}"]},
                extra={"deposit_bill_id": state["bill_id"], "outstanding": state.get("outstanding")},
            )
    if waiver:
        if not community.deposit_before_permit:
            raise Invalid("waive_deposit_reason", "this community issues permits without waiting for the deposit")
        renovation.deposit_waived_by = principal.subject
        renovation.deposit_waived_at = now
        renovation.deposit_waiver_reason = waiver
    renovation.permit_number = f"ZX{now:%Y%m%d}-{renovation.id[:8].upper()}"
    renovation.permit_hours = community_hours(community)
    renovation.permit_issued_at = now
    renovation.permit_issued_by = principal.subject
    renovation.updated_at = now
    session.flush()
    return renovation


def history(renovation: Renovation) -> list[dict]:
    """What happened to the renovation, oldest first: who did what when (a waiver with its reason)."""
    steps = [
        ("submitted", renovation.created_at, None, None),
        ("reviewed", renovation.reviewed_at, renovation.reviewed_by, None),
        ("approved", renovation.approved_at, renovation.decided_by, None),
        (
            "deposit_waived",
            renovation.deposit_waived_at,
            renovation.deposit_waived_by,
            renovation.deposit_waiver_reason,
        ),
        ("permit_issued", renovation.permit_issued_at, renovation.permit_issued_by, None),
        (renovation.status, renovation.completed_at, None, None),
    ]
    if renovation.status == "rejected":
        steps.append(("rejected", renovation.updated_at, renovation.decided_by, renovation.rejection_reason))
    return [
        {"action": action, "at": iso(at), "by": by, "reason": reason}
        for action, at, by, reason in steps
        if at is not None
    ]


def reject(session: Session, principal: Principal, renovation_id: str, reason: str, now: datetime) -> Renovation:
    require_role(principal, *MANAGERS)
    renovation = get(session, principal, renovation_id, lock=True)
    if renovation.status not in ("submitted", "reviewed"):
        raise _conflict(f"a {renovation.status} renovation cannot be rejected")
    renovation.status = "rejected"
    renovation.rejection_reason = reason.strip()
    renovation.decided_by = principal.subject
    renovation.updated_at = now
    session.flush()
    return renovation


def inspect(
    session: Session, settings, principal: Principal, renovation_id: str, data: dict, now: datetime
) -> tuple[Inspection, Violation | None]:
    """A daily site inspection; a violation found is recorded and published as renovation.violation."""
    require_role(principal, *INSPECTORS)
    renovation = get(session, principal, renovation_id, lock=True)
    if renovation.status != "approved":
        raise _conflict(f"a {renovation.status} renovation has no site to inspect")
    at = as_utc(data.get("inspected_at") or now)
    inspection = Inspection(
        id=new_id(),
        renovation_id=renovation.id,
        inspected_at=at,
        inspector_id=principal.subject,
        findings=data["findings"].strip(),
    )
    session.add(inspection)
    session.flush()
    found = data.get("violation")
    if not found:
        return inspection, None
    if as_utc(found["rectify_by"]) <= at:
        raise Invalid("violation.rectify_by", "must be after the inspection")
    if found.get("refer_to_authorities"):
        earlier = session.execute(
            select(func.count()).select_from(Violation).where(Violation.renovation_id == renovation.id)
        ).scalar_one()
        # Referral is for what the office cannot settle itself: a serious violation or a repeated one.
        if found["severity"] != "serious" and earlier == 0:
            raise Invalid("violation.refer_to_authorities", "only a serious or repeated violation is referred")
    violation = Violation(
        id=new_id(),
        renovation_id=renovation.id,
        inspection_id=inspection.id,
        category=found["category"],
        severity=found["severity"],
        evidence=found["evidence"].strip(),
        rectify_by=found["rectify_by"],
        referred_to_authorities=bool(found.get("refer_to_authorities")),
        status="open",
        occurred_at=at,
    )
    session.add(violation)
    session.flush()
    emit(
        session,
        settings,
        events.RENOVATION_VIOLATION,
        f"renovation/{renovation.id}",
        renovation.community_id,
        {
            "violation_id": violation.id,
            "renovation_id": renovation.id,
            "unit_id": renovation.unit_id,
            "community_id": renovation.community_id,
            "applicant_id": renovation.applicant_id,
            "category": violation.category,
            "severity": violation.severity,
            "rectify_by": iso(violation.rectify_by),
            "referred_to_authorities": violation.referred_to_authorities,
            "occurred_at": iso(at),
        },
    )
    return inspection, violation


def inspections(session: Session, principal: Principal, renovation_id: str) -> list[tuple[Inspection, list]]:
    renovation = get(session, principal, renovation_id)
    found = session.execute(
        select(Inspection).where(Inspection.renovation_id == renovation.id).order_by(Inspection.inspected_at)
    ).scalars()
    violations = violations_of(session, renovation.id)
    return [(i, [v for v in violations if v.inspection_id == i.id]) for i in found]


def violations_of(session: Session, renovation_id: str) -> list[Violation]:
    query = select(Violation).where(Violation.renovation_id == renovation_id).order_by(Violation.occurred_at)
    return list(session.execute(query).scalars())


def reinspect(
    session: Session, principal: Principal, renovation_id: str, violation_id: str, data: dict, now: datetime
) -> Violation:
    """Re-inspection of a violation: rectified closes it; otherwise it stays open with the notes."""
    require_role(principal, *INSPECTORS)
    renovation = get(session, principal, renovation_id, lock=True)
    violation = session.get(Violation, violation_id)
    if violation is None or violation.renovation_id != renovation.id:
        raise NotFound(f"violation {violation_id} not found")
    if violation.status != "open":
        raise _conflict("this violation is already rectified")
    violation.reinspected_at = now
    violation.reinspection_notes = data["notes"].strip()
    if data["rectified"]:
        violation.status = "rectified"
    session.flush()
    return violation


def accept(
    session: Session, settings, principal: Principal, renovation_id: str, data: dict, now: datetime
) -> Renovation:
    """验收. Passed → completed; failed with `close` → closed as failed; failed otherwise → stays open to re-accept.

    renovation.completed is published once, when the renovation ends (passed true or false); the unit's status
    returns to what it was before (occupied if someone moved in meanwhile).
    """
    require_role(principal, *REVIEWERS)
    renovation = get(session, principal, renovation_id, lock=True)
    if renovation.status != "approved":
        raise _conflict(f"a {renovation.status} renovation is not up for acceptance")
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    if data["passed"] and today < renovation.planned_start:
        # Nothing has been built yet: passing it now would close the permit before the work (and its inspections)
        # begin. Ending one that will not go ahead is `passed: false, close: true`, allowed at any time.
        raise Conflict(
            f"the work starts on {renovation.planned_start.isoformat()}; acceptance is possible from that day",
            errors={"planned_start": ["acceptance not before the planned start"]},
        )
    renovation.acceptance_notes = data["notes"].strip()
    renovation.updated_at = now
    if not data["passed"] and not data.get("close"):
        session.flush()
        return renovation
    if data["passed"]:
        still_open = [v for v in violations_of(session, renovation.id) if v.status == "open"]
        if still_open:
            raise Conflict(
                "violations are not rectified yet", errors={"passed": [f"{len(still_open)} open violation(s)"]}
            )
    renovation.status = "completed" if data["passed"] else "failed"
    renovation.completed_at = now
    session.flush()
    emit(
        session,
        settings,
        events.RENOVATION_COMPLETED,
        f"renovation/{renovation.id}",
        renovation.community_id,
        {
            "renovation_id": renovation.id,
            "unit_id": renovation.unit_id,
            "community_id": renovation.community_id,
            "applicant_id": renovation.applicant_id,
            "completed_at": iso(now),
            "passed": bool(data["passed"]),
        },
    )
    unit = session.execute(select(Unit).where(Unit.id == renovation.unit_id).with_for_update()).scalar_one()
    living = session.execute(
        select(Resident.id).where(Resident.unit_id == unit.id, Resident.status == "moved_in")
    ).first()
    before = renovation.unit_status_before or "delivered"
    after = "occupied" if living else ("vacant" if before == "occupied" else before)
    change_unit_status(session, settings, unit, after, "renovation_completed", principal, now)
    return renovation


def violation_counts(session: Session, settings, principal: Principal, community_id: str, months: int, now) -> dict:
    """Renovation violations of the community's last `months` months (local time) per zone and month: how many,
    how many serious, how many still open. A butler sees their zones."""
    require_role(principal, *INSPECTORS, *MANAGERS, *FRONT_DESK)
    get_community(session, principal, community_id)
    tz = ZoneInfo(settings.timezone)
    today = now.astimezone(tz).date()
    first = today.replace(day=1)
    names = []
    for _ in range(months):
        names.insert(0, first.strftime("%Y-%m"))
        first = (first - timedelta(days=1)).replace(day=1)
    since = datetime.combine(date.fromisoformat(f"{names[0]}-01"), time(), tz)
    query = unit_scope(
        select(Unit.zone_id, Violation.occurred_at, Violation.severity, Violation.status)
        .join(Renovation, Renovation.id == Violation.renovation_id)
        .join(Unit, Unit.id == Renovation.unit_id)
        .where(Renovation.community_id == community_id, Violation.occurred_at >= since),
        principal,
    )
    zones = {
        z.id: {"zone_id": z.id, "name": z.name, "violations": 0, "serious": 0, "open": 0, "by_month": {}}
        for z in session.execute(visible_zones(principal).where(Zone.community_id == community_id)).scalars()
    }
    for zone_id, occurred_at, severity, status in session.execute(query):
        row = zones.setdefault(
            zone_id, {"zone_id": zone_id, "name": None, "violations": 0, "serious": 0, "open": 0, "by_month": {}}
        )
        month = as_utc(occurred_at).astimezone(tz).strftime("%Y-%m")
        row["violations"] += 1
        row["serious"] += severity == "serious"
        row["open"] += status == "open"
        row["by_month"][month] = row["by_month"].get(month, 0) + 1
    for row in zones.values():
        row["by_month"] = {name: row["by_month"].get(name, 0) for name in names}
    return {"community_id": community_id, "months": names, "items": list(zones.values())}
