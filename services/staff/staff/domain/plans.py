"""Work plans and summaries (工作计划/总结): a monthly or quarterly plan of items (what, whose, by when, where it
stands) of a person, a zone (片区) or the community; the summary — the holder's text beside the period's measured
figures of that scope, pulled as the scorecard pulls them (a quarter's: its three months combined) — and the review.

Who: a person's plan — the person, their superior and the manager (as before). A zone's — the senior butlers and
the manager write it (create, items, summary); the zone's butlers (their token's zones) read it; the manager
reviews. The community's — the manager writes and reviews; every member of staff of the community reads it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound

from ..models import PlanItem, Position, WorkPlan
from .common import MANAGERS, check_community, position_seen, require_superior, visible_positions
from .plan_figures import quarter_months

PLAN_KINDS = ("monthly", "quarterly")
PLAN_SCOPES = ("person", "zone", "community")
ZONE_WRITERS = (*MANAGERS, "senior_butler")
WRITERS_ONLY = {
    "zone": "a zone's plan is written by a senior butler or the community's manager",
    "community": "the community's plan is written by the community's manager",
}
TAKEN = {
    "person": "this post already has a plan for this period",
    "zone": "this zone already has a plan for this period",
    "community": "the community already has a plan for this period",
}
NO_OWNER = "an item of a zone's or the community's plan names its owner's post"
ITEM_STATUSES = ("open", "done", "dropped")


def _owner(session: Session, principal: Principal, community_id: str, owner_id: str, field: str) -> Position:
    """An item's owner: a post of the plan's community the caller sees (their own, their team's, any for a manager)."""
    owner = position_seen(session, principal, owner_id, field=field)
    if owner.community_id != community_id:
        raise Invalid(field, "no such position")
    return owner


def _item(plan: WorkPlan, owner: Position, data: dict, now: datetime) -> PlanItem:
    return PlanItem(
        id=new_id(),
        plan_id=plan.id,
        title=data["title"],
        owner_position_id=owner.id,
        due_on=data["due_on"],
        status="open",
        created_at=now,
    )


def _writers(scope: str) -> tuple[str, ...]:
    return ZONE_WRITERS if scope == "zone" else MANAGERS


def _require_writer(principal: Principal, plan: WorkPlan) -> None:
    """A zone plan is the senior butlers' and the manager's to write, the community's the manager's."""
    if plan.scope != "person" and principal.role not in _writers(plan.scope):
        raise Forbidden(WRITERS_ONLY[plan.scope])


def create_plan(
    session: Session, principal: Principal, data: dict, now: datetime, zones: set[str] | None = None
) -> WorkPlan:
    """A person's plan (their own, or one their superior or the manager draws up for them), a zone's (`zones`: the
    community's zone ids, residents') or the community's; one per target (post, zone, community) and period."""
    scope = data.get("scope") or "person"
    position = None
    if scope == "person":
        if not data.get("position_id"):
            raise Invalid("position_id", "a person's plan names the post")
        position = position_seen(session, principal, data["position_id"], field="position_id")
        community_id, target = position.community_id, position.id
    else:
        community_id = data.get("community_id")
        if not community_id:
            raise Invalid("community_id", "a zone or community plan names the community")
        check_community(principal, community_id)
        if scope == "zone" and not data.get("zone_id"):
            raise Invalid("zone_id", "a zone plan names the zone")
        target = data["zone_id"] if scope == "zone" else community_id
    if scope == "zone" and target not in (zones or ()):
        raise Invalid("zone_id", "no such zone")
    plan = WorkPlan(
        id=new_id(),
        community_id=community_id,
        scope=scope,
        target_id=target,
        position_id=position.id if position else None,
        user_id=position.user_id if position else None,
        zone_id=data.get("zone_id") if scope == "zone" else None,
        kind=data["kind"],
        period=data["period"],
        created_by=principal.subject,
        created_at=now,
    )
    _require_writer(principal, plan)
    taken = session.execute(
        select(WorkPlan.id).where(
            WorkPlan.scope == scope,
            WorkPlan.target_id == target,
            WorkPlan.kind == data["kind"],
            WorkPlan.period == data["period"],
        )
    ).first()
    if taken:
        raise Invalid("period", TAKEN[scope])
    owners = []
    for i, item in enumerate(data["items"]):
        owner_id = item.get("owner_id") or (position.id if position else None)
        if owner_id is None:
            raise Invalid(f"items.{i}.owner_id", NO_OWNER)
        owners.append(_owner(session, principal, community_id, owner_id, f"items.{i}.owner_id"))
    session.add(plan)
    session.flush()
    session.add_all(_item(plan, owner, item, now) for owner, item in zip(owners, data["items"], strict=True))
    return plan


def _readable(session: Session, principal: Principal):
    """The condition on WorkPlan the caller may read: persons' plans of the posts they see; zone plans of their
    zones (a butler) or all of the community (senior butlers, managers); the community's plan for every one."""
    seen = visible_positions(session, principal)
    person = WorkPlan.position_id.in_(seen) if seen is not None else WorkPlan.scope == "person"
    if principal.role in ZONE_WRITERS:
        zone = WorkPlan.scope == "zone"
    else:
        zone = and_(WorkPlan.scope == "zone", WorkPlan.zone_id.in_(principal.zones or ()))
    return or_(and_(WorkPlan.scope == "person", person), zone, WorkPlan.scope == "community")


def visible_plans(session: Session, principal: Principal, args: dict):
    """A person their own, a senior butler the team's, a manager the community's; the zone plans of one's zones
    (senior butlers and managers: all), the community's plans; latest period first."""
    check_community(principal, args["community_id"])
    query = select(WorkPlan).where(WorkPlan.community_id == args["community_id"], _readable(session, principal))
    for name in ("scope", "position_id", "zone_id", "kind", "period"):
        if args.get(name):
            query = query.where(getattr(WorkPlan, name) == args[name])
    return query.order_by(WorkPlan.period.desc(), WorkPlan.kind, WorkPlan.position_id)


def get_plan(session: Session, principal: Principal, plan_id: str) -> WorkPlan:
    plan = session.get(WorkPlan, plan_id)
    if plan is None or not principal.sees_community(plan.community_id):
        raise NotFound(f"plan {plan_id} not found")
    readable = select(WorkPlan.id).where(WorkPlan.id == plan_id, _readable(session, principal))
    if session.execute(readable).first() is None:
        raise NotFound(f"plan {plan_id} not found")
    return plan


def plan_to_write(session: Session, principal: Principal, plan_id: str) -> WorkPlan:
    plan = get_plan(session, principal, plan_id)
    _require_writer(principal, plan)
    return plan


def add_item(session: Session, principal: Principal, plan_id: str, data: dict, now: datetime) -> WorkPlan:
    plan = plan_to_write(session, principal, plan_id)
    owner_id = data.get("owner_id") or plan.position_id
    if owner_id is None:
        raise Invalid("owner_id", NO_OWNER)
    owner = _owner(session, principal, plan.community_id, owner_id, "owner_id")
    session.add(_item(plan, owner, data, now))
    return plan


def set_item_status(session: Session, principal: Principal, plan_id: str, item_id: str, status: str) -> WorkPlan:
    plan = plan_to_write(session, principal, plan_id)
    item = session.get(PlanItem, item_id)
    if item is None or item.plan_id != plan.id:
        raise NotFound(f"plan item {item_id} not found")
    item.status = status
    return plan


def summary_months(session: Session, principal: Principal, plan_id: str) -> tuple[WorkPlan, list[str]]:
    """The plan to summarise and the months whose figures to pull: a monthly plan's month, a quarterly plan's
    three (combined). A person's summary is the holder's; a zone's or the community's, its writers'."""
    plan = get_plan(session, principal, plan_id)
    if plan.scope == "person" and plan.user_id != principal.subject:
        raise Forbidden("a summary is written by the plan's holder")
    _require_writer(principal, plan)
    return plan, [plan.period] if plan.kind == "monthly" else quarter_months(plan.period)


def summarise(
    session: Session, principal: Principal, plan_id: str, text: str, figures: dict | None, now: datetime
) -> WorkPlan:
    plan, _months = summary_months(session, principal, plan_id)
    if plan.reviewed_at is not None:
        raise Conflict("this summary has been reviewed")
    plan.summary, plan.figures, plan.summarised_at = text, figures, now
    return plan


def review(session: Session, principal: Principal, plan_id: str, text: str, now: datetime) -> WorkPlan:
    plan = get_plan(session, principal, plan_id)
    if plan.scope != "person":
        if principal.role not in MANAGERS:
            raise Forbidden("a zone's or the community's plan is reviewed by the community's manager")
    else:
        require_superior(
            session,
            principal,
            session.get(Position, plan.position_id),
            "one's own plan is reviewed by one's superior",
            "only the superior (or the community's manager) reviews a plan",
        )
    if plan.summarised_at is None:
        raise Conflict("there is no summary to review yet")
    plan.review, plan.reviewed_by, plan.reviewed_at = text, principal.subject, now
    return plan


def with_details(session: Session, plans: list[WorkPlan]) -> list[WorkPlan]:
    """Adds `items` (with owner_name) and the holder's and reviewer's names: three queries, not one per plan."""
    ids = [p.id for p in plans]
    items = list(
        session.execute(select(PlanItem).where(PlanItem.plan_id.in_(ids)).order_by(PlanItem.due_on, PlanItem.id))
        .scalars()
        .all()
    )
    positions = {p.position_id for p in plans if p.position_id} | {i.owner_position_id for i in items}
    names = dict(session.execute(select(Position.id, Position.display_name).where(Position.id.in_(positions))).all())
    reviewers = {p.reviewed_by for p in plans if p.reviewed_by}
    by_user = dict(
        session.execute(select(Position.user_id, Position.display_name).where(Position.user_id.in_(reviewers))).all()
    )
    for item in items:
        item.owner_name = names.get(item.owner_position_id)
    for plan in plans:
        plan.display_name = names.get(plan.position_id)
        plan.reviewed_by_name = by_user.get(plan.reviewed_by) if plan.reviewed_by else None
        plan.item_list = [i for i in items if i.plan_id == plan.id]
    return plans
