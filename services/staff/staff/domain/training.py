"""Training records (a session, its topic — e.g. 百问百答 —, its attendees and whether each completed it) and the
tools and items issued to a person and returned (配发工具物品)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal, require_role
from guanjia.db import new_id
from guanjia.errors import Conflict, Invalid

from ..models import IssuedItem, Position, Training, TrainingAttendee
from .common import MANAGERS, check_community, listed_record, position_seen, seen_record, visible_positions

TRAINERS = (*MANAGERS, "senior_butler")


def record_training(session: Session, principal: Principal, data: dict, now: datetime) -> Training:
    """A session given to posts the caller sees (a senior butler their team, a manager anyone of the community)."""
    require_role(principal, *TRAINERS)
    check_community(principal, data["community_id"])
    training = Training(
        id=new_id(),
        community_id=data["community_id"],
        topic=data["topic"],
        held_on=data["held_on"],
        created_by=principal.subject,
        created_at=now,
    )
    attendees = []
    for i, position_id in enumerate(dict.fromkeys(data["attendee_ids"])):
        position = position_seen(session, principal, position_id, field=f"attendee_ids.{i}")
        if position.community_id != training.community_id:
            raise Invalid(f"attendee_ids.{i}", "no such position")
        attendees.append(position.id)
    session.add(training)
    session.flush()
    session.add_all(TrainingAttendee(id=new_id(), training_id=training.id, position_id=p) for p in attendees)
    return training


def visible_trainings(session: Session, principal: Principal, args: dict):
    """A manager the community's sessions; anyone else those they or their team attended (or gave)."""
    check_community(principal, args["community_id"])
    query = select(Training).where(Training.community_id == args["community_id"])
    seen = visible_positions(session, principal)
    if seen is not None:
        attended = select(TrainingAttendee.training_id).where(TrainingAttendee.position_id.in_(seen))
        query = query.where((Training.created_by == principal.subject) | Training.id.in_(attended))
    if args.get("topic"):
        query = query.where(Training.topic == args["topic"])
    return query.order_by(Training.held_on.desc(), Training.id)


def get_training(session: Session, principal: Principal, training_id: str) -> Training:
    return listed_record(session, principal, Training, training_id, visible_trainings, "training")


def mark_completed(
    session: Session, principal: Principal, training_id: str, position_id: str, completed: bool, now: datetime
) -> Training:
    """The trainer (or the manager) records whether an attendee completed the session."""
    require_role(principal, *TRAINERS)
    training = get_training(session, principal, training_id)
    attendee = session.execute(
        select(TrainingAttendee).where(
            TrainingAttendee.training_id == training.id, TrainingAttendee.position_id == position_id
        )
    ).scalar_one_or_none()
    if attendee is None:
        raise Invalid("position_id", "not an attendee of this session")
    position_seen(session, principal, position_id, field="position_id")
    attendee.completed, attendee.completed_at = completed, now if completed else None
    return training


def trainings_with_attendees(session: Session, principal: Principal, trainings: list[Training]) -> list[Training]:
    """Adds attendees (post id, name, completed) — those the caller sees only."""
    seen = visible_positions(session, principal)
    rows = session.execute(
        select(TrainingAttendee, Position.display_name)
        .join(Position, Position.id == TrainingAttendee.position_id)
        .where(TrainingAttendee.training_id.in_([t.id for t in trainings]))
        .order_by(Position.display_name)
    ).all()
    for training in trainings:
        training.attendees = [
            {"id": a.position_id, "name": name, "completed": a.completed, "completed_at": a.completed_at}
            for a, name in rows
            if a.training_id == training.id
            and (seen is None or a.position_id in seen or training.created_by == principal.subject)
        ]
    return trainings


# --- tools and items issued ------------------------------------------------------------------------------------------


def issue(session: Session, principal: Principal, data: dict, now: datetime) -> IssuedItem:
    """配发: a manager (or the senior butler, to their team) issues a tool or item to a post."""
    require_role(principal, *TRAINERS)
    position = position_seen(session, principal, data["position_id"], field="position_id")
    item = IssuedItem(
        id=new_id(),
        community_id=position.community_id,
        position_id=position.id,
        name=data["name"],
        quantity=data["quantity"],
        issued_on=data["issued_on"],
        note=data.get("note"),
        issued_by=principal.subject,
        created_at=now,
    )
    session.add(item)
    return item


def visible_items(session: Session, principal: Principal, args: dict):
    """A person their own, a senior butler the team's, a manager the community's; outstanding first."""
    check_community(principal, args["community_id"])
    query = select(IssuedItem).where(IssuedItem.community_id == args["community_id"])
    seen = visible_positions(session, principal)
    if seen is not None:
        query = query.where(IssuedItem.position_id.in_(seen))
    if args.get("position_id"):
        query = query.where(IssuedItem.position_id == args["position_id"])
    if args.get("outstanding") is not None:
        column = IssuedItem.returned_on
        query = query.where(column.is_(None) if args["outstanding"] else column.is_not(None))
    return query.order_by(IssuedItem.returned_on.is_not(None), IssuedItem.issued_on.desc(), IssuedItem.id)


def get_item(session: Session, principal: Principal, item_id: str) -> IssuedItem:
    return seen_record(session, principal, IssuedItem, item_id, "issued item")


def return_item(session: Session, principal: Principal, item_id: str, returned_on: date) -> IssuedItem:
    require_role(principal, *TRAINERS)
    item = get_item(session, principal, item_id)
    if item.returned_on is not None:
        raise Conflict("this item has been returned already")
    if returned_on < item.issued_on:
        raise Invalid("returned_on", "must not be before the day it was issued")
    item.returned_on = returned_on
    return item


def items_with_names(session: Session, items: list[IssuedItem]) -> list[IssuedItem]:
    names = dict(
        session.execute(
            select(Position.id, Position.display_name).where(Position.id.in_({i.position_id for i in items}))
        ).all()
    )
    for item in items:
        item.holder_name = names.get(item.position_id)
    return items
