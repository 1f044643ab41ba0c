"""重大投诉 / 疑似负面信息: quality cases with their source, linked tickets, owner, feedback log, deadline, closure."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc, new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound

from ..models import QualityCase, QualityCaseFeedback, Ticket
from . import people

SOURCES = ("quality_department", "hotline_12345", "social_media", "media", "other")
CASE_STATUSES = ("open", "closed")
AUDIENCES = ("customer", "quality_department")
MANAGERS = ("admin", "senior_butler", "cs_manager")  # open and close cases
READERS = (*MANAGERS, "butler", "integrator")


def get(session: Session, principal: Principal, case_id: str, lock: bool = False) -> QualityCase:
    query = select(QualityCase).where(QualityCase.id == case_id)
    case = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if case is None or principal.role not in READERS or not principal.sees_community(case.community_id):
        raise NotFound(f"quality case {case_id} not found")
    if principal.role == "butler" and case.owner_id != principal.subject:
        raise NotFound(f"quality case {case_id} not found")  # a butler follows the cases they own
    return case


def _require(principal: Principal, roles: tuple[str, ...], what: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not {what}")


def open_case(session: Session, principal: Principal, data: dict, now: datetime, directory=None) -> QualityCase:
    _require(principal, MANAGERS, "open quality cases")
    community_id = data["community_id"]
    if not principal.sees_community(community_id):
        raise Invalid("community_id", "not one of your communities")
    if as_utc(data["deadline_at"]) <= now:
        raise Invalid("deadline_at", "a time in the future")
    ticket_ids = list(dict.fromkeys(data.get("ticket_ids") or []))
    if ticket_ids:
        found = session.execute(
            select(Ticket.id).where(Ticket.id.in_(ticket_ids), Ticket.community_id == community_id)
        ).scalars()
        missing = set(ticket_ids) - set(found)
        if missing:
            raise Invalid("ticket_ids", f"no such ticket in this community: {sorted(missing)[0]}")
    people.check_assignee(directory or people.People(), data["owner_id"], community_id, field="owner_id")
    case = QualityCase(
        id=new_id(),
        community_id=community_id,
        source=data["source"],
        status="open",
        title=data["title"],
        description=data.get("description") or "",
        owner_id=data["owner_id"],
        ticket_ids=json.dumps(ticket_ids),
        deadline_at=data["deadline_at"],
        opened_by=principal.subject,
        opened_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    return case


def _open(case: QualityCase) -> None:
    if case.status != "open":
        raise Conflict("the quality case is closed", extra={"current_status": case.status, "allowed_actions": []})


def add_feedback(session, settings, principal, case_id: str, data: dict, now: datetime) -> QualityCase:
    """A stage feedback to the customer or to the quality department, by the owner or a manager."""
    case = get(session, principal, case_id, lock=True)
    if principal.role not in MANAGERS and case.owner_id != principal.subject:
        raise Forbidden("the case's owner or a manager gives its feedback")
    _open(case)
    session.add(
        QualityCaseFeedback(
            id=new_id(), case_id=case.id, audience=data["audience"], body=data["body"], author=principal.subject, at=now
        )
    )
    case.updated_at = now
    session.flush()
    return case


def close(session, settings, principal, case_id: str, data: dict, now: datetime) -> QualityCase:
    """Close with the closure report (结案报告)."""
    _require(principal, MANAGERS, "close quality cases")
    case = get(session, principal, case_id, lock=True)
    _open(case)
    case.status, case.report, case.closed_at, case.updated_at = "closed", data["report"], now, now
    return case


def visible(principal: Principal, filters: dict):
    """Cases of the caller's communities (a butler's: those they own), open ones by deadline first."""
    query = select(QualityCase).order_by(QualityCase.status.desc(), QualityCase.deadline_at, QualityCase.id)
    if principal.role not in READERS:
        return query.where(QualityCase.id.is_(None))
    if not principal.instance_wide:
        query = query.where(QualityCase.community_id.in_(principal.communities or ("",)))
    if principal.role == "butler":
        query = query.where(QualityCase.owner_id == principal.subject)
    for name in ("community_id", "status", "source", "owner_id"):
        if filters.get(name):
            query = query.where(getattr(QualityCase, name) == filters[name])
    if filters.get("open") and not filters.get("status"):
        query = query.where(QualityCase.status == "open")
    return query


def overdue(case: QualityCase, now: datetime) -> bool:
    """Open past its deadline."""
    return case.status == "open" and as_utc(case.deadline_at) < now


def out(session: Session, case: QualityCase, now: datetime) -> dict:
    feedback = session.execute(
        select(QualityCaseFeedback).where(QualityCaseFeedback.case_id == case.id).order_by(QualityCaseFeedback.at)
    ).scalars()
    columns = {c.name: getattr(case, c.name) for c in QualityCase.__table__.columns}
    return {
        **columns,
        "ticket_ids": json.loads(case.ticket_ids),
        "overdue": overdue(case, now),
        "feedback": list(feedback),
        "allowed_actions": ["feedback", "close"] if case.status == "open" else [],
    }
