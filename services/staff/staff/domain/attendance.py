"""Attendance (考勤): clock-in and clock-out from the workbench, and each rostered shift's outcome — present, late,
absent or on leave — computed against the rota (attendance_rules), for a person, a team or a community; the
monthly sheet as XLSX."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc, new_id
from guanjia.errors import Conflict, Invalid

from ..models import ClockRecord, Department, Leave, Position, RotaEntry, ShiftTemplate
from .attendance_rules import EARLY, clock_in_counts, parse_clock, shift_outcome, shift_window
from .common import check_community, visible_positions

STATUS_NAMES = {
    "upcoming": "未开始",
    "on_duty": "当班中",
    "present": "出勤",
    "late": "迟到",
    "absent": "缺勤",
    "on_leave": "请假",
}


def _open_record(session: Session, user_id: str, community_id: str) -> ClockRecord | None:
    query = select(ClockRecord).where(
        ClockRecord.user_id == user_id, ClockRecord.community_id == community_id, ClockRecord.clock_out_at.is_(None)
    )
    return session.execute(query.with_for_update()).scalars().first()


def _own_post(session: Session, principal: Principal, position_id: str) -> Position:
    # The post's row is locked: two clock-ins racing (a double tap on two devices) are taken one after the other, so
    # the second sees the first's open record and is refused.
    position = session.get(Position, position_id, with_for_update=True)
    if position is None or position.user_id != principal.subject or not principal.sees_community(position.community_id):
        raise Invalid("position_id", "not one's own post")
    return position


def clock_in(session: Session, settings, principal: Principal, position_id: str, now: datetime) -> ClockRecord:
    """打卡上班: once until the clock-out (a second clock-in is refused, naming the first one's time)."""
    position = _own_post(session, principal, position_id)
    already = _open_record(session, position.user_id, position.community_id)
    if already is not None:
        raise Invalid("position_id", f"already clocked in at {_local(settings, already.clock_in_at)}")
    record = ClockRecord(
        id=new_id(),
        community_id=position.community_id,
        position_id=position.id,
        user_id=position.user_id,
        clock_in_at=now,
    )
    session.add(record)
    return record


def clock_out(session: Session, principal: Principal, position_id: str, now: datetime) -> ClockRecord:
    position = _own_post(session, principal, position_id)
    record = _open_record(session, position.user_id, position.community_id)
    if record is None:
        raise Conflict("not clocked in")
    record.clock_out_at = now
    return record


def current_record(session: Session, principal: Principal, community_id: str) -> ClockRecord | None:
    check_community(principal, community_id)
    query = select(ClockRecord).where(
        ClockRecord.user_id == principal.subject,
        ClockRecord.community_id == community_id,
        ClockRecord.clock_out_at.is_(None),
    )
    return session.execute(query).scalars().first()


def _local(settings, value: datetime) -> str:
    return as_utc(value).astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H:%M")


# --- the attendance of rostered shifts --------------------------------------------------------------------------------


def period_days(args: dict) -> tuple[date, date]:
    """The first and last day asked for: a month (2026-12), or from/to (at most 62 days)."""
    if args.get("month"):
        year, month = map(int, args["month"].split("-"))
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    first, last = args.get("day_from"), args.get("day_to")
    if first is None or last is None:
        raise Invalid("month", "give a month, or from and to")
    if last < first:
        raise Invalid("to", "must not be before from")
    if (last - first).days > 61:
        raise Invalid("to", "at most 62 days")
    return first, last


def rows(session: Session, settings, principal: Principal, args: dict, now: datetime) -> list[dict]:
    """Every rostered shift of the period the caller may see (their own; a senior butler the team's; a manager the
    community's), soonest first, with the clock-in and clock-out that count for it and its outcome."""
    check_community(principal, args["community_id"])
    first, last = period_days(args)
    query = (
        select(RotaEntry, ShiftTemplate, Position.display_name, Department.name)
        .join(ShiftTemplate, ShiftTemplate.id == RotaEntry.shift_id)
        .join(Position, Position.id == RotaEntry.position_id)
        .join(Department, Department.id == RotaEntry.department_id)
        .where(RotaEntry.community_id == args["community_id"], RotaEntry.day >= first, RotaEntry.day <= last)
    )
    seen = visible_positions(session, principal)
    if seen is not None:
        query = query.where(RotaEntry.position_id.in_(seen))
    for name in ("position_id", "department_id"):
        if args.get(name):
            query = query.where(getattr(RotaEntry, name) == args[name])
    found = session.execute(query.order_by(RotaEntry.day, ShiftTemplate.starts, Position.display_name)).all()
    users = {entry.user_id for entry, *_ in found}
    since, until = _utc_day(settings, first) - EARLY, _utc_day(settings, last + timedelta(days=2))
    records: dict[str, list[ClockRecord]] = {}
    for record in session.execute(
        select(ClockRecord).where(
            ClockRecord.user_id.in_(users), ClockRecord.clock_in_at >= since, ClockRecord.clock_in_at < until
        )
    ).scalars():
        records.setdefault(record.user_id, []).append(record)
    leaves: dict[str, list[tuple[datetime, datetime]]] = {}
    for leave in session.execute(
        select(Leave).where(
            Leave.user_id.in_(users), Leave.status == "approved", Leave.starts_at < until, Leave.ends_at > since
        )
    ).scalars():
        leaves.setdefault(leave.user_id, []).append((as_utc(leave.starts_at), as_utc(leave.ends_at)))
    answer = []
    for entry, shift, display_name, department_name in found:
        window = shift_window(entry.day, parse_clock(shift.starts), parse_clock(shift.ends), settings.timezone)
        mine = sorted(records.get(entry.user_id, []), key=lambda r: r.clock_in_at)
        counted = [r for r in mine if clock_in_counts(window, as_utc(r.clock_in_at))]
        outcome = shift_outcome(
            window, [as_utc(r.clock_in_at) for r in counted], leaves.get(entry.user_id, []), as_utc(now)
        )
        answer.append(
            {
                "entry_id": entry.id,
                "day": entry.day,
                "department_id": entry.department_id,
                "department_name": department_name,
                "shift_id": shift.id,
                "shift_name": shift.name,
                "starts_at": window[0],
                "ends_at": window[1],
                "position_id": entry.position_id,
                "user_id": entry.user_id,
                "display_name": display_name,
                "clock_in_at": counted[0].clock_in_at if counted else None,
                "clock_out_at": counted[0].clock_out_at if counted else None,
                "status": outcome.status,
                "late_minutes": outcome.late_minutes,
            }
        )
    return answer


def _utc_day(settings, day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), ZoneInfo(settings.timezone))


def to_xlsx(found: list[dict], timezone: str) -> bytes:
    """考勤表: one row per rostered shift (Chinese headers, names not ids, local times) and a summary per person."""
    from guanjia.workbook import Column, Workbook

    book = Workbook(timezone)
    book.sheet(
        "考勤明细",
        [
            Column("日期", "date"),
            Column("部门"),
            Column("姓名"),
            Column("班次"),
            Column("上班时间", "datetime"),
            Column("下班时间", "datetime"),
            Column("签到", "datetime"),
            Column("签退", "datetime"),
            Column("状态"),
            Column("迟到（分钟）", "int"),
        ],
        [
            [
                r["day"],
                r["department_name"],
                r["display_name"],
                r["shift_name"],
                r["starts_at"],
                r["ends_at"],
                r["clock_in_at"],
                r["clock_out_at"],
                STATUS_NAMES[r["status"]],
                r["late_minutes"] or None,
            ]
            for r in found
        ],
    )
    totals: dict[str, dict] = {}
    for r in found:
        person = totals.setdefault(r["position_id"], {"name": r["display_name"], "shifts": 0})
        person["shifts"] += 1
        person[r["status"]] = person.get(r["status"], 0) + 1
        person["late_minutes"] = person.get("late_minutes", 0) + r["late_minutes"]
    book.sheet(
        "考勤汇总",
        [
            Column("姓名"),
            Column("排班", "int"),
            Column("出勤", "int"),
            Column("迟到", "int"),
            Column("迟到合计（分钟）", "int"),
            Column("缺勤", "int"),
            Column("请假", "int"),
        ],
        [
            [
                p["name"],
                p["shifts"],
                p.get("present", 0),
                p.get("late", 0),
                p.get("late_minutes", 0),
                p.get("absent", 0),
                p.get("on_leave", 0),
            ]
            for p in totals.values()
        ],
    )
    return book.to_bytes()
