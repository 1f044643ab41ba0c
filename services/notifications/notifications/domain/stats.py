"""Delivery statistics per local day and channel: sent, delivered, failed, skipped, pending, billed segments, cost
(the inbox: landed and read)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.errors import Forbidden, Invalid

from ..config import SmsSettings
from ..models import Delivery, InboxMessage
from .deliveries import visible_deliveries


def daily_stats(session: Session, principal: Principal, settings, sms: SmsSettings, args: dict) -> list[dict]:
    """Per local day: sent (accepted by a provider), delivered, failed, skipped, pending, billed segments, cost."""
    if principal.role == "resident":
        raise Forbidden("statistics are for staff")
    start, end = args["date_from"], args["date_to"]
    if end < start:
        raise Invalid("date_to", "before date_from")
    if (end - start).days > 92:
        raise Invalid("date_to", "at most 93 days at once")
    tz = ZoneInfo(settings.timezone)
    items = []
    day = start
    while day <= end:
        lo = datetime(day.year, day.month, day.day, tzinfo=tz)
        hi = lo + timedelta(days=1)
        if args.get("channel") == "inbox":
            items.append(_inbox_day(session, principal, day, lo, hi, args.get("community_id")))
            day += timedelta(days=1)
            continue
        query = visible_deliveries(principal).order_by(None).where(Delivery.created_at >= lo, Delivery.created_at < hi)
        query = query.where(Delivery.channel == args.get("channel", "sms"))
        if args.get("community_id"):
            query = query.where(Delivery.community_id == args["community_id"])
        sub = query.subquery()
        rows = session.execute(
            select(sub.c.status, func.count(), func.coalesce(func.sum(sub.c.segments), 0)).group_by(sub.c.status)
        ).all()
        by_status = {status: (count, segs) for status, count, segs in rows}
        sent = sum(by_status.get(s, (0, 0))[0] for s in ("sent", "delivered")) + _failed_after_send(session, sub)
        billed = sum(int(segs) for _, segs in by_status.values())
        cost_fen = (sms.price_fen_per_segment * billed).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        items.append(
            {
                "date": day.isoformat(),
                "sent": sent,
                "delivered": by_status.get("delivered", (0, 0))[0],
                "failed": by_status.get("failed", (0, 0))[0],
                "skipped": by_status.get("skipped", (0, 0))[0],
                "pending": sum(by_status.get(s, (0, 0))[0] for s in ("pending", "sending")),
                "segments": billed,
                "estimated_cost": f"{cost_fen / 100:.2f}",
            }
        )
        day += timedelta(days=1)
    return items


def _inbox_day(session: Session, principal: Principal, day, lo, hi, community_id: str | None) -> dict:
    """The inbox's day: messages that landed (all delivered at once) and how many were read; nothing billed."""
    query = select(func.count(), func.count(InboxMessage.read_at)).where(
        InboxMessage.created_at >= lo, InboxMessage.created_at < hi
    )
    if principal.role == "butler":
        query = query.where(InboxMessage.recipient_id == principal.subject)  # as the delivery log
    elif not principal.instance_wide:
        query = query.where(InboxMessage.community_id.in_(principal.communities or ("",)))
    if community_id:
        query = query.where(InboxMessage.community_id == community_id)
    landed, read = session.execute(query).one()
    return {
        "date": day.isoformat(),
        "sent": landed,
        "delivered": landed,
        "failed": 0,
        "skipped": 0,
        "pending": 0,
        "segments": 0,
        "estimated_cost": "0.00",
        "read": read,
    }


def _failed_after_send(session: Session, sub) -> int:
    """Messages a provider accepted and later reported undelivered still count as sent (and are billed)."""
    query = select(func.count()).where(sub.c.status == "failed", sub.c.sent_at.is_not(None))
    return session.execute(query).scalar_one()
