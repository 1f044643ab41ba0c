"""Routing: a new ticket goes to the most specific matching rule, else to its zone's butler (or their stand-in)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import new_id
from guanjia.errors import Invalid, NotFound

from ..models import Absence, RoutingRule, Ticket, Zone
from . import people
from .community import require_supervisor_of


def create_routing_rule(
    session: Session, principal: Principal, data: dict, now: datetime, directory=None
) -> RoutingRule:
    require_supervisor_of(principal, data["community_id"])
    directory = directory or people.People()
    if data.get("zone_id"):
        zone = session.get(Zone, data["zone_id"])
        zone_community = zone.community_id if zone is not None else people.zone_community(directory, data["zone_id"])
        if zone_community != data["community_id"]:
            raise Invalid("zone_id", "no such zone in this community")
    if data.get("assignee_id"):
        people.check_assignee(directory, data["assignee_id"], data["community_id"])
    rule = RoutingRule(id=new_id(), created_at=now, **data)
    session.add(rule)
    session.flush()
    return rule


def list_routing_rules(session: Session, principal: Principal, community_id: str) -> list[RoutingRule]:
    if not principal.sees_community(community_id):
        raise NotFound(f"community {community_id} not found")
    query = select(RoutingRule).where(RoutingRule.community_id == community_id).order_by(RoutingRule.created_at)
    return list(session.execute(query).scalars())


def delete_routing_rule(session: Session, principal: Principal, rule_id: str) -> None:
    rule = session.get(RoutingRule, rule_id)
    if rule is None or not principal.sees_community(rule.community_id):
        raise NotFound(f"routing rule {rule_id} not found")
    require_supervisor_of(principal, rule.community_id)
    session.delete(rule)


STAND_IN_REASON = "代岗：负责管家请假中，由代岗人处理"


def zone_butlers(session: Session, zone_id: str | None) -> list[str]:
    zone = session.get(Zone, zone_id) if zone_id else None
    return json.loads(zone.butler_ids) if zone is not None else []


def stand_in_for(session: Session, user_id: str, now: datetime) -> str | None:
    """代岗: who stands in for this person right now (their leave, from staff's absences), or None."""
    return session.execute(
        select(Absence.stand_in_id)
        .where(
            Absence.butler_id == user_id,
            Absence.ended_at.is_(None),
            Absence.starts_at <= now,
            Absence.ends_at > now,
        )
        .order_by(Absence.starts_at.desc())
    ).scalar()


def rule_score(rule, ticket) -> int | None:
    """How specific a rule is for the ticket — zone beats subcategory beats category (4 + 2 + 1) — or None when
    one of its matchers names something else."""
    checks = (
        (rule.category, ticket.category),
        (rule.subcategory, ticket.subcategory),
        (rule.zone_id, ticket.zone_id),
    )
    if any(wanted is not None and wanted != actual for wanted, actual in checks):
        return None
    return (rule.zone_id is not None) * 4 + (rule.subcategory is not None) * 2 + (rule.category is not None)


def best_rule(rules, ticket):
    """The most specific matching rule, or None; ties go to the first of `rules` (the older rule)."""
    best, best_score = None, -1
    for rule in rules:
        score = rule_score(rule, ticket)
        if score is not None and score > best_score:
            best, best_score = rule, score
    return best


def destination(rule, butlers: list[str], default_department: str) -> tuple[str, str] | None:
    """(department, assignee): the rule's, its assignee defaulting to the zone's first butler; without a rule the
    default department and that butler; None when nobody is named."""
    if rule is not None:
        assignee = rule.assignee_id or (butlers[0] if butlers else None)
        return (rule.department, assignee) if assignee else None
    return (default_department, butlers[0]) if butlers else None


def route(session: Session, ticket: Ticket, default_department: str = "customer_service") -> tuple[str, str] | None:
    """(department, assignee) for a new ticket: the most specific matching rule, else the zone's butler."""
    # The older rule first (ties go to it); the two-statement create (filing) reads them in the same order.
    query = select(RoutingRule).where(RoutingRule.community_id == ticket.community_id)
    rules = session.execute(query.order_by(RoutingRule.created_at, RoutingRule.id)).scalars()
    return destination(best_rule(rules, ticket), zone_butlers(session, ticket.zone_id), default_department)
