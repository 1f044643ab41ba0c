"""Notification use cases: one delivery per (event, recipient, channel), sent and logged in the event's transaction."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia import outbox as outboxmod
from guanjia.auth import Principal, scoped
from guanjia.bus import RetryLater
from guanjia.db import new_id, utcnow
from guanjia.errors import Invalid, NotFound
from guanjia.logging import mask_text
from guanjia.pii import mask_phone, normalize_phone

from . import events
from .models import Delivery, outbox
from .sms import SmsProvider, SmsRejected

SMS = "sms"
STATUSES = ("pending", "sent", "failed", "skipped")
DEFAULT_LOCALE = "zh-CN"
# What residents call each ticket category in an SMS; an unknown (newer) category still gets a sensible word.
TICKET_KINDS = {"repair": "报修", "complaint": "投诉", "inquiry": "咨询", "suggestion": "建议"}
TICKET_KIND_FALLBACK = "工单"
TEMPLATES = {
    "zh-CN": {
        "ticket.created": "【{signature}】您的{kind}已受理，工单号{number}，我们将尽快处理。",
    },
}


def pick_locale(requested: str | None) -> str:
    return requested if requested in TEMPLATES else DEFAULT_LOCALE


def render_ticket_created(signature: str, category: str, number: str, locale: str = DEFAULT_LOCALE) -> str:
    template = TEMPLATES[pick_locale(locale)]["ticket.created"]
    return template.format(signature=signature, kind=TICKET_KINDS.get(category, TICKET_KIND_FALLBACK), number=number)


def find_delivery(session: Session, event_id: str, recipient_id: str, channel: str) -> Delivery | None:
    query = select(Delivery).where(
        Delivery.event_id == event_id, Delivery.recipient_id == recipient_id, Delivery.channel == channel
    )
    return session.execute(query).scalar_one_or_none()


def send_sms(
    session: Session,
    settings,
    provider: SmsProvider,
    fetch_contact: Callable[[str], dict | None],
    *,
    event: dict,
    recipient_id: str,
    community_id: str | None,
    render: Callable[[str], str],
) -> Delivery:
    """Tell `recipient_id` about `event` by SMS, once: pending row, send, mark sent, notification.sent.

    `fetch_contact(resident_id)` returns the contact from residents or None when there is none;
    `render(locale)` returns the text. Runs inside the consumer's transaction (with the inbox row).
    """
    existing = find_delivery(session, event["id"], recipient_id, SMS)
    if existing is not None:
        return existing  # applied before (even if the inbox row was pruned since)
    contact = fetch_contact(recipient_id)
    delivery = Delivery(
        id=new_id(),
        event_id=event["id"],
        event_type=event["type"],
        subject=event["subject"],
        community_id=community_id,
        recipient_id=recipient_id,
        channel=SMS,
        status="pending",
        created_at=utcnow(),
    )
    phone = _valid_phone(contact)
    delivery.locale = pick_locale(contact.get("locale") if contact else None)
    delivery.text = render(delivery.locale)
    if phone is None:
        delivery.status = "skipped"
        delivery.reason = "no contact" if contact is None else "no valid phone"
        session.add(delivery)
        return delivery
    delivery.recipient_masked = mask_phone(phone)
    session.add(delivery)
    # Insert before sending: a concurrent replica handling the same event blocks on the unique index here.
    session.flush()
    delivery.provider = provider.name
    try:
        delivery.provider_message_id = provider.send(phone, delivery.text)
    except SmsRejected as exc:
        delivery.status = "failed"
        delivery.reason = mask_text(str(exc))[:200]
        return delivery
    except Exception as exc:
        # Transient: roll back and let the consumer retry. SDK errors may quote the number, so mask it.
        raise RetryLater(f"sms provider {provider.name} failed: {mask_text(repr(exc))[:300]}") from None
    delivery.status = "sent"
    delivery.sent_at = utcnow()
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=events.NOTIFICATION_SENT,
        subject=f"notification/{delivery.id}",
        community=community_id,
        data=events.NotificationSentV1().dump(
            {
                "delivery_id": delivery.id,
                "event_id": delivery.event_id,
                "event_type": delivery.event_type,
                "subject": delivery.subject,
                "channel": delivery.channel,
                "status": delivery.status,
                "recipient_id": delivery.recipient_id,
            }
        ),
    )
    return delivery


def _valid_phone(contact: dict | None) -> str | None:
    if not contact or not contact.get("phone"):
        return None
    try:
        return normalize_phone(str(contact["phone"]))
    except Invalid:
        return None


def visible_deliveries(principal: Principal):
    """Admin/service see all, staff their communities, a resident only what was sent to them."""
    query = select(Delivery).order_by(Delivery.created_at.desc(), Delivery.id)
    return scoped(query, principal, community_column=Delivery.community_id, resident_column=Delivery.recipient_id)


def list_deliveries(principal: Principal, filters: dict):
    query = visible_deliveries(principal)
    for name in ("event_type", "event_id", "subject", "status", "recipient_id"):
        if filters.get(name):
            query = query.where(getattr(Delivery, name) == filters[name])
    return query


def get_delivery(session: Session, principal: Principal, delivery_id: str) -> Delivery:
    delivery = session.execute(visible_deliveries(principal).where(Delivery.id == delivery_id)).scalar_one_or_none()
    if delivery is None:
        raise NotFound(f"notification {delivery_id} not found")
    return delivery
