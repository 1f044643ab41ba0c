"""Tables of the community database: the unit projection, knowledge base, directory, surveys, catalogue, activities,
greetings and reminders, outbox and inbox."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Computed, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column

from guanjia.db import UtcDateTime
from guanjia.inbox import define_inbox
from guanjia.outbox import define_outbox


class Base(DeclarativeBase):
    pass


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)


class Unit(Base):
    """What community knows of a unit (a household), built from unit.* events: a survey's audience by zone."""

    __tablename__ = "units"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    building_id: Mapped[str | None] = mapped_column(String(36))
    zone_id: Mapped[str | None] = mapped_column(String(36))
    label: Mapped[str | None] = mapped_column(String(150))  # `1栋1-101`, shown instead of the id
    # Time of the newest event applied: an older event never overwrites a newer one.
    source_time: Mapped[datetime] = mapped_column(UtcDateTime())


class Zone(Base):
    """What community knows of a zone (片区), from zone.updated: its name for the reports."""

    __tablename__ = "zones"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(100))
    source_time: Mapped[datetime] = mapped_column(UtcDateTime())


class KnowledgeEntry(Base):
    """One question and answer of the front desk's 百问百答, with who is responsible for the matter."""

    __tablename__ = "knowledge_entries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    category: Mapped[str] = mapped_column(String(30))
    question: Mapped[str] = mapped_column(String(200))
    answer: Mapped[str] = mapped_column(Text)
    responsible_party: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))  # draft | published
    review_by: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Every character and pair of adjacent characters of the question and of the answer, kept by PostgreSQL (the
    # function is in migration 0006): what the search's GIN index looks a query's pairs up in. Never loaded. On
    # SQLite (the embedded mode's small instances) a plain empty column: the search there is the LIKE alone.
    search_grams: Mapped[list[str] | None] = deferred(
        mapped_column(
            Text().with_variant(ARRAY(Text), "postgresql"),
            Computed("knowledge_grams(question::text) || knowledge_grams(answer)"),
        )
    )

    __table_args__ = (
        Index("ix_knowledge_community_category", "community_id", "category"),
        Index("ix_knowledge_community_review", "community_id", "review_by"),
        Index("ix_knowledge_community_order", "community_id", "category", "question", "id"),
        Index("ix_knowledge_search_grams", "search_grams", postgresql_using="gin"),
    )


class DirectoryEntry(Base):
    """A neighbourhood service (周边衣食住行) or a utility's or government hotline (水电气, 街道, 12345)."""

    __tablename__ = "directory_entries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))  # local_service | hotline
    category: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))  # an organisation's number, not a person's
    address: Mapped[str | None] = mapped_column(String(200))
    hours: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))  # draft | published
    review_by: Mapped[date] = mapped_column(Date)
    updated_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_directory_community_kind", "community_id", "kind"),)


class Survey(Base):
    """A satisfaction survey (满意度调查): draft → open (questions frozen, audience drawn) → closed (report kept)."""

    __tablename__ = "surveys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # draft | open | closed
    anonymous: Mapped[bool] = mapped_column(default=False)
    zone_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON; empty: the whole community
    # JSON; empty: no narrowing by building. Zones and buildings together: the households in both.
    building_ids: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    sample_size: Mapped[int | None] = mapped_column(Integer)  # None: every household
    seed: Mapped[int] = mapped_column(Integer)
    # A 1–5 answer at or below this (or a 0–10 answer at or below twice it) opens a follow-up complaint.
    low_score: Mapped[int] = mapped_column(Integer, default=2)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    report: Mapped[str | None] = mapped_column(Text)  # JSON of the analysis, computed once at close


class SurveyQuestion(Base):
    __tablename__ = "survey_questions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    service_line: Mapped[str] = mapped_column(String(30))  # the section
    kind: Mapped[str] = mapped_column(String(20))  # single | multiple | scale_5 | nps | text
    text: Mapped[str] = mapped_column(String(300))
    options: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of labels (choice questions)
    required: Mapped[bool] = mapped_column(default=True)


class SurveyHousehold(Base):
    """A household drawn into an open survey's audience (frozen at open: the denominator of the response rate)."""

    __tablename__ = "survey_households"
    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    zone_id: Mapped[str | None] = mapped_column(String(36))


class SurveyAnswer(Base):
    """One household's answers (one per household and survey, by the resident or recorded by the butler)."""

    __tablename__ = "survey_answers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.id"))
    unit_id: Mapped[str] = mapped_column(String(36))
    zone_id: Mapped[str | None] = mapped_column(String(36))
    channel: Mapped[str] = mapped_column(String(20))  # mobile | phone | visit
    answers: Mapped[str] = mapped_column(Text)  # JSON {question_id: value}
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("survey_id", "unit_id", name="uq_survey_answers_household"),)


class CatalogueItem(Base):
    """A special or paid service (特约服务, 有偿服务) a community offers: moving, housekeeping, errands, ..."""

    __tablename__ = "catalogue_items"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(1000))
    pricing: Mapped[str] = mapped_column(String(20))  # fixed | per_unit | quoted | free
    price_fen: Mapped[int | None] = mapped_column(Integer)  # fixed: the price; per_unit: per unit; else None
    unit_name: Mapped[str | None] = mapped_column(String(20))  # 小时, 次, 件 (per_unit)
    provider: Mapped[str] = mapped_column(String(20))  # own_staff | partner
    partner_name: Mapped[str | None] = mapped_column(String(100))
    lead_days: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ServiceOrder(Base):
    """An order of a catalogue item for a household: requested → scheduled → completed (→ rated), or cancelled."""

    __tablename__ = "service_orders"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str] = mapped_column(String(36))
    zone_id: Mapped[str | None] = mapped_column(String(36))
    item_id: Mapped[str] = mapped_column(ForeignKey("catalogue_items.id"))
    item_name: Mapped[str] = mapped_column(String(100))  # as it was ordered (the bill line's name)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    amount_fen: Mapped[int | None] = mapped_column(Integer)  # None until a quoted order is priced
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))
    scheduled_for: Mapped[datetime | None] = mapped_column(UtcDateTime())
    rating: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_service_orders_community_created", "community_id", "created_at"),
        Index("ix_service_orders_unit", "unit_id"),
    )


class Activity(Base):
    """A community activity or owner meeting (社区文化活动, 业主见面会) with its capacity and sign-up window."""

    __tablename__ = "activities"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # festival | sport | culture | volunteer | owner_meeting
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    signup_closes_at: Mapped[datetime] = mapped_column(UtcDateTime())
    capacity: Mapped[int] = mapped_column(Integer)  # people, not households
    waiting_list: Mapped[bool] = mapped_column(default=True)
    # The audience (JSON lists of ids; both empty: the whole community; both given: the households in both).
    zone_ids: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    building_ids: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    status: Mapped[str] = mapped_column(String(20))  # draft | published | cancelled
    minutes: Mapped[str | None] = mapped_column(Text)  # an owner meeting's minutes
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SignUp(Base):
    """A household's sign-up: confirmed within the capacity, else waiting; checked in on the day."""

    __tablename__ = "activity_signups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activities.id"), index=True)
    unit_id: Mapped[str] = mapped_column(String(36))
    zone_id: Mapped[str | None] = mapped_column(String(36))
    people: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # confirmed | waiting | cancelled
    signed_up_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("activity_id", "unit_id", name="uq_activity_signups_household"),)


class ActivityPhoto(Base):
    """A photo of an activity (JPEG, PNG, WebP; the type proven by its content), kept in the service's file store."""

    __tablename__ = "activity_photos"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activities.id"), index=True)
    storage_key: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MeetingIssue(Base):
    """An issue raised at an owner meeting (业主见面会), by a household or in general; it may become a ticket."""

    __tablename__ = "meeting_issues"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activities.id"), index=True)
    community_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str | None] = mapped_column(String(36))  # the household that raised it, if one did
    zone_id: Mapped[str | None] = mapped_column(String(36))
    topic: Mapped[str] = mapped_column(String(30))  # a code: lift | parking | ... (what the ticket is told)
    description: Mapped[str] = mapped_column(Text)  # stays here: never in an event
    status: Mapped[str] = mapped_column(String(20))  # open | ticket_requested | closed
    ticket_category: Mapped[str | None] = mapped_column(String(30))
    raised_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ticket_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Greeting(Base):
    """A resident's opt-in to birthday greetings (生日祝福): the birth month and day, kept for that purpose only
    (never in an event or a log; shown to nobody but the resident). Opting out deletes the row."""

    __tablename__ = "greetings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    unit_id: Mapped[str] = mapped_column(String(36))
    zone_id: Mapped[str | None] = mapped_column(String(36))
    resident_id: Mapped[str] = mapped_column(String(64), unique=True)
    birth_month: Mapped[int] = mapped_column(Integer)
    birth_day: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_greetings_birthday", "birth_month", "birth_day"),)


class Reminder(Base):
    """A custom reminder (事务提醒) a butler schedules for a household: one-off or repeating from `next_due`."""

    __tablename__ = "reminders"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    unit_id: Mapped[str] = mapped_column(String(36))
    zone_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(30))  # gas_safety_check | key_collection | document_expiry | ...
    note: Mapped[str | None] = mapped_column(String(500))  # staff's own note: never in the event or the SMS
    repeat: Mapped[str] = mapped_column(String(20))  # none | monthly | quarterly | yearly
    first_due: Mapped[date] = mapped_column(Date)  # the day repeats are counted from (keeps the 31st a 31st)
    next_due: Mapped[date | None] = mapped_column(Date)  # None once a one-off has been sent
    status: Mapped[str] = mapped_column(String(20))  # active | done | cancelled
    occurrence: Mapped[int] = mapped_column(Integer, default=0)  # which occurrence next_due is (0: first_due)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_reminders_status_due", "status", "next_due"),)


class SurveyReminder(Base):
    """A reminder sent to a household that has not answered an open survey: at most one per household and day."""

    __tablename__ = "survey_reminders"
    survey_id: Mapped[str] = mapped_column(ForeignKey("surveys.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the local day it was sent
    sent_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DueNotice(Base):
    """One row per greeting, reminder occurrence or activity sign-up reminded: the job's once-only mark across replicas and re-runs
    (written with insert-if-absent in the transaction that writes the event)."""

    __tablename__ = "due_notices"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # greeting | reminder | activity (a sign-up)
    ref_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    due_on: Mapped[date] = mapped_column(Date, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
