"""Tables of the staff database: departments, positions (with reports-to), leave requests, outbox and inbox."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from guanjia.db import UtcDateTime
from guanjia.inbox import define_inbox
from guanjia.outbox import define_outbox


class Base(DeclarativeBase):
    pass


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)


class Department(Base):
    """客服, 工程, 秩序安管, 保洁, 绿化 — one of each kind per community at most."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("community_id", "kind", name="uq_departments_community_kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Position(Base):
    """A post held by one person (a gateway user id), in a department, reporting to another post."""

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("community_id", "user_id", name="uq_positions_community_user"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    title: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    # The name shown on screens (the person's staff display name, given when the post is filled).
    display_name: Mapped[str] = mapped_column(String(100))
    reports_to_id: Mapped[str | None] = mapped_column(ForeignKey("positions.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Leave(Base):
    """A leave request; approved by the holder's superior, with a stand-in who covers the zones meanwhile."""

    __tablename__ = "leaves"
    __table_args__ = (
        Index("ix_leaves_user_period", "user_id", "starts_at", "ends_at"),
        Index("ix_leaves_status_starts", "status", "starts_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    stand_in_position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"))
    stand_in_user_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(20))  # pending, approved, rejected, cancelled
    decided_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When the scheduled job announced the absence's start and end (staff.absence_started / _ended).
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Scorecard(Base):
    """A butler's monthly scorecard: the measured figures (from billing's API, never its database) and, for the
    pay rule's period, the grade change it gives; beside them the superior's score and comments."""

    __tablename__ = "scorecards"
    __table_args__ = (UniqueConstraint("position_id", "month", name="uq_scorecards_position_month"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    month: Mapped[str] = mapped_column(String(7))  # 2026-11
    # Billing's figures as it answered them (decimal strings: money in yuan, rates as ratios "0.8750").
    receivable: Mapped[str | None] = mapped_column(String(20), nullable=True)
    collected: Mapped[str | None] = mapped_column(String(20), nullable=True)
    collection_rate: Mapped[str | None] = mapped_column(String(10), nullable=True)
    pay_period: Mapped[str] = mapped_column(String(7))  # 2026-H2
    period_collection_rate: Mapped[str | None] = mapped_column(String(10), nullable=True)
    grade_change: Mapped[int | None] = mapped_column(nullable=True)
    target_met: Mapped[bool | None] = mapped_column(nullable=True)
    # Tickets' figures for the butler's zones (its API, role service): tickets and resolved ones, resolution SLA
    # compliance, satisfaction of the return visits, patrol coverage; residents': familiarity and communication.
    tickets: Mapped[int | None] = mapped_column(nullable=True)
    tickets_resolved: Mapped[int | None] = mapped_column(nullable=True)
    sla_compliance: Mapped[str | None] = mapped_column(String(10), nullable=True)
    satisfaction_average: Mapped[str | None] = mapped_column(String(10), nullable=True)
    satisfied_rate: Mapped[str | None] = mapped_column(String(10), nullable=True)
    patrol_coverage: Mapped[str | None] = mapped_column(String(10), nullable=True)
    familiarity: Mapped[str | None] = mapped_column(String(10), nullable=True)
    communication: Mapped[str | None] = mapped_column(String(10), nullable=True)
    measured_at: Mapped[datetime] = mapped_column(UtcDateTime())
    score: Mapped[int | None] = mapped_column(nullable=True)  # the superior's, 0–100
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    scored_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    scored_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Task(Base):
    """领导交办: a task handed down to a post, with a due date; announced once when overdue (task.overdue)."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_status_due", "status", "due_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"))
    assignee_id: Mapped[str] = mapped_column(String(36))  # the post holder's gateway user id
    assigner_id: Mapped[str] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(20))  # open, done, cancelled
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)  # when task.overdue went out
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)  # when task.due_soon went out
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @property
    def overdue(self) -> bool:
        return self.overdue_at is not None


class ShiftTemplate(Base):
    """A shift of a department (早班 08:00–16:00, 夜班 22:00–06:00 crossing midnight) and how many must work it."""

    __tablename__ = "shift_templates"
    __table_args__ = (UniqueConstraint("department_id", "name", name="uq_shift_templates_department_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    name: Mapped[str] = mapped_column(String(50))
    starts: Mapped[str] = mapped_column(String(5))  # local time, 08:00
    ends: Mapped[str] = mapped_column(String(5))  # local time; at or before `starts`: ends the next day
    min_staff: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RotaEntry(Base):
    """One person on one shift on one day of a department's weekly rota (排班)."""

    __tablename__ = "rota_entries"
    __table_args__ = (
        UniqueConstraint("position_id", "day", "shift_id", name="uq_rota_entries_position_day_shift"),
        Index("ix_rota_entries_department_day", "department_id", "day"),
        Index("ix_rota_entries_user_day", "user_id", "day"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    shift_id: Mapped[str] = mapped_column(ForeignKey("shift_templates.id"))
    position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    day: Mapped[date] = mapped_column(Date())
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ShiftSwap(Base):
    """换班: a person asks to hand one of their rostered shifts to a colleague; the superior approves."""

    __tablename__ = "shift_swaps"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("rota_entries.id", ondelete="CASCADE"))
    position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"))  # who gives the shift away
    with_position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"))  # who takes it
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # pending, approved, rejected
    decided_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ClockRecord(Base):
    """打卡: a clock-in from the workbench and, later, its clock-out (no GPS)."""

    __tablename__ = "clock_records"
    __table_args__ = (Index("ix_clock_records_user_in", "user_id", "clock_in_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    clock_in_at: Mapped[datetime] = mapped_column(UtcDateTime())
    clock_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class WorkPlan(Base):
    """工作计划: a monthly (2026-11) or quarterly (2026-Q4) plan of a person, a zone (片区) or the community; its
    summary (the holder's text beside the measured figures of that scope, pulled as the scorecard pulls them) and
    the review."""

    __tablename__ = "work_plans"
    __table_args__ = (UniqueConstraint("scope", "target_id", "kind", "period", name="uq_work_plans_target_period"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    scope: Mapped[str] = mapped_column(String(20), default="person", server_default="person")  # person, zone, community
    # Whose plan: the post (person), the zone id (zone) or the community id (community) — one plan a period each.
    target_id: Mapped[str] = mapped_column(String(36))
    position_id: Mapped[str | None] = mapped_column(ForeignKey("positions.id"), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    zone_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(20))  # monthly, quarterly
    period: Mapped[str] = mapped_column(String(7))
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The figures of the period as measured when the summary was written: {name: value}, the scorecard's names.
    figures: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    summarised_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    review: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PlanItem(Base):
    """One item of a work plan: what, whose (a post), by when, and where it stands."""

    __tablename__ = "plan_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("work_plans.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # open, done, dropped
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Meeting(Base):
    """例会: a meeting of a community's staff — when, who attended, the minutes; its action items become tasks."""

    __tablename__ = "meetings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[str | None] = mapped_column(Text, nullable=True)
    task_ids: Mapped[list] = mapped_column(JSON)  # the tasks its action items became
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MeetingAttendee(Base):
    __tablename__ = "meeting_attendees"
    __table_args__ = (UniqueConstraint("meeting_id", "position_id", name="uq_meeting_attendees"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"), index=True)
    position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"), index=True)


class Training(Base):
    """A training session (e.g. 百问百答): topic, date, attendees and whether each completed it."""

    __tablename__ = "trainings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    topic: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TrainingAttendee(Base):
    __tablename__ = "training_attendees"
    __table_args__ = (UniqueConstraint("training_id", "position_id", name="uq_training_attendees"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    training_id: Mapped[str] = mapped_column(ForeignKey("trainings.id"), index=True)
    position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"), index=True)
    completed: Mapped[bool] = mapped_column(default=False)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class IssuedItem(Base):
    """配发工具物品: a tool or item issued to a person, and when it came back."""

    __tablename__ = "issued_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(default=1)
    issued_on: Mapped[date] = mapped_column(Date)
    returned_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    issued_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
