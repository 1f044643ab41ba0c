"""Tables of the billing database: the projection of units, outbox and inbox."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, Index, Integer, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from guanjia.inbox import define_inbox
from guanjia.outbox import define_outbox


class Base(DeclarativeBase):
    pass


# Billing publishes nothing yet (bill.issued, payment.received come next); the outbox is ready for them.
outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)


class BillingUnit(Base):
    """What billing knows of a unit (its area is what fees are charged on), built from unit.* events."""

    __tablename__ = "billing_units"
    unit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    building_id: Mapped[str | None] = mapped_column(String(36))
    number: Mapped[str | None] = mapped_column(String(50))
    floor: Mapped[int | None] = mapped_column(Integer)
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    status: Mapped[str | None] = mapped_column(String(20))
    # Time of the newest event (or residents answer) applied: an older event never overwrites a newer one.
    source_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_billing_units_community_number", "community_id", "number"),)
