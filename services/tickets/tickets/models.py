"""Tables of the tickets database: tickets and their timeline, SLA, visits, patrols, projections, outbox and inbox."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from guanjia.db import UtcDateTime
from guanjia.idempotency import define_idempotency
from guanjia.inbox import define_inbox
from guanjia.outbox import define_outbox


class Base(DeclarativeBase):
    pass


# The statuses of a ticket still being worked on (domain.common.OPEN_STATUSES), for the partial index of open lists.
OPEN_PREDICATE = "status IN ('new', 'assigned', 'in_progress', 'on_hold', 'reopened')"


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)
idempotency_keys = define_idempotency(Base.metadata)


class Unit(Base):
    """What tickets knows of a unit, built from unit.* events (and checked with residents on a miss)."""

    __tablename__ = "units"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    building_id: Mapped[str | None] = mapped_column(String(36))
    number: Mapped[str | None] = mapped_column(String(50))
    zone_id: Mapped[str | None] = mapped_column(String(36))
    label: Mapped[str | None] = mapped_column(String(150))  # `1栋1-101`, shown instead of the id
    # Time of the newest event applied: an older event never overwrites a newer one.
    source_time: Mapped[datetime] = mapped_column(UtcDateTime())


class Zone(Base):
    """What tickets knows of a zone (片区) and its butlers, built from zone.updated: default routing and coverage."""

    __tablename__ = "zones"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(100))
    butler_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of gateway user ids
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    source_time: Mapped[datetime] = mapped_column(UtcDateTime())


class Resident(Base):
    """What tickets knows of a resident (unit, community, status), built from resident.* events: the reporter a staff
    member names is checked here first, and with residents only when this does not say current."""

    __tablename__ = "residents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20))  # registered | moved_in | moved_out | removed
    # Time of the newest event (or answer of residents) applied: an older one never overwrites a newer one.
    source_time: Mapped[datetime] = mapped_column(UtcDateTime())


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Per-instance counter behind the number quoted to residents (T00000123): no collisions, no gaps to speak of.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    community_id: Mapped[str] = mapped_column(String(36))
    zone_id: Mapped[str | None] = mapped_column(String(36))
    unit_id: Mapped[str | None] = mapped_column(String(36))
    location: Mapped[str] = mapped_column(String(20), default="in_unit")
    category: Mapped[str] = mapped_column(String(20))
    subcategory: Mapped[str | None] = mapped_column(String(50))
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    channel: Mapped[str] = mapped_column(String(20), default="app")
    description: Mapped[str] = mapped_column(Text)
    reporter_id: Mapped[str | None] = mapped_column(String(36))
    # A resident asked for a quick response: the service desk triages it (POST /tickets/{id}/triage).
    urgent_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # 首问责任制: whoever took the ticket stays accountable until it is closed.
    first_responder: Mapped[str] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(30))
    assignee_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolution_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    visit_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    visit_attempts: Mapped[int] = mapped_column(Integer, default=0)
    visit_outcome: Mapped[str | None] = mapped_column(String(20))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    quote_fen: Mapped[int | None] = mapped_column(BigInteger)
    charge_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    round_id: Mapped[str | None] = mapped_column(String(36))
    # A renovation violation opens exactly one rectification ticket, however often the event arrives.
    violation_id: Mapped[str | None] = mapped_column(String(36))
    # A repair of a piece of equipment (a fault reported on it, or found by its maintenance): its history.
    equipment_id: Mapped[str | None] = mapped_column(String(36))
    # When the current hold began, and all the time held so far: the resolution clock stands still on hold.
    hold_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    held_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # A complaint's next staged feedback to the customer (阶段性反馈); null once the last one is given.
    next_feedback_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # When ticket.visit_overdue went out for the current resolution (cleared when it is resolved again).
    visit_overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        # Lists filter a community and sort by time; the included columns let the total count of a filtered
        # list (butler zones, assignee, status, kind) run as an index-only scan.
        Index(
            "ix_tickets_community_created_cover",
            "community_id",
            "created_at",
            postgresql_include=["status", "category", "zone_id", "assignee_id", "first_responder", "priority"],
        ),
        Index(
            "ix_tickets_open_community_created",
            "community_id",
            "created_at",
            postgresql_where=text(OPEN_PREDICATE),
            sqlite_where=text(OPEN_PREDICATE),
        ),
        Index("ix_tickets_community_status_created", "community_id", "status", "created_at"),
        Index("ix_tickets_zone_status_created", "zone_id", "status", "created_at"),
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        Index("ix_tickets_first_responder_status", "first_responder", "status"),
        Index("ix_tickets_reporter", "reporter_id"),
        Index("ix_tickets_unit", "unit_id"),
        Index("ix_tickets_equipment", "equipment_id"),
        UniqueConstraint("violation_id", name="uq_tickets_violation_id"),
        Index("ix_tickets_next_feedback", "next_feedback_at", postgresql_where=text("next_feedback_at IS NOT NULL")),
        # Free-text search (ILIKE '%…%', Chinese included) through pg_trgm; a plain index on SQLite.
        Index(
            "ix_tickets_description_trgm",
            "description",
            postgresql_using="gin",
            postgresql_ops={"description": "gin_trgm_ops"},
        ),
        # Words of two characters (no trigram): their character pairs (migration 0011's function; PostgreSQL only).
        Index("ix_tickets_description_bigrams", text("ticket_bigrams(description)"), postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
    )


class TicketNote(Base):
    """A progress note on a ticket: internal to the staff, or visible to the resident (a complaint's staged
    feedback is always the latter, with the date of the next one)."""

    __tablename__ = "ticket_notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))  # note | feedback
    visibility: Mapped[str] = mapped_column(String(20))  # internal | resident
    body: Mapped[str] = mapped_column(Text)
    next_feedback_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_ticket_notes_ticket_created", "ticket_id", "created_at"),
        Index("ix_ticket_notes_body_trgm", "body", postgresql_using="gin", postgresql_ops={"body": "gin_trgm_ops"}),
        Index("ix_ticket_notes_body_bigrams", text("ticket_bigrams(body)"), postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
    )


class TimelineEntry(Base):
    """One immutable step in a ticket's life: who did what, when, from which status to which, and why."""

    __tablename__ = "ticket_timeline"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(36))
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 … per ticket: steps in one instant keep their order
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON

    __table_args__ = (UniqueConstraint("ticket_id", "position", name="uq_ticket_timeline_position"),)


class CommunityConfig(Base):
    """Per-community rules: business hours, return-visit window, escalation and patrol coverage."""

    __tablename__ = "community_configs"
    community_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    business_day_start: Mapped[str] = mapped_column(String(5))  # "09:00" local time
    business_day_end: Mapped[str] = mapped_column(String(5))
    business_days: Mapped[str] = mapped_column(String(7))  # ISO weekdays, "12345" = Monday..Friday
    visit_due_hours: Mapped[int] = mapped_column(Integer)
    max_unreachable_attempts: Mapped[int] = mapped_column(Integer)
    escalate_after_minutes: Mapped[int] = mapped_column(Integer)
    patrol_every_days: Mapped[int] = mapped_column(Integer)
    # Kinds closed without a return visit (comma-separated categories): an enquiry answered needs no call back.
    direct_close_categories: Mapped[str] = mapped_column(
        String(200), default="inquiry,praise", server_default=text("'inquiry,praise'")
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SlaPolicy(Base):
    """A community's response and resolution times for one kind and priority (overrides the built-in default)."""

    __tablename__ = "sla_policies"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    category: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(20))
    response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    business_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("community_id", "category", "priority", name="uq_sla_policy"),)


class RoutingRule(Base):
    """Where a new ticket goes: the most specific matching rule wins; no match → the zone's butler."""

    __tablename__ = "routing_rules"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    category: Mapped[str | None] = mapped_column(String(20))
    subcategory: Mapped[str | None] = mapped_column(String(50))
    zone_id: Mapped[str | None] = mapped_column(String(36))
    department: Mapped[str] = mapped_column(String(30))
    assignee_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SlaBreach(Base):
    """One escalation step of one clock of one ticket: the unique key makes the check safe with many workers."""

    __tablename__ = "sla_breaches"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(36))
    clock: Mapped[str] = mapped_column(String(20))
    cycle: Mapped[int] = mapped_column(Integer)  # the ticket's reopen count: a reopened ticket runs its clocks anew
    level: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[datetime] = mapped_column(UtcDateTime())
    breached_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("ticket_id", "clock", "cycle", "level", name="uq_sla_breach"),)


class ReturnVisit(Base):
    """A return visit (回访) or an attempt at one."""

    __tablename__ = "return_visits"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(36), index=True)
    outcome: Mapped[str] = mapped_column(String(20))  # reached | unreachable
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    visited_by: Mapped[str] = mapped_column(String(100))
    visited_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Attachment(Base):
    """A photo or file on a ticket or a visit: metadata and the key under which the file store keeps it."""

    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(36), index=True)
    visit_id: Mapped[str | None] = mapped_column(String(36))
    storage_key: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Photo(Base):
    """A photo of an incident (optionally of one of its on-site log entries) or of a patrol finding."""

    __tablename__ = "photos"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20))  # incident | finding
    subject_id: Mapped[str] = mapped_column(String(36))
    log_id: Mapped[str | None] = mapped_column(String(36))  # the incident log entry it shows, if any
    storage_key: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_photos_subject", "subject_kind", "subject_id", "created_at"),)


class PatrolPlan(Base):
    __tablename__ = "patrol_plans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    zone_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(100))
    frequency: Mapped[str] = mapped_column(String(20))  # daily | weekly | every_n_days
    every_days: Mapped[int] = mapped_column(Integer)
    staff_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of gateway user ids
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Checkpoint(Base):
    __tablename__ = "patrol_checkpoints"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(64))  # printed on the QR/NFC tag scanned on site
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("plan_id", "code", name="uq_checkpoint_code"),)


class PatrolRound(Base):
    __tablename__ = "patrol_rounds"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(36), index=True)
    community_id: Mapped[str] = mapped_column(String(36))
    zone_id: Mapped[str] = mapped_column(String(36))
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(20))  # in_progress | completed

    __table_args__ = (Index("ix_patrol_rounds_zone_completed", "zone_id", "completed_at"),)


class CheckpointScan(Base):
    __tablename__ = "patrol_scans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    round_id: Mapped[str] = mapped_column(String(36))
    checkpoint_id: Mapped[str] = mapped_column(String(36))
    scanned_by: Mapped[str] = mapped_column(String(100))
    scanned_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("round_id", "checkpoint_id", name="uq_scan_once"),)


class Finding(Base):
    __tablename__ = "patrol_findings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    round_id: Mapped[str] = mapped_column(String(36), index=True)
    checkpoint_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))  # safety | engineering | environment
    severity: Mapped[str] = mapped_column(String(20))  # minor | major | critical
    description: Mapped[str] = mapped_column(Text)
    needs_work: Mapped[bool] = mapped_column(Boolean)
    ticket_id: Mapped[str | None] = mapped_column(String(36))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ZoneOverdue(Base):
    """One coverage gap reported: (zone, gap) is unique, so patrol.zone_overdue goes out once per gap."""

    __tablename__ = "zone_overdue"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(36))
    community_id: Mapped[str] = mapped_column(String(36))
    gap_key: Mapped[str] = mapped_column(String(40))  # the last round's time, or "never"
    last_round_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("zone_id", "gap_key", name="uq_zone_overdue_gap"),)


class Absence(Base):
    """A butler's leave with a stand-in (代岗), projected from staff.absence_started/_ended: while it runs, new tickets
    routed to the butler go to the stand-in."""

    __tablename__ = "absences"
    absence_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    butler_id: Mapped[str] = mapped_column(String(36), index=True)
    stand_in_id: Mapped[str] = mapped_column(String(36))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Incident(Base):
    """突发事件: one emergency run as one thing — its scope, severity, on-site timeline, people and aftermath."""

    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # open | contained | resolved | closed
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    notify_residents: Mapped[bool] = mapped_column(Boolean)
    on_site: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of gateway user ids
    summary: Mapped[str | None] = mapped_column(Text)  # the closure report's conclusion
    log_steps: Mapped[int] = mapped_column(Integer, default=0)  # entries in incident_log so far
    reported_by: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime())
    arrived_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    contained_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_incidents_community_reported", "community_id", "reported_at"),)


class IncidentScope(Base):
    """One affected unit, building or zone of an incident."""

    __tablename__ = "incident_scope"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # unit | building | zone
    target_id: Mapped[str] = mapped_column(String(36))

    __table_args__ = (UniqueConstraint("incident_id", "kind", "target_id", name="uq_incident_scope"),)


class IncidentTask(Base):
    """An aftermath task (善后) with its owner."""

    __tablename__ = "incident_tasks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IncidentLog(Base):
    """One step of an incident's on-site log: who, when, what, with a note."""

    __tablename__ = "incident_log"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(36))
    position: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("incident_id", "position", name="uq_incident_log_position"),)


class Equipment(Base):
    """设施设备台账: one piece of a community's equipment, where it is, who made and maintains it, its state."""

    __tablename__ = "equipment"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    zone_id: Mapped[str | None] = mapped_column(String(36))  # the zone its repair tickets are routed in
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(50))  # the asset tag, unique in the community
    building_id: Mapped[str | None] = mapped_column(String(36))
    floor: Mapped[str | None] = mapped_column(String(20))  # `B2`, `12`, `屋面`: a label, not a number
    room: Mapped[str | None] = mapped_column(String(50))
    location_note: Mapped[str | None] = mapped_column(String(200))
    maker: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    serial_number: Mapped[str | None] = mapped_column(String(100))
    installed_on: Mapped[date | None] = mapped_column(Date)
    contractor: Mapped[str | None] = mapped_column(String(100))  # the maintenance contractor (维保单位)
    state: Mapped[str] = mapped_column(String(20))
    state_note: Mapped[str | None] = mapped_column(Text)
    state_changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("community_id", "code", name="uq_equipment_community_code"),
        Index("ix_equipment_community_kind", "community_id", "kind"),
    )


class EquipmentCertificate(Base):
    """A certificate of a piece of equipment with its expiry (电梯年检, 特种设备使用登记, 消防检测, ...)."""

    __tablename__ = "equipment_certificates"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    equipment_id: Mapped[str] = mapped_column(String(36))
    community_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(40))
    number: Mapped[str | None] = mapped_column(String(100))
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_equipment_certificates_equipment", "equipment_id"),
        Index("ix_equipment_certificates_expiry", "community_id", "expires_on"),
    )


class MaintenancePlan(Base):
    """A maintenance plan of a piece of equipment: a checklist done daily, weekly, monthly or yearly."""

    __tablename__ = "maintenance_plans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    equipment_id: Mapped[str] = mapped_column(String(36))
    community_id: Mapped[str] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(200))
    frequency: Mapped[str] = mapped_column(String(20))
    checklist: Mapped[str] = mapped_column(Text)  # JSON list of the items to check
    starts_on: Mapped[date] = mapped_column(Date)
    assignee_id: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The next occurrence (number n from starts_on, and its date) the generation job has not made an order for.
    next_n: Mapped[int] = mapped_column(Integer, default=0)
    next_due_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_maintenance_plans_due", "next_due_on"),
        Index("ix_maintenance_plans_equipment", "equipment_id"),
    )


class MaintenanceOrder(Base):
    """A maintenance work order (保养工单): one per plan and due date, however many workers generate them."""

    __tablename__ = "maintenance_orders"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(36))
    equipment_id: Mapped[str] = mapped_column(String(36))
    community_id: Mapped[str] = mapped_column(String(36))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # open | done
    assignee_id: Mapped[str | None] = mapped_column(String(100))
    checklist: Mapped[str] = mapped_column(Text)  # the plan's items when the order was made (JSON)
    results: Mapped[str | None] = mapped_column(Text)  # JSON [{item, ok, note}]
    note: Mapped[str | None] = mapped_column(Text)
    fault_ticket_ids: Mapped[str] = mapped_column(Text, default="[]")  # repair tickets opened for faults found
    completed_by: Mapped[str | None] = mapped_column(String(100))
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # When equipment.maintenance_overdue went out for it (once).
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("plan_id", "due_on", name="uq_maintenance_orders_plan_due"),
        Index("ix_maintenance_orders_community_due", "community_id", "due_on"),
        Index("ix_maintenance_orders_equipment", "equipment_id"),
    )


class QualityCase(Base):
    """重大投诉 / 疑似负面信息: a case from the quality department, the 12345 hotline or the media, run to a closure
    report by its owner, listed for the manager until closed."""

    __tablename__ = "quality_cases"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))  # open | closed
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(String(100))
    ticket_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of the linked tickets
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime())
    report: Mapped[str | None] = mapped_column(Text)  # the closure report
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_quality_cases_community_deadline", "community_id", "deadline_at"),)


class QualityCaseFeedback(Base):
    """A stage feedback of a quality case: to the customer, or to the quality department."""

    __tablename__ = "quality_case_feedback"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36))
    audience: Mapped[str] = mapped_column(String(30))
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_quality_case_feedback_case", "case_id"),)


class AcceptanceTemplate(Base):
    """A community's own checklist for new-building acceptance (新楼验收); without one the default list is used."""

    __tablename__ = "acceptance_templates"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(100))
    items: Mapped[str] = mapped_column(Text)  # JSON list of {"category", "item"}
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AcceptancePlan(Base):
    """承接查验: the acceptance of one building, its inspectors and dates; the checklist is copied from the template
    when the plan is made (a template changed later does not change a plan under way)."""

    __tablename__ = "acceptance_plans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    building_id: Mapped[str] = mapped_column(String(36))
    zone_id: Mapped[str | None] = mapped_column(String(36))  # the building's zone (its butlers see the plan)
    name: Mapped[str] = mapped_column(String(200))
    inspector_ids: Mapped[str] = mapped_column(Text)  # JSON list of staff user ids
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    template_id: Mapped[str | None] = mapped_column(String(36))  # None: the default template
    items: Mapped[str] = mapped_column(Text)  # JSON list of {"category", "item"}
    status: Mapped[str] = mapped_column(String(20))  # open | closed
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_acceptance_plans_community", "community_id", "starts_on"),
        # One plan under way per building.
        Index(
            "ux_acceptance_plans_open_building",
            "community_id",
            "building_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )


class AcceptanceCheck(Base):
    """One unit's checklist of a plan, as inspected: every item's result (pass or defect) and note."""

    __tablename__ = "acceptance_checks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str] = mapped_column(String(36))
    community_id: Mapped[str] = mapped_column(String(36))
    results: Mapped[str] = mapped_column(Text)  # JSON list of {"position", "result", "note"}
    inspected_by: Mapped[str] = mapped_column(String(100))
    inspected_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("plan_id", "unit_id", name="uq_acceptance_checks_plan_unit"),)


class AcceptanceDefect(Base):
    """A defect found at acceptance: who must put it right (developer or contractor) and by when; re-inspected
    until it is rectified (closed)."""

    __tablename__ = "acceptance_defects"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(36))
    check_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str] = mapped_column(String(36))
    community_id: Mapped[str] = mapped_column(String(36))
    building_id: Mapped[str] = mapped_column(String(36))
    position: Mapped[int] = mapped_column(Integer)  # the checklist item (0-based)
    category: Mapped[str] = mapped_column(String(30))
    item: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    responsible_party: Mapped[str] = mapped_column(String(20))  # developer | contractor
    rectify_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # open | closed
    reinspections: Mapped[int] = mapped_column(Integer, default=0)
    last_reinspected_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_reinspection_note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_acceptance_defects_plan", "plan_id", "status"),
        Index("ix_acceptance_defects_unit", "unit_id", "status"),
    )


class AcceptanceDefectPhoto(Base):
    """A photo of an acceptance defect (at the finding or at a re-inspection), in the service's file store."""

    __tablename__ = "acceptance_defect_photos"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    defect_id: Mapped[str] = mapped_column(String(36), index=True)
    storage_key: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
