"""Tables of the notifications database: the delivery log, outbox and inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from guanjia.db import UtcDateTime
from guanjia.inbox import define_inbox
from guanjia.outbox import define_outbox


class Base(DeclarativeBase):
    pass


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)


class Delivery(Base):
    """One message to one person on one channel because of one event, notice or direct message.

    pending → sending → sent → delivered | failed, or skipped (no contact, opted out). The row is written (and
    committed) before anything is sent; the dispatcher claims due rows, sends, and records the outcome.
    """

    __tablename__ = "deliveries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # For a notice the notice id, for a direct message the delivery id (the unique key needs a value).
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="event", server_default="event")  # event|notice|message
    subject: Mapped[str] = mapped_column(String(200))  # of the triggering event, e.g. "ticket/<id>"
    community_id: Mapped[str | None] = mapped_column(String(36))
    # A resident id, a gateway user id, or for a direct message a keyed hash of the number (for the caps).
    recipient_id: Mapped[str] = mapped_column(String(36))
    recipient_kind: Mapped[str] = mapped_column(String(20), default="resident", server_default="resident")
    # Only the masked number is kept: the raw one is asked from residents at send time and then forgotten.
    recipient_masked: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(10))
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200))  # why skipped or failed
    provider: Mapped[str | None] = mapped_column(String(50))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    template: Mapped[str | None] = mapped_column(String(50))
    variables: Mapped[str | None] = mapped_column(Text)  # JSON of the template's variables (no personal data)
    # A direct message's number and variables (a sign-in code), encrypted; erased once the outcome is known.
    secret: Mapped[str | None] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    essential: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Set when a worker died between the provider's answer and our commit: the resend may be a duplicate.
    duplicate_risk: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    error_code: Mapped[str | None] = mapped_column(String(100))
    segments: Mapped[int | None] = mapped_column(Integer)
    resent_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    notice_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        # Exactly once per (event, person, channel): a second replica inserting the same row waits on this
        # index until the first commits, and then fails instead of sending the SMS again.
        UniqueConstraint("event_id", "recipient_id", "channel", name="uq_deliveries_event_recipient_channel"),
        Index("ix_deliveries_created", "created_at"),
        Index("ix_deliveries_community_created", "community_id", "created_at"),
        Index("ix_deliveries_recipient_created", "recipient_id", "created_at"),
        Index("ix_deliveries_subject", "subject"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_recipient_sent", "recipient_id", "sent_at"),
        Index("ix_deliveries_community_sent", "community_id", "sent_at"),
        Index("ix_deliveries_provider_message", "provider", "provider_message_id"),
        Index("ix_deliveries_notice", "notice_id"),
    )


class SmsCounter(Base):
    """SMS counted against a cap in one window: per recipient per day and per minute, per community per day.

    Raised when the dispatcher claims a message (in the claim's transaction, the row locked until it commits) and
    lowered again when the claim ends without a message accepted by a provider, so a cap check reads a few rows
    whatever the day's volume. `window_start` is the local day's start or the minute, in UTC."""

    __tablename__ = "sms_counters"
    scope: Mapped[str] = mapped_column(String(20), primary_key=True)  # recipient_day|recipient_minute|community_day
    key: Mapped[str] = mapped_column(String(36), primary_key=True)  # recipient or community id
    window_start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_sms_counters_window", "window_start"),)


class Notice(Base):
    """A community notice (社区公告) fanned out to the residents of a community, building or zone."""

    __tablename__ = "notices"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    scope: Mapped[str] = mapped_column(String(20))  # community|building|zone
    target_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(String(300))
    # The long form for the inbox and WeChat (title, body without a length cap, links); null = the SMS form.
    long_title: Mapped[str | None] = mapped_column(String(100))
    long_body: Mapped[str | None] = mapped_column(Text)
    links: Mapped[str | None] = mapped_column(Text)  # JSON list of {"title", "url"}
    images: Mapped[str | None] = mapped_column(Text)  # JSON list of {"url", "alt"} (https addresses)
    urgent: Mapped[bool] = mapped_column(Boolean)
    essential: Mapped[bool] = mapped_column(Boolean)
    recipients: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TemplateOverride(Base):
    """An operator's own wording of a template in one locale (checked against the template's variables)."""

    __tablename__ = "template_overrides"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    locale: Mapped[str] = mapped_column(String(10), primary_key=True)
    text: Mapped[str] = mapped_column(String(500))
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InboxMessage(Base):
    """A notification as it lands in a resident's or a staff member's in-app inbox: full text, no length cap.

    Written in the transaction that plans the event's deliveries, so it exists exactly once per (event, recipient)
    — the inbox channel's key, as deliveries are keyed per (event, recipient, channel) — whatever else fails."""

    __tablename__ = "inbox_messages"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))  # the event's id, or the notice id
    event_type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # event|notice
    subject: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str | None] = mapped_column(String(36))
    recipient_id: Mapped[str] = mapped_column(String(36))  # a resident id or a gateway user id
    recipient_kind: Mapped[str] = mapped_column(String(20))  # resident|user
    notice_id: Mapped[str | None] = mapped_column(String(36))
    template: Mapped[str | None] = mapped_column(String(50))
    locale: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    links: Mapped[str | None] = mapped_column(Text)  # JSON list of {"title", "url"}
    images: Mapped[str | None] = mapped_column(Text)  # JSON list of {"url", "alt"} (https addresses)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id", name="uq_inbox_messages_event_recipient"),
        Index("ix_inbox_messages_recipient_created", "recipient_id", "created_at"),
    )


class OptOut(Base):
    """A resident who asked for no non-essential messages (besides the flag residents may hold)."""

    __tablename__ = "opt_outs"
    recipient_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ChannelOptOut(Base):
    """A resident who asked for nothing on one pushed channel (`sms`, `wechat`); the inbox always receives."""

    __tablename__ = "channel_opt_outs"
    recipient_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CommunityQuietHours(Base):
    """A community's choice of which channels may carry non-urgent messages during quiet hours. No row: the
    instance's default (GUANJIA_WECHAT_QUIET_HOURS); SMS always keeps quiet hours, the inbox never holds."""

    __tablename__ = "community_quiet_hours"
    community_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    wechat_at_night: Mapped[bool] = mapped_column(Boolean)
    updated_by: Mapped[str | None] = mapped_column(String(36))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WechatBinding(Base):
    """A resident's WeChat (their openid at the official account) bound to their household: template messages go
    there instead of SMS. The openid is personal data: sealed by the library's PII scheme, found by its keyed hash."""

    __tablename__ = "wechat_bindings"
    resident_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(36))
    community_id: Mapped[str | None] = mapped_column(String(36))
    openid: Mapped[str] = mapped_column(Text)  # guanjia.pii.encrypt_pii
    openid_hash: Mapped[str] = mapped_column(String(64), index=True)  # guanjia.pii.pii_lookup_hash
    openid_masked: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WechatBindingCode(Base):
    """A one-time code a butler gives a household to bind a resident's WeChat; only its keyed hash is kept."""

    __tablename__ = "wechat_binding_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(36))
    community_id: Mapped[str | None] = mapped_column(String(36))
    issued_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    redeemed_by: Mapped[str | None] = mapped_column(String(36))  # the resident id
    redeemed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ReportMail(Base):
    """One scheduled report (a community's delivery statistics for a week or a month) to one manager's address by
    e-mail: once per (community, period, address) — the unique key. The address itself is not kept."""

    __tablename__ = "report_mails"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    period: Mapped[str] = mapped_column(String(10))  # weekly|monthly
    period_start: Mapped[str] = mapped_column(String(10))  # the local first day, ISO
    recipient_hash: Mapped[str] = mapped_column(String(64))  # guanjia.pii.pii_lookup_hash of the address
    recipient_masked: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # 'sending' since: the lease starts here
    # A worker was lost between the relay's answer and the commit; this mail was sent once more and may arrive twice.
    duplicate_risk: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        UniqueConstraint(
            "community_id", "period", "period_start", "recipient_hash", name="uq_report_mails_report_recipient"
        ),
        Index("ix_report_mails_status", "status"),
    )
