"""Providers' delivery receipts: sent → delivered | failed, once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia import metrics

from .. import events
from ..models import Delivery
from .deliveries import NotificationEvents, fail


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
