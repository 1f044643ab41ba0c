"""Maintenance plans (daily, weekly, monthly, yearly checklists), the work orders they make on schedule, overdue."""

from __future__ import annotations

import calendar
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia import outbox as outboxmod
from guanjia.auth import Principal
from guanjia.db import insert_many_if_absent, new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound

from .. import events
from ..models import Equipment, MaintenanceOrder, MaintenancePlan, outbox
from . import equipment as equipmentmod
from . import people

FREQUENCIES = ("daily", "weekly", "monthly", "yearly")
ORDER_STATUSES = ("open", "done")
PLANNERS = equipmentmod.KEEPERS
# Plans looked at per transaction by the job: a worker holds a batch's locks only briefly.
BATCH = 500


def local_today(now: datetime, timezone: str) -> date:
    """The community's calendar day at `now` (orders are due on a local date)."""
    return now.astimezone(ZoneInfo(timezone)).date()


def occurrence(frequency: str, starts_on: date, n: int) -> date:
    """The n-th due date from starts_on (n = 0 is starts_on); a monthly plan on the 31st is due on the last day of
    shorter months, a yearly one on 29 February on the 28th in other years."""
    if frequency == "daily":
        return starts_on + timedelta(days=n)
    if frequency == "weekly":
        return starts_on + timedelta(weeks=n)
    months = n if frequency == "monthly" else 12 * n
    year, month = divmod(starts_on.month - 1 + months, 12)
    year += starts_on.year
    return date(year, month + 1, min(starts_on.day, calendar.monthrange(year, month + 1)[1]))


def latest_due(frequency: str, starts_on: date, n: int, today: date) -> int:
    """The last occurrence number ≥ n due by `today` (occurrence n is due by then): missed ones are not made up."""
    if frequency in ("daily", "weekly"):
        step = 1 if frequency == "daily" else 7
        return max(n, (today - starts_on).days // step)
    while occurrence(frequency, starts_on, n + 1) <= today:
        n += 1
    return n


def create_plan(session: Session, principal: Principal, data: dict, now: datetime, directory=None):
    equipmentmod.require(principal, PLANNERS, "plan maintenance")
    try:
        equipment = equipmentmod.get(session, principal, data["equipment_id"])
    except NotFound:
        raise Invalid("equipment_id", "no such equipment") from None
    if equipment.state == "retired":
        raise Invalid("equipment_id", "the equipment is retired")
    if data.get("assignee_id"):
        people.check_assignee(directory or people.People(), data["assignee_id"], equipment.community_id)
    checklist = [item.strip() for item in data["checklist"]]
    if len(set(checklist)) != len(checklist) or not all(checklist):
        raise Invalid("checklist", "items must be distinct and not blank")
    plan = MaintenancePlan(
        id=new_id(),
        equipment_id=equipment.id,
        community_id=equipment.community_id,
        title=data["title"],
        frequency=data["frequency"],
        checklist=json.dumps(checklist, ensure_ascii=False),
        starts_on=data["starts_on"],
        assignee_id=data.get("assignee_id"),
        active=True,
        next_n=0,
        next_due_on=data["starts_on"],
        created_by=principal.subject,
        created_at=now,
    )
    session.add(plan)
    session.flush()
    return plan


def set_active(session: Session, principal: Principal, plan_id: str, active: bool) -> MaintenancePlan:
    equipmentmod.require(principal, PLANNERS, "plan maintenance")
    plan = get_plan(session, principal, plan_id)
    plan.active = active
    return plan


def get_plan(session: Session, principal: Principal, plan_id: str) -> MaintenancePlan:
    plan = session.get(MaintenancePlan, plan_id)
    if plan is None or principal.role not in equipmentmod.READERS or not principal.sees_community(plan.community_id):
        raise NotFound(f"maintenance plan {plan_id} not found")
    return plan


def _scoped(query, model, principal: Principal):
    if principal.role not in equipmentmod.READERS:
        return query.where(model.id.is_(None))
    if not principal.instance_wide:
        query = query.where(model.community_id.in_(principal.communities or ("",)))
    return query


def visible_plans(principal: Principal, filters: dict):
    query = _scoped(select(MaintenancePlan), MaintenancePlan, principal)
    for name in ("community_id", "equipment_id", "frequency", "active"):
        if filters.get(name) is not None:
            query = query.where(getattr(MaintenancePlan, name) == filters[name])
    return query.order_by(MaintenancePlan.next_due_on, MaintenancePlan.id)


def plan_out(plan: MaintenancePlan) -> dict:
    columns = {c.name: getattr(plan, c.name) for c in MaintenancePlan.__table__.columns}
    return {**columns, "checklist": json.loads(plan.checklist)}


def visible_orders(principal: Principal, filters: dict, today: date):
    """Orders of the caller's communities, the earliest due first; `overdue` ones are open past their date."""
    query = _scoped(select(MaintenanceOrder), MaintenanceOrder, principal)
    for name in ("community_id", "equipment_id", "plan_id", "status", "assignee_id"):
        if filters.get(name):
            query = query.where(getattr(MaintenanceOrder, name) == filters[name])
    if filters.get("overdue"):
        query = query.where(MaintenanceOrder.status == "open", MaintenanceOrder.due_on < today)
    return query.order_by(MaintenanceOrder.due_on, MaintenanceOrder.id)


def get_order(session: Session, principal: Principal, order_id: str, lock: bool = False) -> MaintenanceOrder:
    query = select(MaintenanceOrder).where(MaintenanceOrder.id == order_id)
    order = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if order is None or principal.role not in equipmentmod.READERS or not principal.sees_community(order.community_id):
        raise NotFound(f"maintenance order {order_id} not found")
    return order


def order_out(order: MaintenanceOrder, today: date) -> dict:
    columns = {c.name: getattr(order, c.name) for c in MaintenanceOrder.__table__.columns}
    return {
        **columns,
        "checklist": json.loads(order.checklist),
        "results": json.loads(order.results) if order.results else [],
        "fault_ticket_ids": json.loads(order.fault_ticket_ids),
        "overdue": order.status == "open" and order.due_on < today,
        "allowed_actions": ["complete"] if order.status == "open" else [],
    }


def complete(session, settings, principal, order_id: str, data: dict, now: datetime) -> MaintenanceOrder:
    """Record the checklist's results; each fault found opens a repair ticket linked to the equipment."""
    equipmentmod.require(principal, PLANNERS, "do maintenance")
    order = get_order(session, principal, order_id, lock=True)
    if order.status != "open":
        raise Conflict("the maintenance order is done already", extra={"current_status": "done", "allowed_actions": []})
    if principal.role == "engineer" and order.assignee_id and order.assignee_id != principal.subject:
        raise Forbidden("the order is assigned to another engineer")
    checklist = json.loads(order.checklist)
    results = {r["item"]: r for r in data["results"]}
    unknown = [item for item in results if item not in checklist]
    if unknown:
        raise Invalid("results", f"not on the checklist: {unknown[0]}")
    missing = [item for item in checklist if item not in results]
    if missing:
        raise Invalid("results", f"no result for: {missing[0]}")
    equipment = session.get(Equipment, order.equipment_id)
    tickets = [
        equipmentmod.fault_ticket(
            session, settings, equipment, principal.subject, {**fault, "channel": "maintenance"}, now
        ).id
        for fault in data.get("faults") or []
    ]
    order.results = json.dumps(
        [{"item": i, "ok": results[i]["ok"], "note": results[i].get("note")} for i in checklist], ensure_ascii=False
    )
    order.status, order.note = "done", data.get("note")
    order.fault_ticket_ids = json.dumps(tickets)
    order.completed_by, order.completed_at = principal.subject, now
    return order


def _emit(session, settings, event_type: str, data: dict, now: datetime) -> None:
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=event_type,
        subject=f"maintenance/{data['order_id']}",
        community=data["community_id"],
        data=events.PUBLISHED[event_type]().dump(data),
        time=now,
    )


def generate_orders(session: Session, settings, now: datetime) -> tuple[int, int]:
    """One work order per active plan and due date, with equipment.maintenance_due; safe on several workers and on
    re-runs (the plans are locked SKIP LOCKED, and (plan, due date) is unique). A plan whose dates were missed (the
    worker was down) gets its latest due date only. Returns (plans looked at, orders made) of one batch."""
    today = local_today(now, settings.timezone)
    query = (
        select(MaintenancePlan, Equipment)
        .join(Equipment, Equipment.id == MaintenancePlan.equipment_id)
        .where(MaintenancePlan.active.is_(True), MaintenancePlan.next_due_on <= today)
        .order_by(MaintenancePlan.next_due_on, MaintenancePlan.id)
        .limit(BATCH)
        .with_for_update(of=MaintenancePlan, skip_locked=True)
    )
    plans = session.execute(query).all()
    orders, kinds = [], {}
    for plan, equipment in plans:
        n = latest_due(plan.frequency, plan.starts_on, plan.next_n, today)
        due_on = occurrence(plan.frequency, plan.starts_on, n)
        plan.next_n, plan.next_due_on = n + 1, occurrence(plan.frequency, plan.starts_on, n + 1)
        if equipment.state == "retired":
            plan.active = False
            continue
        kinds[plan.id] = (equipment.kind, plan.frequency)
        orders.append(
            {
                "id": new_id(),
                "plan_id": plan.id,
                "equipment_id": plan.equipment_id,
                "community_id": plan.community_id,
                "due_on": due_on,
                "status": "open",
                "assignee_id": plan.assignee_id,
                "checklist": plan.checklist,
                "fault_ticket_ids": "[]",
                "created_at": now,
            }
        )
    # One statement for the batch's orders and one for their events (not four round trips per plan): an order
    # another worker made first is skipped, with its event.
    made = insert_many_if_absent(session, MaintenanceOrder, orders, index_elements=["plan_id", "due_on"])
    batch = outboxmod.Batch(outbox, settings, events.EQUIPMENT_MAINTENANCE_DUE, time=now)
    schema = events.PUBLISHED[events.EQUIPMENT_MAINTENANCE_DUE]()
    for order in orders:
        if order["id"] not in made:
            continue
        kind, frequency = kinds[order["plan_id"]]
        data = {
            "order_id": order["id"],
            "plan_id": order["plan_id"],
            "equipment_id": order["equipment_id"],
            "community_id": order["community_id"],
            "equipment_kind": kind,
            "frequency": frequency,
            "due_on": order["due_on"].isoformat(),
            "assignee_id": order["assignee_id"],
            "generated_at": now.isoformat(),
        }
        batch.add(subject=f"maintenance/{order['id']}", data=schema.dump(data), community=order["community_id"])
    batch.flush(session)
    return len(plans), len(made)


def check_overdue(session: Session, settings, now: datetime) -> int:
    """equipment.maintenance_overdue once per open order past its due date (escalated to the supervisors)."""
    today = local_today(now, settings.timezone)
    query = (
        select(MaintenanceOrder)
        .where(
            MaintenanceOrder.status == "open", MaintenanceOrder.due_on < today, MaintenanceOrder.overdue_at.is_(None)
        )
        .order_by(MaintenanceOrder.due_on, MaintenanceOrder.id)
        .limit(1000)
        .with_for_update(skip_locked=True)
    )
    alerted = 0
    for order in session.execute(query).scalars():
        order.overdue_at = now
        _emit(
            session,
            settings,
            events.EQUIPMENT_MAINTENANCE_OVERDUE,
            {
                "order_id": order.id,
                "plan_id": order.plan_id,
                "equipment_id": order.equipment_id,
                "community_id": order.community_id,
                "due_on": order.due_on.isoformat(),
                "assignee_id": order.assignee_id,
                "overdue_days": (today - order.due_on).days,
                "detected_at": now.isoformat(),
            },
            now,
        )
        alerted += 1
    return alerted
