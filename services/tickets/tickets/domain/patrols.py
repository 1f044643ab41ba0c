"""Patrols (巡查): plans with checkpoints, rounds, findings that become tickets, and zone coverage."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanjia import outbox as outboxmod
from guanjia.auth import Principal
from guanjia.db import as_utc, insert_if_absent, new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound

from .. import events
from ..models import Checkpoint, CheckpointScan, Finding, PatrolPlan, PatrolRound, Zone, ZoneOverdue, outbox
from . import attachments, people
from .community import community_config
from .tickets import open_ticket

FREQUENCIES = {"daily": 1, "weekly": 7}
FINDING_KINDS = ("safety", "engineering", "environment")
SEVERITIES = ("minor", "major", "critical")
# A finding that needs work: which department does it, and how urgent it is.
KIND_DEPARTMENT = {"safety": "security", "engineering": "engineering", "environment": "cleaning"}
SEVERITY_PRIORITY = {"minor": "normal", "major": "high", "critical": "emergency"}
PLANNERS = ("admin", "senior_butler", "cs_manager", "butler")


def _zone_visible(principal: Principal, community_id: str, zone_id: str) -> bool:
    return principal.sees_zone(community_id, zone_id)


def create_plan(session: Session, principal: Principal, data: dict, now: datetime, directory=None) -> PatrolPlan:
    if principal.role not in PLANNERS:
        raise Forbidden(f"role {principal.role} may not plan patrols")
    zone = session.get(Zone, data["zone_id"])
    if zone is not None and data.get("community_id") and data["community_id"] != zone.community_id:
        raise Invalid("community_id", "not the zone's community")
    community_id = zone.community_id if zone is not None else data.get("community_id")
    if not community_id:
        raise Invalid("zone_id", "no such zone (give community_id for a zone not announced yet)")
    if not _zone_visible(principal, community_id, data["zone_id"]):
        raise Invalid("zone_id", "no such zone")
    frequency = data["frequency"]
    if frequency == "every_n_days":
        if not data.get("every_days"):
            raise Invalid("every_days", "required when frequency is every_n_days")
        every_days = data["every_days"]
    else:
        every_days = FREQUENCIES[frequency]
    # Staff named in the body are accounts of this community (another community's guard is refused, not stored).
    for staff_id in data.get("staff_ids") or []:
        people.check_assignee(directory or people.People(), staff_id, community_id, field="staff_ids")
    codes = [c["code"] for c in data["checkpoints"]]
    if len(set(codes)) != len(codes):
        raise Invalid("checkpoints", "checkpoint codes must be unique within a plan")
    plan = PatrolPlan(
        id=new_id(),
        community_id=community_id,
        zone_id=data["zone_id"],
        name=data["name"],
        frequency=frequency,
        every_days=every_days,
        staff_ids=json.dumps(data.get("staff_ids") or []),
        created_by=principal.subject,
        created_at=now,
    )
    session.add(plan)
    for position, checkpoint in enumerate(data["checkpoints"]):
        session.add(
            Checkpoint(
                id=new_id(), plan_id=plan.id, code=checkpoint["code"], name=checkpoint["name"], position=position
            )
        )
    session.flush()
    return plan


def plan_out(session: Session, plan: PatrolPlan) -> dict:
    checkpoints = session.execute(
        select(Checkpoint).where(Checkpoint.plan_id == plan.id).order_by(Checkpoint.position)
    ).scalars()
    return {
        "id": plan.id,
        "community_id": plan.community_id,
        "zone_id": plan.zone_id,
        "name": plan.name,
        "frequency": plan.frequency,
        "every_days": plan.every_days,
        "staff_ids": json.loads(plan.staff_ids),
        "checkpoints": [{"id": c.id, "code": c.code, "name": c.name} for c in checkpoints],
        "created_at": plan.created_at,
    }


def visible_plans(session: Session, principal: Principal, community_id: str | None, zone_id: str | None):
    query = select(PatrolPlan).order_by(PatrolPlan.created_at)
    if community_id:
        query = query.where(PatrolPlan.community_id == community_id)
    if zone_id:
        query = query.where(PatrolPlan.zone_id == zone_id)
    plans = session.execute(query).scalars()
    return [p for p in plans if _sees_plan(principal, p)]


def _sees_plan(principal: Principal, plan: PatrolPlan) -> bool:
    if principal.role == "engineer":
        return principal.sees_community(plan.community_id) and principal.subject in json.loads(plan.staff_ids)
    return principal.role not in ("resident", "finance", "integrator") and (
        principal.sees_zone(plan.community_id, plan.zone_id) or principal.subject in json.loads(plan.staff_ids)
    )


def get_plan(session: Session, principal: Principal, plan_id: str) -> PatrolPlan:
    plan = session.get(PatrolPlan, plan_id)
    if plan is None or not _sees_plan(principal, plan):
        raise NotFound(f"patrol plan {plan_id} not found")
    return plan


def start_round(session: Session, principal: Principal, plan_id: str, now: datetime) -> PatrolRound:
    plan = get_plan(session, principal, plan_id)
    round_ = PatrolRound(
        id=new_id(),
        plan_id=plan.id,
        community_id=plan.community_id,
        zone_id=plan.zone_id,
        started_by=principal.subject,
        started_at=now,
        status="in_progress",
    )
    session.add(round_)
    session.flush()
    return round_


def visible_rounds(session: Session, principal: Principal, filters: dict, since: datetime) -> list[PatrolRound]:
    """Rounds started since `since`, newest first, by community, zone, plan and status; only those the caller sees."""
    query = select(PatrolRound).where(PatrolRound.started_at >= since)
    query = query.order_by(PatrolRound.started_at.desc(), PatrolRound.id)
    for name in ("community_id", "zone_id", "plan_id", "status"):
        if filters.get(name):
            query = query.where(getattr(PatrolRound, name) == filters[name])
    if not principal.instance_wide:
        query = query.where(PatrolRound.community_id.in_(principal.communities or [""]))
    plans: dict[str, PatrolPlan | None] = {}
    found = []
    for round_ in session.execute(query).scalars():
        if round_.plan_id not in plans:
            plans[round_.plan_id] = session.get(PatrolPlan, round_.plan_id)
        plan = plans[round_.plan_id]
        if round_.started_by == principal.subject or (plan is not None and _sees_plan(principal, plan)):
            found.append(round_)
    return found


def _round(session: Session, principal: Principal, round_id: str, *, lock=False) -> PatrolRound:
    query = select(PatrolRound).where(PatrolRound.id == round_id)
    round_ = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if round_ is None:
        raise NotFound(f"patrol round {round_id} not found")
    plan = session.get(PatrolPlan, round_.plan_id)
    if not (_sees_plan(principal, plan) or round_.started_by == principal.subject):
        raise NotFound(f"patrol round {round_id} not found")
    return round_


def finding_of(session: Session, principal: Principal, round_id: str, finding_id: str) -> Finding:
    """A finding of a round the caller sees (another round's, or a missing one, is 404)."""
    _round(session, principal, round_id)
    finding = session.get(Finding, finding_id)
    if finding is None or finding.round_id != round_id:
        raise NotFound(f"finding {finding_id} not found")
    return finding


def _in_progress(round_: PatrolRound) -> None:
    if round_.status != "in_progress":
        raise Conflict(f"the round is {round_.status}", extra={"current_status": round_.status, "allowed_actions": []})


def scan(session: Session, principal: Principal, round_id: str, code: str, now: datetime) -> CheckpointScan:
    round_ = _round(session, principal, round_id, lock=True)
    _in_progress(round_)
    checkpoint = session.execute(
        select(Checkpoint).where(Checkpoint.plan_id == round_.plan_id, Checkpoint.code == code)
    ).scalar_one_or_none()
    if checkpoint is None:
        raise Invalid("code", "not a checkpoint of this round's plan")
    existing = session.execute(
        select(CheckpointScan).where(CheckpointScan.round_id == round_id, CheckpointScan.checkpoint_id == checkpoint.id)
    ).scalar_one_or_none()
    if existing is not None:
        return existing  # scanning twice is harmless
    scan_ = CheckpointScan(
        id=new_id(), round_id=round_id, checkpoint_id=checkpoint.id, scanned_by=principal.subject, scanned_at=now
    )
    session.add(scan_)  # the round is locked: no concurrent scan of the same checkpoint
    session.flush()
    return scan_


def record_finding(session: Session, settings, principal: Principal, round_id: str, data: dict, now: datetime):
    """A finding; one that needs work opens a ticket in the round's zone, linked to the round."""
    round_ = _round(session, principal, round_id, lock=True)
    _in_progress(round_)
    checkpoint_id = None
    if data.get("checkpoint_code"):
        checkpoint = session.execute(
            select(Checkpoint).where(Checkpoint.plan_id == round_.plan_id, Checkpoint.code == data["checkpoint_code"])
        ).scalar_one_or_none()
        if checkpoint is None:
            raise Invalid("checkpoint_code", "not a checkpoint of this round's plan")
        checkpoint_id = checkpoint.id
    finding = Finding(
        id=new_id(),
        round_id=round_id,
        checkpoint_id=checkpoint_id,
        kind=data["kind"],
        severity=data["severity"],
        description=data["description"],
        needs_work=data["needs_work"],
        recorded_by=principal.subject,
        recorded_at=now,
    )
    if finding.needs_work:
        ticket = open_ticket(
            session,
            settings,
            actor=principal.subject,
            now=now,
            default_department=KIND_DEPARTMENT[finding.kind],
            community_id=round_.community_id,
            zone_id=round_.zone_id,
            unit_id=None,
            location="public_area",
            category="repair",
            subcategory=f"patrol_{finding.kind}",
            priority=SEVERITY_PRIORITY[finding.severity],
            channel="patrol",
            description=finding.description,
            reporter_id=None,
            round_id=round_id,
        )
        finding.ticket_id = ticket.id
    session.add(finding)
    session.flush()
    return finding


def complete_round(session: Session, settings, principal: Principal, round_id: str, now: datetime) -> dict:
    round_ = _round(session, principal, round_id, lock=True)
    _in_progress(round_)
    round_.status = "completed"
    round_.completed_at = now
    findings = session.execute(select(Finding).where(Finding.round_id == round_id)).scalars().all()
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=events.PATROL_COMPLETED,
        subject=f"patrol_round/{round_.id}",
        community=round_.community_id,
        data=events.PatrolCompletedV1().dump(
            {
                "round_id": round_.id,
                "plan_id": round_.plan_id,
                "zone_id": round_.zone_id,
                "community_id": round_.community_id,
                "completed_at": now.isoformat(),
                "findings": len(findings),
                "tickets_opened": sum(1 for f in findings if f.ticket_id),
            }
        ),
        time=now,
    )
    return round_out(session, round_)


def round_out(session: Session, round_: PatrolRound) -> dict:
    checkpoints = session.execute(
        select(Checkpoint).where(Checkpoint.plan_id == round_.plan_id).order_by(Checkpoint.position)
    ).scalars()
    scanned = {
        s.checkpoint_id: s
        for s in session.execute(select(CheckpointScan).where(CheckpointScan.round_id == round_.id)).scalars()
    }
    findings = list(
        session.execute(select(Finding).where(Finding.round_id == round_.id).order_by(Finding.recorded_at)).scalars()
    )
    photos: dict[str, list] = {}
    for photo in attachments.photos_of(session, "finding", [f.id for f in findings]) if findings else []:
        photos.setdefault(photo.subject_id, []).append(photo)
    return {
        "id": round_.id,
        "plan_id": round_.plan_id,
        "community_id": round_.community_id,
        "zone_id": round_.zone_id,
        "status": round_.status,
        "started_by": round_.started_by,
        "started_at": round_.started_at,
        "completed_at": round_.completed_at,
        "checkpoints": [
            {
                "code": c.code,
                "name": c.name,
                "scanned_at": scanned[c.id].scanned_at if c.id in scanned else None,
            }
            for c in checkpoints
        ],
        "findings": [
            {
                "id": f.id,
                "kind": f.kind,
                "severity": f.severity,
                "description": f.description,
                "needs_work": f.needs_work,
                "ticket_id": f.ticket_id,
                "recorded_at": f.recorded_at,
                "photos": photos.get(f.id, []),
            }
            for f in findings
        ],
    } | _missed(session, round_, scanned)


def _missed(session, round_, scanned) -> dict:
    codes = session.execute(
        select(Checkpoint.code, Checkpoint.id).where(Checkpoint.plan_id == round_.plan_id).order_by(Checkpoint.position)
    ).all()
    return {"missed_checkpoints": [code for code, cid in codes if cid not in scanned]}


def get_round(session: Session, principal: Principal, round_id: str) -> dict:
    return round_out(session, _round(session, principal, round_id))


# ---------------------------------------------------------------- coverage


def _zones(session: Session, community_id: str | None = None) -> dict[str, dict]:
    """Every zone tickets knows: from zone.updated, plus zones that only have a plan so far."""
    zones: dict[str, dict] = {}
    query = select(Zone)
    if community_id:
        query = query.where(Zone.community_id == community_id)
    for zone in session.execute(query).scalars():
        zones[zone.id] = {"community_id": zone.community_id, "name": zone.name, "since": as_utc(zone.first_seen_at)}
    plans = select(PatrolPlan.zone_id, PatrolPlan.community_id, func.min(PatrolPlan.created_at)).group_by(
        PatrolPlan.zone_id, PatrolPlan.community_id
    )
    if community_id:
        plans = plans.where(PatrolPlan.community_id == community_id)
    for zone_id, cid, first_plan in session.execute(plans):
        zones.setdefault(zone_id, {"community_id": cid, "name": None, "since": as_utc(first_plan)})
    return zones


def _rounds_by_zone(session: Session, zone_ids, since: datetime | None = None) -> dict[str, list[datetime]]:
    query = select(PatrolRound.zone_id, PatrolRound.completed_at).where(
        PatrolRound.status == "completed", PatrolRound.zone_id.in_(list(zone_ids))
    )
    if since is not None:
        query = query.where(PatrolRound.completed_at >= since)
    found: dict[str, list[datetime]] = {}
    for zone_id, completed_at in session.execute(query.order_by(PatrolRound.completed_at)):
        found.setdefault(zone_id, []).append(as_utc(completed_at))
    return found


def _last_rounds(session: Session, zone_ids) -> dict[str, datetime]:
    query = (
        select(PatrolRound.zone_id, func.max(PatrolRound.completed_at))
        .where(PatrolRound.status == "completed", PatrolRound.zone_id.in_(list(zone_ids)))
        .group_by(PatrolRound.zone_id)
    )
    return {zone_id: as_utc(last) for zone_id, last in session.execute(query)}


def check_coverage(session: Session, settings, now: datetime) -> int:
    """Publish patrol.zone_overdue once per gap for every zone not patrolled within its community's N days."""
    zones = _zones(session)
    last = _last_rounds(session, zones)
    configs: dict[str, dict] = {}
    published = 0
    for zone_id in sorted(zones):
        info = zones[zone_id]
        cfg = configs.setdefault(info["community_id"], community_config(session, info["community_id"]))
        every = cfg["patrol_every_days"]
        reference = last.get(zone_id) or info["since"]
        due = reference + timedelta(days=every)
        if now <= due:
            continue
        gap_key = last[zone_id].isoformat()[:40] if zone_id in last else "never"
        inserted = insert_if_absent(
            session,
            ZoneOverdue.__table__,
            {
                "id": new_id(),
                "zone_id": zone_id,
                "community_id": info["community_id"],
                "gap_key": gap_key,
                "last_round_at": last.get(zone_id),
                "detected_at": now,
            },
        )
        if not inserted:
            continue
        published += 1
        outboxmod.emit(
            session,
            outbox,
            settings,
            type=events.PATROL_ZONE_OVERDUE,
            subject=f"zone/{zone_id}",
            community=info["community_id"],
            data=events.PatrolZoneOverdueV1().dump(
                {
                    "zone_id": zone_id,
                    "community_id": info["community_id"],
                    "last_round_at": last[zone_id].isoformat() if zone_id in last else None,
                    "overdue_days": max(1, math.floor((now - due) / timedelta(days=1))),
                    "required_every_days": every,
                    "detected_at": now.isoformat(),
                }
            ),
            time=now,
        )
    return published


def coverage_report(session: Session, principal: Principal, community_id: str, now: datetime, days: int) -> dict:
    """Per zone: the last round, days since, whether it is overdue, and the gaps longer than N days in the window."""
    if principal.role in ("resident", "finance", "integrator", "engineer") or not principal.sees_community(
        community_id
    ):
        raise NotFound(f"community {community_id} not found")
    every = community_config(session, community_id)["patrol_every_days"]
    zones = {
        zone_id: info
        for zone_id, info in _zones(session, community_id).items()
        if principal.sees_zone(community_id, zone_id)
    }
    window_start = now - timedelta(days=days)
    rounds = _rounds_by_zone(session, zones, window_start)
    last = _last_rounds(session, zones)
    rows = []
    for zone_id, info in sorted(zones.items(), key=lambda z: (z[1]["name"] or "", z[0])):
        points = [max(window_start, info["since"]), *rounds.get(zone_id, []), now]
        gaps = [
            {"from": a, "to": b, "days": round((b - a) / timedelta(days=1), 1)}
            for a, b in zip(points, points[1:], strict=False)
            if b - a > timedelta(days=every)
        ]
        last_at = last.get(zone_id)
        reference = last_at or info["since"]
        rows.append(
            {
                "zone_id": zone_id,
                "name": info["name"],
                "last_round_at": last_at,
                "days_since_last_round": None if last_at is None else round((now - last_at) / timedelta(days=1), 1),
                "rounds_in_window": len(rounds.get(zone_id, [])),
                "overdue": now > reference + timedelta(days=every),
                "gaps": gaps,
            }
        )
    return {
        "community_id": community_id,
        "required_every_days": every,
        "window_days": days,
        "generated_at": now,
        "zones": rows,
    }
