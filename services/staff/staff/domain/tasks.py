"""Tasks handed down (领导交办): a superior gives a post in their team a task with a due date; the assignee
completes it; the worker announces an open task past its due date once (task.overdue) to the assigner."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc, new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound

from .. import events
from ..models import Position, Task
from .common import MANAGERS, check_community, claim_due, emit_event, position_seen, team_of, visible_positions

TASK_STATUSES = ("open", "done", "cancelled")
# The assignee is reminded (task.due_soon) this long before a task falls due.
REMIND_BEFORE = timedelta(hours=24)


def hand_down(session: Session, principal: Principal, data: dict, now: datetime) -> Task:
    """A senior butler hands a task to a post in their team (below their own), a manager to any post."""
    position = position_seen(session, principal, data["position_id"], field="position_id")
    if principal.role not in MANAGERS:
        own = [p.id for p in session.execute(select(Position).where(Position.user_id == principal.subject)).scalars()]
        if position.id in own or position.id not in team_of(session, own):
            raise Invalid("position_id", "a task is handed down to a post below one's own")
    due_at = as_utc(data["due_at"])
    if due_at <= as_utc(now):
        raise Invalid("due_at", "must be in the future")
    task = Task(
        id=new_id(),
        community_id=position.community_id,
        position_id=position.id,
        assignee_id=position.user_id,
        assigner_id=principal.subject,
        title=data["title"],
        details=data.get("details"),
        due_at=due_at,
        status="open",
        created_at=now,
    )
    session.add(task)
    return task


def visible_tasks(session: Session, principal: Principal, args: dict):
    """One's own tasks and those one handed down; a senior butler the team's; a manager the community's."""
    check_community(principal, args["community_id"])
    query = select(Task).where(Task.community_id == args["community_id"])
    seen = visible_positions(session, principal)
    if seen is not None:
        query = query.where(or_(Task.position_id.in_(seen), Task.assigner_id == principal.subject))
    if args.get("status"):
        query = query.where(Task.status == args["status"])
    return query.order_by(Task.due_at, Task.id)


def get_task(session: Session, principal: Principal, task_id: str) -> Task:
    task = session.get(Task, task_id)
    if task is not None and principal.sees_community(task.community_id):
        query = visible_tasks(session, principal, {"community_id": task.community_id}).where(Task.id == task_id)
        if session.execute(query).scalars().first() is not None:
            return task
    raise NotFound(f"task {task_id} not found")


def complete(session: Session, principal: Principal, task_id: str, now: datetime) -> Task:
    task = get_task(session, principal, task_id)
    if task.assignee_id != principal.subject and principal.role not in MANAGERS:
        raise Forbidden("a task is completed by its assignee")
    if task.status != "open":
        raise Conflict(f"this task is {task.status}, not open")
    task.status, task.completed_at = "done", now
    return task


def _task_event(session: Session, settings, event_type: str, task: Task) -> None:
    data = {
        "task_id": task.id,
        "community_id": task.community_id,
        "assignee_id": task.assignee_id,
        "assigner_id": task.assigner_id,
        "due_at": as_utc(task.due_at).isoformat(),
    }
    emit_event(session, settings, event_type, f"task/{task.id}", task.community_id, data)


def announce_overdue(session: Session, settings, now: datetime) -> int:
    """task.overdue, once per open task past its due date (several worker replicas: SKIP LOCKED, overdue_at)."""
    late = select(Task).where(Task.status == "open", Task.overdue_at.is_(None), Task.due_at <= now)
    count = 0
    for task in claim_due(session, late.order_by(Task.due_at)):
        task.overdue_at = now
        _task_event(session, settings, events.TASK_OVERDUE, task)
        count += 1
    return count


def announce_due_soon(session: Session, settings, now: datetime) -> int:
    """task.due_soon, once per open task falling due within REMIND_BEFORE (one handed down with less time left is
    reminded at once); a task already past due is not reminded but escalated (announce_overdue)."""
    soon = select(Task).where(
        Task.status == "open",
        Task.reminded_at.is_(None),
        Task.overdue_at.is_(None),
        Task.due_at > now,
        Task.due_at <= now + REMIND_BEFORE,
    )
    count = 0
    for task in claim_due(session, soon.order_by(Task.due_at)):
        task.reminded_at = now
        _task_event(session, settings, events.TASK_DUE_SOON, task)
        count += 1
    return count
