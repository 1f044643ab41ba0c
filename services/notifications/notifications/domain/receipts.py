"""Providers' delivery receipts: sent → delivered | failed, once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from guanjia import metrics
from guanjia.pii import pii_lookup_hash

from .. import events
from ..models import Delivery, WechatBinding
from .deliveries import NotificationEvents, fail, fall_back


def apply_receipt(
    session: Session,
    settings,
    now: datetime,
    *,
    provider: str,
    message_id: str,
    delivered: bool,
    error_code: str | None,
) -> str:
    """A provider's delivery report: sent → delivered | failed, once. 'applied', 'duplicate' or 'unknown'."""
    query = (
        select(Delivery)
        .where(Delivery.provider == provider, Delivery.provider_message_id == message_id)
        .with_for_update()
    )
    row = session.execute(query).scalars().first()
    if row is None:
        return "unknown"
    if row.status != "sent":
        return "duplicate"  # receipts repeat; the first one counts
    written = NotificationEvents(settings, now)
    metrics.sms("notifications", provider, "delivered" if delivered else "failed")
    if delivered:
        row.status, row.delivered_at = "delivered", now
        written.emit(session, row, events.NOTIFICATION_DELIVERED)
    else:
        fail(session, written, row, now, error_code or "undelivered", f"receipt: {error_code or 'undelivered'}")
    return "applied"


def apply_wechat_event(session: Session, settings, wechat, now: datetime, event: dict) -> str:
    """An event WeChat pushes to the official account's server URL: a template message's outcome
    (TEMPLATESENDJOBFINISH: success, "failed:user block", "failed: system failed" — a failure falls back to SMS),
    or a follower leaving (unsubscribe: their bindings go, found by the openid's lookup hash). What it did."""
    kind = event.get("Event", "")
    if event.get("MsgType") != "event":
        return "ignored"
    if kind == "TEMPLATESENDJOBFINISH":
        status, message_id = event.get("Status", ""), event.get("MsgID", "")
        delivered = status == "success"
        code = None if delivered else f"wechat:{status}"[:100]
        outcome = apply_receipt(
            session, settings, now, provider="wechat", message_id=message_id, delivered=delivered, error_code=code
        )
        if outcome == "applied" and not delivered:
            query = select(Delivery).where(Delivery.provider == "wechat", Delivery.provider_message_id == message_id)
            row = session.execute(query).scalars().first()
            fall_back(session, row, now, wechat)
        return outcome
    if kind == "unsubscribe" and event.get("FromUserName"):
        key = pii_lookup_hash(settings.pii_key, event["FromUserName"])
        gone = session.execute(delete(WechatBinding).where(WechatBinding.openid_hash == key)).rowcount
        return "unbound" if gone else "unknown"
    return "ignored"
