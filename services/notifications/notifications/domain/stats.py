"""Delivery statistics per local day: sent, delivered, failed, skipped, pending, billed segments, cost."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.errors import Forbidden, Invalid

from ..config import SmsSettings
from ..models import Delivery
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
        query = visible_deliveries(principal).order_by(None).where(Delivery.created_at >= lo, Delivery.created_at < hi)
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


def _failed_after_send(session: Session, sub) -> int:
    """Messages a provider accepted and later reported undelivered still count as sent (and are billed)."""
    query = select(func.count()).where(sub.c.status == "failed", sub.c.sent_at.is_not(None))
    return session.execute(query).scalar_one()
