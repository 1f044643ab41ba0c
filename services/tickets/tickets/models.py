"""Tables of the tickets database: tickets, the projection of units, outbox and inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from guanjia.idempotency import define_idempotency
from guanjia.inbox import define_inbox
from guanjia.outbox import define_outbox


class Base(DeclarativeBase):
    pass


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
    # Time of the newest event applied: an older event never overwrites a newer one.
    source_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Per-instance counter behind the number quoted to residents (T00000123): no collisions, no gaps to speak of.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    community_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str] = mapped_column(String(36))
    category: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    reporter_id: Mapped[str] = mapped_column(String(36))
    # 首问责任制: whoever took the ticket stays accountable until it is closed.
    first_responder: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_tickets_community_created", "community_id", "created_at"),
        Index("ix_tickets_reporter", "reporter_id"),
        Index("ix_tickets_unit", "unit_id"),
    )
