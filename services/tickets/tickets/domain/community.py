"""A community's ticket rules: business hours, return-visit window, escalation delay, direct-close kinds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.errors import Forbidden, Invalid, NotFound

from ..models import CommunityConfig
from .business_hours import BusinessHours
from .common import SUPERVISORS

DEFAULT_CONFIG = {
    "business_day_start": "09:00",
    "business_day_end": "18:00",
    "business_days": "12345",
    "visit_due_hours": 48,
    "max_unreachable_attempts": 3,
    "escalate_after_minutes": 120,
    "patrol_every_days": 5,
    "direct_close_categories": ("inquiry", "praise"),
}


def community_config(session: Session, community_id: str) -> dict:
    row = session.get(CommunityConfig, community_id)
    if row is None:
        return {"community_id": community_id, **DEFAULT_CONFIG, "updated_at": None}
    config = {c: getattr(row, c) for c in ("community_id", *DEFAULT_CONFIG, "updated_at")}
    config["direct_close_categories"] = stored_kinds(row.direct_close_categories)
    return config


def stored_kinds(stored: str | None) -> tuple[str, ...]:
    return tuple(kind for kind in (stored or "").split(",") if kind)


def put_community_config(session: Session, principal: Principal, community_id: str, data: dict, now: datetime):
    require_supervisor_of(principal, community_id)
    merged = {**community_config(session, community_id), **data}
    try:
        BusinessHours.parse("UTC", merged["business_day_start"], merged["business_day_end"], merged["business_days"])
        if merged["business_day_end"] <= merged["business_day_start"]:
            raise ValueError
    except ValueError:
        raise Invalid("business_day_end", "business hours need HH:MM times with the end after the start") from None
    row = session.get(CommunityConfig, community_id) or CommunityConfig(community_id=community_id)
    for name in DEFAULT_CONFIG:
        setattr(row, name, merged[name])
    row.direct_close_categories = ",".join(dict.fromkeys(merged["direct_close_categories"]))
    row.updated_at = now
    session.add(row)
    session.flush()
    return community_config(session, community_id)


def require_supervisor_of(principal: Principal, community_id: str) -> None:
    if principal.role not in SUPERVISORS:
        raise Forbidden(f"role {principal.role} may not change the rules of a community")
    if not principal.sees_community(community_id):
        raise NotFound(f"community {community_id} not found")


def closable_kinds(session: Session, community_id: str) -> tuple[str, ...]:
    return tuple(community_config(session, community_id)["direct_close_categories"])
