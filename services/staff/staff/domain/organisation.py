"""The organisation: departments and positions (of gateway user ids), with reports-to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal, require_role
from guanjia.db import new_id
from guanjia.errors import Invalid, NotFound

from ..models import Department, Position
from .common import DEPARTMENT_NAMES, MANAGERS, check_community

# --- departments and positions ------------------------------------------------------------------------------------


def create_department(session: Session, principal: Principal, data: dict, now: datetime) -> Department:
    require_role(principal, *MANAGERS)
    check_community(principal, data["community_id"])
    taken = session.execute(
        select(Department.id).where(Department.community_id == data["community_id"], Department.kind == data["kind"])
    ).first()
    if taken:
        raise Invalid("kind", "this community already has this department")
    department = Department(
        id=new_id(),
        community_id=data["community_id"],
        kind=data["kind"],
        name=data.get("name") or DEPARTMENT_NAMES[data["kind"]],
        created_at=now,
    )
    session.add(department)
    return department


def list_departments(principal: Principal, community_id: str):
    check_community(principal, community_id)
    return select(Department).where(Department.community_id == community_id).order_by(Department.kind)


def create_position(session: Session, principal: Principal, data: dict, now: datetime) -> Position:
    require_role(principal, *MANAGERS)
    department = session.get(Department, data["department_id"])
    if department is None or not principal.sees_community(department.community_id):
        raise Invalid("department_id", "no such department")
    community_id = department.community_id
    if data.get("reports_to_id"):
        superior = session.get(Position, data["reports_to_id"])
        if superior is None or superior.community_id != community_id:
            raise Invalid("reports_to_id", "no such position in this community")
    held = session.execute(
        select(Position.id).where(Position.community_id == community_id, Position.user_id == data["user_id"])
    ).first()
    if held:
        raise Invalid("user_id", "this person already holds a position in this community")
    position = Position(
        id=new_id(),
        community_id=community_id,
        department_id=department.id,
        title=data["title"],
        user_id=data["user_id"],
        display_name=data["display_name"],
        reports_to_id=data.get("reports_to_id"),
        created_at=now,
    )
    session.add(position)
    return position


def list_positions(session: Session, principal: Principal, community_id: str):
    """The community's organisation chart: posts, titles, holders' display names and reports-to are what every member
    of staff works with (whom to ask, whom to name as stand-in); their records (leave, scorecards, tasks) are not."""
    check_community(principal, community_id)
    return select(Position).where(Position.community_id == community_id).order_by(Position.created_at, Position.id)


def get_position(session: Session, principal: Principal, position_id: str) -> Position:
    position = session.get(Position, position_id)
    if position is None or not principal.sees_community(position.community_id):
        raise NotFound(f"position {position_id} not found")
    return position
