"""Scheduled e-mail reports to managers: each community's delivery statistics per channel for the last finished
week or month, as an XLSX attachment, once per (community, period, address)."""

from __future__ import annotations

import dataclasses
import io
import logging
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc, new_id
from guanjia.pii import pii_lookup_hash

from ..config import SmtpSettings
from ..mail import PERMANENT, MailError, mask_email, message_id, send
from ..models import ReportMail
from .quiet_hours import local_now
from .stats import daily_stats

log = logging.getLogger(__name__)
REPORT_CHANNELS = ("sms", "wechat", "inbox")
COLUMNS = ("date", "channel", "sent", "delivered", "failed", "skipped", "pending", "segments", "estimated_cost", "read")
REPORTER = Principal(subject="notifications-reports", role="service")


def last_period(now: datetime, timezone: str, period: str) -> tuple[date, date]:
    """The last finished week (Monday to Sunday) or calendar month before `now`, local days, both ends included."""
    today = local_now(now, timezone).date()
    if period == "monthly":
        start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    else:
        start = today - timedelta(days=today.weekday() + 7)
    return start, period_end(start, period)


def period_end(start: date, period: str) -> date:
    """The last day of the period starting on `start`."""
    if period == "monthly":
        return (start.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return start + timedelta(days=6)


def _hash(settings, address: str) -> str:
    return pii_lookup_hash(settings.pii_key, address.strip().lower())


def plan_reports(session: Session, settings, smtp: SmtpSettings, now: datetime) -> int:
    """A pending report mail per configured address for the last finished period, unless it exists already."""
    start, _ = last_period(now, settings.timezone, smtp.report_period)
    planned = 0
    for community_id, addresses in sorted(smtp.report_recipients.items()):
        query = select(ReportMail.recipient_hash).where(
            ReportMail.community_id == community_id,
            ReportMail.period == smtp.report_period,
            ReportMail.period_start == start.isoformat(),
        )
        present = set(session.execute(query).scalars())
        for address in dict.fromkeys(addresses):
            key = _hash(settings, address)
            if key in present:
                continue
            present.add(key)
            session.add(
                ReportMail(
                    id=new_id(),
                    community_id=community_id,
                    period=smtp.report_period,
                    period_start=start.isoformat(),
                    recipient_hash=key,
                    recipient_masked=mask_email(address),
                    status="pending",
                    attempts=0,
                    created_at=now,
                )
            )
            planned += 1
    return planned


def workbook(session: Session, settings, sms, community_id: str, start: date, end: date) -> bytes:
    """The community's statistics per local day and channel as an XLSX workbook."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "deliveries"
    sheet.append(list(COLUMNS))
    for channel in REPORT_CHANNELS:
        args = {"date_from": start, "date_to": end, "community_id": community_id, "channel": channel}
        for day in daily_stats(session, REPORTER, settings, sms, args):
            sheet.append([day.get(name, channel if name == "channel" else None) for name in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclasses.dataclass(frozen=True)
class Claim:
    """A report mail committed to 'sending' (its lease runs from claimed_at) and everything needed to send it."""

    id: str
    claimed_at: datetime
    address: str
    subject: str
    text: str
    attachment: tuple[str, bytes]


def recover_stale(session: Session, smtp: SmtpSettings, now: datetime) -> int:
    """A mail left 'sending' past the lease lost its worker between the relay's answer and our commit. It is sent
    once more, marked as a possible duplicate; a second loss fails it (outcome_unknown), so at most one duplicate."""
    lease = now - timedelta(seconds=smtp.send_lease_seconds)
    query = (
        select(ReportMail)
        .where(ReportMail.status == "sending", ReportMail.claimed_at < lease)
        .with_for_update(skip_locked=True)
    )
    recovered = 0
    for row in session.execute(query).scalars():
        recovered += 1
        if row.duplicate_risk:
            row.status, row.error_code = "failed", "outcome_unknown"
            log.warning("report mail lost twice while sending; not sent again", extra={"report_mail_id": row.id})
            continue
        row.status, row.duplicate_risk = "pending", True
        log.warning("report mail lost while sending; resending once", extra={"report_mail_id": row.id})
    return recovered


def claim_due(session: Session, context, now: datetime, tried: set[str]) -> Claim | ReportMail | None:
    """Claim one pending report mail (SKIP LOCKED) into 'sending' with its lease; the caller commits that before
    the SMTP conversation, so a worker lost during it leaves a trace (`recover_stale`). A row that cannot be sent
    (its address was removed) is failed and returned as is; None when none is due."""
    smtp = context.smtp
    query = (
        select(ReportMail)
        .where(ReportMail.status == "pending", ReportMail.id.not_in(tried or {""}))
        .order_by(ReportMail.created_at, ReportMail.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        return None
    tried.add(row.id)
    addresses = {_hash(context.settings, a): a for a in smtp.report_recipients.get(row.community_id, ())}
    address = addresses.get(row.recipient_hash)
    if address is None:
        row.status, row.error_code = "failed", "recipient_removed"
        return row
    start = date.fromisoformat(row.period_start)
    end = period_end(start, row.period)
    data = workbook(session, context.settings, context.sms, row.community_id, start, end)
    subject = f"通知投递{'周报' if row.period == 'weekly' else '月报'} {start.isoformat()} – {end.isoformat()}"
    text = f"附件为小区 {row.community_id} 在 {start.isoformat()} 至 {end.isoformat()} 的短信、微信与站内信投递统计。"
    row.status, row.claimed_at, row.attempts = "sending", now, row.attempts + 1
    filename = f"deliveries-{row.community_id[:8]}-{start.isoformat()}.xlsx"
    return Claim(row.id, now, address, subject, text, (filename, data))


def send_claimed(smtp: SmtpSettings, claim: Claim) -> MailError | None:
    """The SMTP conversation, outside any transaction; the refusal, or None when the relay took the mail. The
    Message-ID comes from the row id, so a repeat after a lost worker carries the same one."""
    try:
        send(smtp, claim.address, claim.subject, claim.text, claim.attachment, msgid=message_id(smtp, claim.id))
    except MailError as exc:
        return exc
    return None


def record(session: Session, smtp: SmtpSettings, claim: Claim, error: MailError | None, now: datetime):
    """The outcome of a claimed mail; the row, or None when it was taken over meanwhile (past its lease)."""
    row = session.get(ReportMail, claim.id, with_for_update=True)
    if row is None or row.status != "sending" or as_utc(row.claimed_at) != as_utc(claim.claimed_at):
        log.warning("report mail outcome arrived after its lease", extra={"report_mail_id": claim.id})
        return None
    if error is None:
        row.status, row.sent_at, row.error_code = "sent", now, None
        return row
    row.error_code = error.code
    failed = error.kind == PERMANENT or row.attempts >= smtp.max_attempts
    row.status = "failed" if failed else "pending"
    return row
