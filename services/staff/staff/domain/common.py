"""What the staff use cases share: the vocabularies, who sees whom, writing events, claiming due rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia import outbox as outboxmod
from guanjia.auth import Principal
from guanjia.db import is_postgres
from guanjia.errors import Forbidden, Invalid, NotFound

from .. import events
from ..models import Position, outbox

DEPARTMENT_KINDS = ("customer_service", "engineering", "security", "cleaning", "greening")
DEPARTMENT_NAMES = {
    "customer_service": "客服部",
    "engineering": "工程部",
    "security": "秩序安管部",
    "cleaning": "保洁部",
    "greening": "绿化部",
}
TITLES = (
    "manager",
    "senior_butler",
    "assistant_butler",
    "butler_aide",
    "engineer",
    "security_guard",
    "cleaner",
    "gardener",
    "customer_service",
)
LEAVE_KINDS = ("annual", "sick", "personal", "compensatory", "other")
LEAVE_STATUSES = ("pending", "approved", "rejected", "cancelled")
# Leave that holds a period: a second request over it, or a stand-in on it, is refused.
HOLDING = ("pending", "approved")
MANAGERS = ("cs_manager", "admin")


# --- who sees whom ------------------------------------------------------------------------------------------------


def _own_positions(session: Session, principal: Principal) -> list[Position]:
    return list(session.execute(select(Position).where(Position.user_id == principal.subject)).scalars())


def team_of(session: Session, position_ids: list[str]) -> set[str]:
    """The positions at or below these (reports-to, followed downwards): a senior butler's team."""
    team, frontier = set(position_ids), list(position_ids)
    while frontier:
        below = session.execute(select(Position.id).where(Position.reports_to_id.in_(frontier))).scalars().all()
        frontier = [p for p in below if p not in team]
        team.update(frontier)
    return team


def visible_positions(session: Session, principal: Principal) -> set[str] | None:
    """None: every position of the caller's communities (managers, admin); else the position ids the caller sees:
    a senior butler their team, everyone else their own post."""
    if principal.instance_wide or principal.role == "cs_manager":
        return None
    own = [p.id for p in _own_positions(session, principal)]
    return team_of(session, own) if principal.role == "senior_butler" else set(own)


def check_community(principal: Principal, community_id: str) -> None:
    if not principal.sees_community(community_id):
        raise NotFound(f"community {community_id} not found")


def position_seen(session: Session, principal: Principal, position_id: str, field: str | None = None) -> Position:
    position = session.get(Position, position_id)
    seen = visible_positions(session, principal)
    if (
        position is None
        or not principal.sees_community(position.community_id)
        or (seen is not None and position.id not in seen)
    ):
        if field:
            raise Invalid(field, "no such position")
        raise NotFound(f"position {position_id} not found")
    return position


def seen_record(session: Session, principal: Principal, model, record_id: str, what: str):
    """A record of a post (scorecard, plan, issued item) the caller may see: in their communities and, below a
    manager, of a post they see; else 404 naming `what`."""
    record = session.get(model, record_id)
    seen = visible_positions(session, principal) if record is not None else None
    if (
        record is None
        or not principal.sees_community(record.community_id)
        or (seen is not None and record.position_id not in seen)
    ):
        raise NotFound(f"{what} {record_id} not found")
    return record


def listed_record(session: Session, principal: Principal, model, record_id: str, visible, what: str):
    """A record the caller's list (`visible(session, principal, {"community_id": …})`) holds; else 404."""
    record = session.get(model, record_id)
    if record is not None and principal.sees_community(record.community_id):
        query = visible(session, principal, {"community_id": record.community_id}).where(model.id == record_id)
        if session.execute(query).scalars().first() is not None:
            return record
    raise NotFound(f"{what} {record_id} not found")


def require_superior(session: Session, principal: Principal, position: Position, own: str, others: str) -> None:
    """Reviews and scores are the superior's (the holder of the post it reports to) or the community's manager's;
    nobody reviews their own (`own`, `others`: the refusals' texts)."""
    if position.user_id == principal.subject:
        raise Forbidden(own)
    superior = session.get(Position, position.reports_to_id) if position.reports_to_id else None
    if principal.role not in MANAGERS and (superior is None or superior.user_id != principal.subject):
        raise Forbidden(others)


# --- events and scheduled claims ------------------------------------------------------------------------------------


def emit_event(session: Session, settings, event_type: str, subject: str, community_id: str, data: dict) -> None:
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=event_type,
        subject=subject,
        community=community_id,
        data=events.PUBLISHED[event_type]().dump(data),
    )


def claim_due(session: Session, query):
    # Several worker replicas run the job: each leave is claimed by one of them.
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query.limit(500)).scalars())
