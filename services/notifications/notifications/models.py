"""Tables of the notifications database: the delivery log, outbox and inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from guanjia.inbox import define_inbox
from guanjia.outbox import define_outbox


class Base(DeclarativeBase):
    pass


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)


class Delivery(Base):
    """One message to one person on one channel because of one event (pending → sent | failed, or skipped)."""

    __tablename__ = "deliveries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))  # of the triggering event, e.g. "ticket/<id>"
    community_id: Mapped[str | None] = mapped_column(String(36))
    recipient_id: Mapped[str] = mapped_column(String(36))  # the resident id
    # Only the masked number is kept: the raw one is asked from residents at send time and then forgotten.
    recipient_masked: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(10))
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200))  # why skipped or failed
    provider: Mapped[str | None] = mapped_column(String(50))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # Exactly once per (event, person, channel): a second replica inserting the same row waits on this
        # index until the first commits, and then fails instead of sending the SMS again.
        UniqueConstraint("event_id", "recipient_id", "channel", name="uq_deliveries_event_recipient_channel"),
        Index("ix_deliveries_created", "created_at"),
        Index("ix_deliveries_community_created", "community_id", "created_at"),
        Index("ix_deliveries_recipient_created", "recipient_id", "created_at"),
        Index("ix_deliveries_subject", "subject"),
    )
