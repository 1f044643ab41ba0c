"""Work plans and summaries (工作计划/总结): a person's monthly or quarterly plan of items (what, whose, by when,
where it stands); the month-end summary — the person's text beside the month's measured figures, pulled as the
scorecard pulls them — and the superior's review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound

from ..models import PlanItem, Position, WorkPlan
from .common import check_community, position_seen, require_superior, seen_record, visible_positions

PLAN_KINDS = ("monthly", "quarterly")
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


def create_plan(session: Session, principal: Principal, data: dict, now: datetime) -> WorkPlan:
    """The person's own plan, or one their superior (or the manager) draws up for them; one per post and period."""
    position = position_seen(session, principal, data["position_id"], field="position_id")
    taken = session.execute(
        select(WorkPlan.id).where(
            WorkPlan.position_id == position.id, WorkPlan.kind == data["kind"], WorkPlan.period == data["period"]
        )
    ).first()
    if taken:
        raise Invalid("period", "this post already has a plan for this period")
    plan = WorkPlan(
        id=new_id(),
        community_id=position.community_id,
        position_id=position.id,
        user_id=position.user_id,
        kind=data["kind"],
        period=data["period"],
        created_by=principal.subject,
        created_at=now,
    )
    owners = [
        _owner(session, principal, position.community_id, item.get("owner_id") or position.id, f"items.{i}.owner_id")
        for i, item in enumerate(data["items"])
    ]
    session.add(plan)
    session.flush()
    session.add_all(_item(plan, owner, item, now) for owner, item in zip(owners, data["items"], strict=True))
    return plan


def visible_plans(session: Session, principal: Principal, args: dict):
    """A person their own, a senior butler the team's, a manager the community's; latest period first."""
    check_community(principal, args["community_id"])
    query = select(WorkPlan).where(WorkPlan.community_id == args["community_id"])
    seen = visible_positions(session, principal)
    if seen is not None:
        query = query.where(WorkPlan.position_id.in_(seen))
    for name in ("position_id", "kind", "period"):
        if args.get(name):
            query = query.where(getattr(WorkPlan, name) == args[name])
    return query.order_by(WorkPlan.period.desc(), WorkPlan.kind, WorkPlan.position_id)


def get_plan(session: Session, principal: Principal, plan_id: str) -> WorkPlan:
    return seen_record(session, principal, WorkPlan, plan_id, "plan")


def add_item(session: Session, principal: Principal, plan_id: str, data: dict, now: datetime) -> WorkPlan:
    plan = get_plan(session, principal, plan_id)
    owner = _owner(session, principal, plan.community_id, data.get("owner_id") or plan.position_id, "owner_id")
    session.add(_item(plan, owner, data, now))
    return plan


def set_item_status(session: Session, principal: Principal, plan_id: str, item_id: str, status: str) -> WorkPlan:
    plan = get_plan(session, principal, plan_id)
    item = session.get(PlanItem, item_id)
    if item is None or item.plan_id != plan.id:
        raise NotFound(f"plan item {item_id} not found")
    item.status = status
    return plan


def summary_month(session: Session, principal: Principal, plan_id: str) -> tuple[WorkPlan, str | None]:
    """The plan to summarise and the month whose figures to pull (a quarterly plan's summary has text only)."""
    plan = get_plan(session, principal, plan_id)
    if plan.user_id != principal.subject:
        raise Forbidden("a summary is written by the plan's holder")
    return plan, plan.period if plan.kind == "monthly" else None


def summarise(
    session: Session, principal: Principal, plan_id: str, text: str, figures: dict | None, now: datetime
) -> WorkPlan:
    plan, _month = summary_month(session, principal, plan_id)
    if plan.reviewed_at is not None:
        raise Conflict("this summary has been reviewed")
    plan.summary, plan.figures, plan.summarised_at = text, figures, now
    return plan


def review(session: Session, principal: Principal, plan_id: str, text: str, now: datetime) -> WorkPlan:
    plan = get_plan(session, principal, plan_id)
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
    positions = {p.position_id for p in plans} | {i.owner_position_id for i in items}
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
