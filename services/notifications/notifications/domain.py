"""Notification use cases: plan deliveries (one per event, recipient and channel), dispatch them through the
providers within quiet hours and caps, apply receipts, notices, direct messages, resends and statistics."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet
from sqlalchemy import case, delete, func, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from guanjia import metrics
from guanjia import outbox as outboxmod
from guanjia.auth import Principal, scoped
from guanjia.db import as_utc, new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound, UpstreamUnavailable
from guanjia.logging import mask_text
from guanjia.pii import mask_phone, normalize_phone

from . import events
from .config import SmsSettings
from .directory import Directory, DirectoryUnavailable
from .models import Delivery, Notice, OptOut, SmsCounter, TemplateOverride, outbox
from .sms import PROVIDER, REJECTED, THROTTLED, Message, SmsError
from .templates import DEFAULT_LOCALE, LOCALES, TEMPLATES, localized, pick_locale, render, segments, validate_text

log = logging.getLogger("notifications.domain")

SMS = "sms"
STATUSES = ("pending", "sending", "sent", "delivered", "failed", "skipped")
FINAL = ("delivered", "failed", "skipped")
DIRECT_TEMPLATES = ("login_code",)
NOTICE_ROLES = ("admin", "cs_manager", "senior_butler", "butler")
RESEND_ROLES = ("admin", "cs_manager", "senior_butler", "butler")
TEMPLATE_ROLES = ("admin",)
URL_RE = re.compile(r"(https?://|www\.)|\b[a-z0-9-]+\.(com|cn|net|org|top|xyz|cc)\b", re.IGNORECASE)

# In embedded mode (and in a worker) the dispatcher waits on one of these; a commit that planned deliveries sets it.
_wakeups: dict[str, threading.Event] = {}
_wakeups_lock = threading.Lock()


def wakeup_for(url: str) -> threading.Event:
    with _wakeups_lock:
        return _wakeups.setdefault(url, threading.Event())


def _wake_on_commit(session: Session) -> None:
    if session.info.get("notifications_wake"):
        return
    session.info["notifications_wake"] = True
    url = session.get_bind().url.render_as_string(hide_password=False)
    sa_event.listen(session, "after_commit", lambda _s: wakeup_for(url).set(), once=True)


# -- planning ------------------------------------------------------------------------------------------------------
@dataclass
class Recipient:
    id: str
    kind: str = "resident"  # resident|user|phone
    opted_out: bool = False


@dataclass
class Plan:
    template: str
    variables: dict
    recipients: list[Recipient]
    community_id: str | None
    urgent: bool = False
    essential: bool = True
    kind: str = "event"
    extra: dict = field(default_factory=dict)


def find_delivery(session: Session, event_id: str, recipient_id: str, channel: str = SMS) -> Delivery | None:
    query = select(Delivery).where(
        Delivery.event_id == event_id, Delivery.recipient_id == recipient_id, Delivery.channel == channel
    )
    return session.execute(query).scalar_one_or_none()


def plan_deliveries(
    session: Session, *, key: str, event_type: str, subject: str, plan: Plan, now: datetime
) -> list[Delivery]:
    """One pending row per recipient (skipped at once when opted out of a non-essential message); a row that
    exists already (the event was applied before) is left alone. The dispatcher sends after this commits."""
    created, seen = [], set()
    for recipient in plan.recipients:
        if not recipient.id or recipient.id in seen:
            continue
        seen.add(recipient.id)
        if find_delivery(session, key, recipient.id) is not None:
            continue
        delivery = Delivery(
            id=new_id(),
            event_id=key,
            event_type=event_type,
            kind=plan.kind,
            subject=subject,
            community_id=plan.community_id,
            recipient_id=recipient.id,
            recipient_kind=recipient.kind,
            channel=SMS,
            locale=DEFAULT_LOCALE,
            template=plan.template,
            variables=json.dumps(plan.variables, ensure_ascii=False),
            urgent=plan.urgent,
            essential=plan.essential,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            **plan.extra,
        )
        if recipient.opted_out and not plan.essential:
            delivery.status, delivery.reason, delivery.next_attempt_at = "skipped", "opted out", None
        session.add(delivery)
        created.append(delivery)
    if created:
        # A concurrent replica planning the same event blocks here on the unique index until we commit.
        session.flush()
        _wake_on_commit(session)
    return created


def plan_for_event(session: Session, event: dict, plan: Plan, now: datetime) -> list[Delivery]:
    return plan_deliveries(
        session, key=event["id"], event_type=event["type"], subject=event["subject"], plan=plan, now=now
    )


# -- policy: quiet hours, caps -------------------------------------------------------------------------------------
def local_now(now: datetime, timezone: str) -> datetime:
    return as_utc(now).astimezone(ZoneInfo(timezone))


def in_quiet_hours(now: datetime, sms: SmsSettings, timezone: str) -> bool:
    if sms.quiet_start is None or sms.quiet_end is None or sms.quiet_start == sms.quiet_end:
        return False
    t = local_now(now, timezone).time()
    if sms.quiet_start > sms.quiet_end:  # across midnight, e.g. 21:00–08:00
        return t >= sms.quiet_start or t < sms.quiet_end
    return sms.quiet_start <= t < sms.quiet_end


def quiet_hours_end(now: datetime, sms: SmsSettings, timezone: str) -> datetime:
    """The next end of quiet hours after `now`, in UTC."""
    local = local_now(now, timezone)
    end = local.replace(hour=sms.quiet_end.hour, minute=sms.quiet_end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(ZoneInfo("UTC"))


def local_day_start(now: datetime, timezone: str) -> datetime:
    local = local_now(now, timezone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(ZoneInfo("UTC"))


def backoff(attempts: int, sms: SmsSettings, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential back-off with jitter: base·2^(n-1), capped, times a random factor in [0.5, 1)."""
    delay = min(sms.retry_max_seconds, sms.retry_base_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * (0.5 + rng() / 2))


# -- the dispatcher ----------------------------------------------------------------------------------------------------
RECIPIENT_DAY, RECIPIENT_MINUTE, COMMUNITY_DAY = "recipient_day", "recipient_minute", "community_day"
COUNTER_DAYS_KEPT = 2  # older windows are never read again


def cap_windows(recipient_id: str, community_id: str | None, at: datetime, timezone: str) -> list[tuple]:
    """The counters a message claimed at `at` counts in: (scope, key, window start)."""
    day = local_day_start(at, timezone)
    windows = [(RECIPIENT_DAY, recipient_id, day), (RECIPIENT_MINUTE, recipient_id, minute_start(at))]
    if community_id:
        windows.append((COMMUNITY_DAY, community_id, day))
    return windows


def minute_start(at: datetime) -> datetime:
    return as_utc(at).replace(second=0, microsecond=0)


# On PostgreSQL the counters move in statements of a fixed text with array parameters (compiled and planned once,
# whatever the batch size); SQLite (embedded) gets the same statements built by SQLAlchemy.
_PG_UPSERT = text(
    "INSERT INTO sms_counters (scope, key, window_start, count)"
    " SELECT * FROM unnest(CAST(:scopes AS varchar[]), CAST(:keys AS varchar[]),"
    " CAST(:windows AS timestamptz[]), CAST(:counts AS integer[]))"
    " ON CONFLICT (scope, key, window_start) DO UPDATE SET count = sms_counters.count + EXCLUDED.count"
    " RETURNING scope, key, count"
)
_PG_RELEASE = text(
    "UPDATE sms_counters SET count = GREATEST(sms_counters.count - r.amount, 0)"
    " FROM unnest(CAST(:scopes AS varchar[]), CAST(:keys AS varchar[]),"
    " CAST(:windows AS timestamptz[]), CAST(:counts AS integer[])) AS r(scope, key, window_start, amount)"
    " WHERE sms_counters.scope = r.scope AND sms_counters.key = r.key AND sms_counters.window_start = r.window_start"
)


def _arrays(deltas: dict[tuple, int]) -> dict:
    # In the order of the keys, so that two dispatchers lock shared counters in the same order (no deadlock).
    items = sorted(deltas.items())
    return {
        "scopes": [scope for (scope, _, _), _ in items],
        "keys": [key for (_, key, _), _ in items],
        "windows": [as_utc(window) for (_, _, window), _ in items],
        "counts": [delta for _, delta in items],
    }


def _upsert(session: Session, deltas: dict[tuple, int]) -> dict[tuple, int]:
    """Add `deltas` (≥ 0) to the counters, creating missing ones: {(scope, key): new count}."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_PG_UPSERT, _arrays(deltas))
    else:
        table = SmsCounter.__table__
        insert = sqlite.insert(table).values(
            [
                {"scope": scope, "key": key, "window_start": window, "count": delta}
                for (scope, key, window), delta in sorted(deltas.items())
            ]
        )
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.scope, table.c.key, table.c.window_start],
            set_={"count": table.c.count + insert.excluded.count},
        )
        rows = session.execute(statement.returning(table.c.scope, table.c.key, table.c.count))
    return {(row.scope, row.key): row.count for row in rows}


def lock_caps(session: Session, windows: set[tuple]) -> dict[tuple, int]:
    """The current counts of `windows`, {(scope, key): count}, each counter row locked until this transaction
    ends (created at 0 when missing): one statement whatever the day's volume."""
    return _upsert(session, dict.fromkeys(windows, 0)) if windows else {}


def add_caps(session: Session, claimed: Counter) -> None:
    if claimed:
        _upsert(session, dict(claimed))


def release_caps(session: Session, released: Counter) -> None:
    """A claim that ended without a message accepted by a provider stops counting (never below 0)."""
    if not released:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PG_RELEASE, _arrays(dict(released)))
        return
    table = SmsCounter.__table__
    for (scope, key, window), amount in sorted(released.items()):
        lowered = case((table.c.count > amount, table.c.count - amount), else_=0)
        match = (table.c.scope == scope) & (table.c.key == key) & (table.c.window_start == window)
        session.execute(update(table).where(match).values(count=lowered))


def forget_old_caps(session: Session, now: datetime) -> None:
    session.execute(delete(SmsCounter).where(SmsCounter.window_start < now - timedelta(days=COUNTER_DAYS_KEPT)))


def _recover_stale(session: Session, context, now: datetime) -> None:
    """A row left 'sending' past the lease lost its worker between the provider's answer and our commit. It is
    sent once more, marked as a possible duplicate; a second loss fails it (so at most one duplicate)."""
    lease = now - timedelta(seconds=context.sms.send_lease_seconds)
    query = (
        select(Delivery)
        .where(Delivery.status == "sending", Delivery.claimed_at < lease)
        .limit(context.sms.dispatch_batch)
        .with_for_update(skip_locked=True)
    )
    released = Counter()
    for row in session.execute(query).scalars():
        # Its claim stops counting against the caps (claimed again, it counts again).
        released.update(cap_windows(row.recipient_id, row.community_id, row.claimed_at, context.settings.timezone))
        if row.duplicate_risk:
            _fail(session, context, row, now, "outcome_unknown", "twice lost between send and commit; not sent again")
            continue
        row.status, row.next_attempt_at, row.duplicate_risk = "pending", now, True
        row.reason = "previous attempt's outcome unknown (worker stopped while sending): may arrive twice"
        log.warning("delivery lost while sending; resending once", extra={"delivery_id": row.id})
    release_caps(session, released)


def claim_due(session: Session, context, now: datetime) -> list[dict]:
    """Claim due pending rows (SKIP LOCKED: replicas share the work) after applying quiet hours and caps.

    The caps are counters (sms_counters), read and locked in one statement and raised for what is claimed in
    this transaction: a claim costs the same with 10 or 100,000 messages sent today, and two replicas cannot
    both take the last message a cap allows."""
    sms, tz = context.sms, context.settings.timezone
    _recover_stale(session, context, now)
    query = (
        select(Delivery)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.urgent.desc(), Delivery.next_attempt_at)
        .limit(sms.dispatch_batch)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.execute(query).scalars())
    if not rows:
        return []
    quiet = in_quiet_hours(now, sms, tz)
    counts = lock_caps(session, {w for r in rows for w in cap_windows(r.recipient_id, r.community_id, now, tz)})
    claimed, taken = [], Counter()
    for row in rows:
        if quiet and not row.urgent:
            row.next_attempt_at = quiet_hours_end(now, sms, tz)
            row.reason = "waiting for the end of quiet hours"
            continue
        if counts[RECIPIENT_DAY, row.recipient_id] >= sms.recipient_per_day:
            _fail(session, context, row, now, "recipient_daily_cap", f"over {sms.recipient_per_day} messages today")
            continue
        if counts[RECIPIENT_MINUTE, row.recipient_id] >= sms.recipient_per_minute:
            row.next_attempt_at = now + timedelta(minutes=1)
            row.reason = "waiting: recipient's per-minute cap"
            continue
        budget = counts.get((COMMUNITY_DAY, row.community_id), 0)
        if not row.urgent and row.community_id and budget >= sms.community_daily_budget:
            row.next_attempt_at = local_day_start(now + timedelta(days=1), tz)
            row.reason = "waiting: community's daily budget is spent"
            continue
        for scope, key, window in cap_windows(row.recipient_id, row.community_id, now, tz):
            counts[scope, key] += 1
            taken[scope, key, window] += 1
        row.status, row.claimed_at, row.attempts = "sending", now, row.attempts + 1
        claimed.append(
            {
                "id": row.id,
                "recipient_id": row.recipient_id,
                "recipient_kind": row.recipient_kind,
                "kind": row.kind,
                "template": row.template,
                "variables": json.loads(row.variables or "{}"),
                "secret": row.secret,
                "essential": row.essential,
                "attempts": row.attempts,
                "community_id": row.community_id,
                "claimed_at": now,
            }
        )
    add_caps(session, taken)
    return claimed


def dispatch(context, database) -> int:
    """Claim one batch of due deliveries and send them (concurrently); returns how many were claimed."""
    now = context.now()
    with database.transaction() as session:
        claimed = claim_due(session, context, now)
        overrides = template_overrides(session) if claimed else {}
    if not claimed:
        return 0
    results = list(context.pool().map(lambda item: _send_one(context, item, overrides), claimed))
    with database.transaction() as session:
        # One query for the rows and one multi-row outbox insert: the batch is recorded in a few round trips.
        session.info["notifications_events"] = batches = {}
        ids = [item["id"] for item in claimed]
        found = {
            r.id: r for r in session.execute(select(Delivery).where(Delivery.id.in_(ids)).with_for_update()).scalars()
        }
        released, tz = Counter(), context.settings.timezone
        for item, outcome in zip(claimed, results, strict=True):
            if _record(session, context, found.get(item["id"]), item, outcome) and outcome.status != "sent":
                # Not accepted by a provider (retry, skipped, rejected): the claim stops counting against the caps.
                windows = cap_windows(item["recipient_id"], item["community_id"], item["claimed_at"], tz)
                released.update(windows)
        release_caps(session, released)
        if random.random() < 0.01:  # now and then, not on every batch: a range delete on an index
            forget_old_caps(session, now)
        for batch in batches.values():
            batch.flush(session)
        session.info.pop("notifications_events")
    return len(claimed)


def dispatch_job(context, database) -> None:
    """The worker's scheduled job: wait for a wake-up (a commit that planned deliveries) or the interval, then
    dispatch until nothing is due. A lone message is claimed at once; the dispatcher lingers only when a burst is
    forming (the last claim found several messages due and commits kept coming while it sent them), so that the
    burst (a billing run's reminders) is claimed in batches rather than one message at a time."""
    wake = wakeup_for(database.url)
    wake.wait(context.sms.dispatch_interval_seconds)
    wake.clear()  # commits from here on set it again: they are seen by the next claim or the next call
    linger = context.sms.dispatch_linger_seconds
    while True:
        claimed = dispatch(context, database)
        if claimed >= context.sms.dispatch_batch:
            continue
        if not (linger and claimed > 1 and wake.is_set()):
            return
        time.sleep(linger)
        wake.clear()


@dataclass
class Outcome:
    status: str  # sent|failed|skipped|retry
    provider: str | None = None
    message_id: str | None = None
    masked: str | None = None
    locale: str | None = None
    text: str | None = None
    error_code: str | None = None
    reason: str | None = None
    retry_at: datetime | None = None
    throttled: bool = False


def _contact(context, item: dict) -> dict | None:
    if item["recipient_kind"] == "phone":
        return decrypt(context.settings, item["secret"]) if item["secret"] else None
    if item["recipient_kind"] == "user":
        return context.directory.user_contact(item["recipient_id"])
    return context.directory.resident_contact(item["recipient_id"])


def _outside_community(item: dict, contact: dict | None) -> bool:
    """A resident recipient who does not live in the community the delivery is sent on behalf of."""
    community = item.get("community_id")
    if not contact or not community or item["recipient_kind"] != "resident":
        return False
    return contact.get("community_id") not in (None, community)


def _valid_phone(contact: dict | None) -> str | None:
    if not contact or not contact.get("phone"):
        return None
    try:
        return normalize_phone(str(contact["phone"]))
    except Invalid:
        return None


def _send_one(context, item: dict, overrides: dict) -> Outcome:
    """Look the contact up now, render, send through the provider chain; never raises."""
    now = context.now()
    try:
        contact = _contact(context, item)
    except DirectoryUnavailable as exc:
        return Outcome(
            "retry",
            error_code="directory_unavailable",
            reason=str(exc)[:200],
            retry_at=now + backoff(item["attempts"], context.sms),
        )
    if _outside_community(item, contact):
        # An event of community B naming a resident of A (a bill's payer, a ticket's reporter): A's resident
        # never hears from B. The reason names no one.
        return Outcome("skipped", reason="recipient outside the community")
    phone = _valid_phone(contact)
    if phone is None:
        return Outcome("skipped", reason="no contact" if contact is None else "no valid phone")
    if not item["essential"] and (contact.get("opted_out") or context.opted_out(item["recipient_id"])):
        return Outcome("skipped", reason="opted out", masked=mask_phone(phone))
    locale = pick_locale(contact.get("locale"))
    variables = contact.get("variables") if item["recipient_kind"] == "phone" else item["variables"]
    key, signature = item["template"], context.sms.signature
    text = render(key, variables, locale, signature, overrides)
    logged = text
    if item["kind"] == "message":
        # A sign-in code is never written down: the delivery log shows the text with the code hidden.
        logged = render(key, {k: "*" * len(str(v)) for k, v in variables.items()}, locale, signature, overrides)
    message = Message(
        phone=phone, text=text, template=key, params=localized(key, variables, locale), reference=item["id"]
    )
    base = {"masked": mask_phone(phone), "locale": locale, "text": logged}
    try:
        provider, message_id = context.chain.send(message)
    except SmsError as exc:
        reason = str(exc)[:200]
        if exc.kind in (REJECTED, PROVIDER):
            return Outcome("failed", provider=exc.provider, error_code=exc.code, reason=reason, **base)
        if exc.kind == THROTTLED:
            retry_at = now + timedelta(seconds=exc.retry_after or 1)
            return Outcome("retry", exc.provider, error_code=exc.code, reason=reason, retry_at=retry_at, throttled=True)
        if item["attempts"] >= context.sms.max_attempts:
            return Outcome(
                "failed", provider=exc.provider, error_code=exc.code, reason=f"gave up: {reason}"[:200], **base
            )
        return Outcome(
            "retry",
            exc.provider,
            error_code=exc.code,
            reason=reason,
            retry_at=now + backoff(item["attempts"], context.sms),
        )
    except Exception as exc:  # never lose the row to a bug: retry it like an outage
        return Outcome(
            "retry",
            error_code="error",
            reason=mask_text(repr(exc))[:200],
            retry_at=now + backoff(item["attempts"], context.sms),
        )
    return Outcome("sent", provider=provider, message_id=message_id, **base)


def _record(session: Session, context, row: Delivery | None, item: dict, outcome: Outcome) -> bool:
    """Record the outcome of a claimed delivery; False when the claim had been taken over meanwhile."""
    if outcome.status in ("sent", "failed"):
        metrics.sms("notifications", outcome.provider or "-", outcome.status)
    if row is None or row.status != "sending" or as_utc(row.claimed_at) != as_utc(item["claimed_at"]):
        # Taken over meanwhile (presumed lost after the lease): the newer attempt records its own outcome.
        log.warning("delivery outcome arrived after its lease", extra={"delivery_id": item["id"]})
        return False
    now = context.now()
    for name in ("masked", "locale", "text"):
        value = getattr(outcome, name)
        if value is not None:
            setattr(row, "recipient_masked" if name == "masked" else name, value)
    if outcome.provider:
        row.provider = outcome.provider
    if outcome.status == "retry":
        row.status, row.next_attempt_at = "pending", outcome.retry_at
        row.error_code, row.reason = outcome.error_code, outcome.reason
        if outcome.throttled:
            row.attempts -= 1  # the provider's window, not a failure: it does not use up an attempt
        return True
    if outcome.status == "skipped":
        row.status, row.reason, row.secret = "skipped", outcome.reason, None
        return True
    if outcome.status == "failed":
        _fail(session, context, row, now, outcome.error_code, outcome.reason)
        return True
    row.status, row.sent_at, row.provider_message_id = "sent", now, outcome.message_id
    row.segments = segments(outcome.text or "")
    row.error_code, row.secret = None, None
    if not row.duplicate_risk:
        row.reason = None
    _emit(session, context.settings, row, events.NOTIFICATION_SENT)
    return True


def _fail(session: Session, context, row: Delivery, now: datetime, code: str | None, reason: str | None) -> None:
    row.status, row.failed_at, row.error_code = "failed", now, code or "failed"
    row.reason, row.secret = (reason or "")[:200] or None, None
    _emit(session, context.settings, row, events.NOTIFICATION_FAILED)


def _emit(session: Session, settings, row: Delivery, event_type: str) -> None:
    """notification.sent/delivered/failed for `row`, into the outbox in this transaction (batched when the
    dispatcher records a whole batch: see _record_batch)."""
    data = {
        "delivery_id": row.id,
        "event_id": row.event_id if row.kind == "event" else None,
        "event_type": row.event_type if row.kind == "event" else None,
        "subject": row.subject,
        "channel": row.channel,
        "status": row.status,
        "recipient_id": None if row.recipient_kind == "phone" else row.recipient_id,
    }
    if event_type == events.NOTIFICATION_FAILED:
        data["error_code"] = row.error_code
    subject, payload = f"notification/{row.id}", events.PUBLISHED[event_type]().dump(data)
    batches = session.info.get("notifications_events")
    if batches is None:
        outboxmod.emit(
            session, outbox, settings, type=event_type, subject=subject, data=payload, community=row.community_id
        )
        return
    # A dispatch batch: one outbox write per event type for the whole batch (see dispatch).
    if event_type not in batches:
        batches[event_type] = outboxmod.Batch(outbox, settings, event_type)
    batches[event_type].add(subject=subject, data=payload, community=row.community_id)


# -- receipts --------------------------------------------------------------------------------------------------------
def apply_receipt(
    session: Session, context, *, provider: str, message_id: str, delivered: bool, error_code: str | None
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
    now = context.now()
    metrics.sms("notifications", provider, "delivered" if delivered else "failed")
    if delivered:
        row.status, row.delivered_at = "delivered", now
        _emit(session, context.settings, row, events.NOTIFICATION_DELIVERED)
    else:
        _fail(session, context, row, now, error_code or "undelivered", f"receipt: {error_code or 'undelivered'}")
    return "applied"


# -- direct messages (sign-in codes) -------------------------------------------------------------------------------
def _fernet(settings) -> Fernet:
    key = hashlib.sha256(f"guanjia-notifications:{settings.pii_key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(settings, value: dict) -> str:
    return _fernet(settings).encrypt(json.dumps(value).encode()).decode()


def decrypt(settings, token: str) -> dict:
    return json.loads(_fernet(settings).decrypt(token.encode()))


def phone_key(settings, phone: str) -> str:
    """A keyed hash standing for a bare number (caps per number without keeping it)."""
    return hmac.new(settings.pii_key.encode(), phone.encode(), hashlib.sha256).hexdigest()[:32]


def queue_message(session: Session, settings, now: datetime, body: dict) -> Delivery:
    template = body["template"]
    if template not in DIRECT_TEMPLATES:
        raise Invalid("template", f"not a direct-message template; known: {', '.join(DIRECT_TEMPLATES)}")
    phone = normalize_phone(body["phone"], "phone")
    variables = {str(k): str(v) for k, v in (body.get("variables") or {}).items()}
    wanted = TEMPLATES[template].variables
    for name in variables:
        if name not in wanted:
            raise Invalid(f"variables.{name}", f"unknown variable; {template} takes {', '.join(wanted)}")
    for name in wanted:
        if not variables.get(name):
            raise Invalid(f"variables.{name}", "required")
    if template == "login_code" and not re.fullmatch(r"[0-9A-Za-z]{4,10}", variables["code"]):
        raise Invalid("variables.code", "4 to 10 letters or digits")
    delivery_id = new_id()
    plan = Plan(
        template=template,
        variables={},  # the code lives only in the encrypted secret
        recipients=[Recipient(phone_key(settings, phone), "phone")],
        community_id=None,
        urgent=bool(body.get("urgent", True)),
        essential=True,
        kind="message",
        extra={"secret": encrypt(settings, {"phone": phone, "variables": variables})},
    )
    [delivery] = plan_deliveries(
        session, key=delivery_id, event_type=f"message.{template}", subject=f"message/{delivery_id}", plan=plan, now=now
    )
    delivery.recipient_masked = mask_phone(phone)
    delivery.subject = f"message/{delivery.id}"
    return delivery


# -- notices ---------------------------------------------------------------------------------------------------------
def _notice_audience(directory: Directory, principal: Principal, body: dict):
    """Who a notice would reach, after the same checks as sending it: (contacts, community, scope, target)."""
    if principal.role not in NOTICE_ROLES:
        raise Forbidden(f"role {principal.role} may not send notices")
    community_id, scope, target_id = body["community_id"], body["scope"], body.get("target_id")
    if not principal.sees_community(community_id):
        raise NotFound(f"community {community_id} not found")
    if scope != "community" and not target_id:
        raise Invalid("target_id", f"required for a {scope} notice")
    if scope == "community":
        target_id = None
    if principal.role == "butler" and (scope != "zone" or not principal.sees_zone(community_id, target_id)):
        raise Forbidden("a butler sends notices to their own zones")
    for name in ("title", "body"):
        if URL_RE.search(body[name]):
            raise Invalid(name, "links are not allowed in SMS text (providers reject them)")
    try:
        if scope == "zone":
            zone = directory.zone(target_id)
            if zone is None or zone.get("community_id") != community_id:
                raise Invalid("target_id", "unknown zone in this community")
        contacts = directory.community_recipients(community_id, scope, target_id)
    except DirectoryUnavailable as exc:
        raise UpstreamUnavailable(f"cannot look the recipients up now: {exc}") from None
    if contacts is None:
        raise Invalid("target_id" if target_id else "community_id", f"unknown {scope}")
    return contacts, community_id, scope, target_id


def preview_notice(session: Session, context, principal: Principal, body: dict) -> dict:
    """What sending would do, without sending: the recipients (opted-out ones apart) and the SMS text's length."""
    contacts, *_ = _notice_audience(context.directory, principal, body)
    opted_out = sum(1 for c in contacts if c.get("opted_out"))
    variables = {"title": body["title"], "body": body["body"]}
    text = render("notice", variables, DEFAULT_LOCALE, context.sms.signature, template_overrides(session))
    reached = len(contacts) - (0 if body.get("essential", True) else opted_out)
    return {
        "recipients": reached,
        "opted_out": opted_out,
        "text": text,
        "length": len(text),
        "segments": segments(text),
    }


def create_notice(session: Session, directory: Directory, principal: Principal, now: datetime, body: dict) -> Notice:
    contacts, community_id, scope, target_id = _notice_audience(directory, principal, body)
    notice = Notice(
        id=new_id(),
        community_id=community_id,
        scope=scope,
        target_id=target_id,
        title=body["title"],
        body=body["body"],
        urgent=body["urgent"],
        essential=body["essential"],
        recipients=0,
        created_by=principal.subject,
        created_at=now,
    )
    session.add(notice)
    recipients = [Recipient(c["resident_id"], "resident", bool(c.get("opted_out"))) for c in contacts]
    plan = Plan(
        template="notice",
        variables={"title": notice.title, "body": notice.body},
        recipients=recipients,
        community_id=community_id,
        urgent=notice.urgent,
        essential=notice.essential,
        kind="notice",
        extra={"notice_id": notice.id},
    )
    planned = plan_deliveries(
        session, key=notice.id, event_type="notice", subject=f"notice/{notice.id}", plan=plan, now=now
    )
    notice.recipients = len(planned)
    return notice


def notice_counts(session: Session, notice_id: str) -> dict:
    rows = session.execute(
        select(Delivery.status, func.count()).where(Delivery.notice_id == notice_id).group_by(Delivery.status)
    ).all()
    return {status: count for status, count in rows}


def visible_notices(principal: Principal):
    query = select(Notice).order_by(Notice.created_at.desc(), Notice.id)
    if principal.role not in (*NOTICE_ROLES, "service"):
        return query.where(Notice.id.is_(None))
    query = scoped(query, principal, community_column=Notice.community_id)
    if principal.role == "butler":
        # Butlers work in their zones: they see the notices of those zones, not the whole community's.
        query = query.where(Notice.scope == "zone", Notice.target_id.in_(principal.zones or ("",)))
    return query


def get_notice(session: Session, principal: Principal, notice_id: str) -> Notice:
    notice = session.execute(visible_notices(principal).where(Notice.id == notice_id)).scalar_one_or_none()
    if notice is None:
        raise NotFound(f"notice {notice_id} not found")
    return notice


# -- the delivery log ------------------------------------------------------------------------------------------------
def visible_deliveries(principal: Principal):
    """Admin/service see all, community staff their communities, a resident only what was sent to them.

    A delivery row does not record the recipient's zone, so a zone-scoped butler sees only what was sent to
    themself; the community's senior butler and manager see the whole log."""
    query = select(Delivery).order_by(Delivery.created_at.desc(), Delivery.id)
    if principal.role == "butler":
        return query.where(Delivery.recipient_id == principal.subject)
    return scoped(query, principal, community_column=Delivery.community_id, resident_column=Delivery.recipient_id)


def list_deliveries(principal: Principal, filters: dict):
    query = visible_deliveries(principal)
    for name in ("event_type", "event_id", "subject", "status", "recipient_id", "community_id", "notice_id"):
        if filters.get(name):
            query = query.where(getattr(Delivery, name) == filters[name])
    if filters.get("phone"):
        # Search by number without storing it: the masked form narrows, then nothing else is needed.
        query = query.where(Delivery.recipient_masked == mask_phone(normalize_phone(filters["phone"], "phone")))
    if filters.get("created_from"):
        query = query.where(Delivery.created_at >= filters["created_from"])
    if filters.get("created_to"):
        query = query.where(Delivery.created_at < filters["created_to"])
    return query


def get_delivery(session: Session, principal: Principal, delivery_id: str) -> Delivery:
    delivery = session.execute(visible_deliveries(principal).where(Delivery.id == delivery_id)).scalar_one_or_none()
    if delivery is None:
        raise NotFound(f"notification {delivery_id} not found")
    return delivery


def resend(session: Session, principal: Principal, now: datetime, delivery_id: str) -> Delivery:
    if principal.role not in RESEND_ROLES:
        raise Forbidden(f"role {principal.role} may not resend messages")
    delivery = get_delivery(session, principal, delivery_id)
    session.refresh(delivery, with_for_update=True)
    if delivery.status != "failed":
        raise Conflict(f"only a failed message can be resent; this one is {delivery.status}")
    if delivery.kind == "message":
        raise Conflict("a direct message (sign-in code) is not resent; ask for a new one")
    delivery.status, delivery.next_attempt_at, delivery.attempts = "pending", now, 0
    delivery.error_code = delivery.reason = delivery.failed_at = None
    delivery.resent_count += 1
    _wake_on_commit(session)
    return delivery


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


def today(now: datetime, timezone: str) -> date:
    return local_now(now, timezone).date()


# -- templates and opt-outs ------------------------------------------------------------------------------------------
def template_overrides(session: Session) -> dict:
    return {(o.key, o.locale): o.text for o in session.execute(select(TemplateOverride)).scalars()}


def list_templates(session: Session) -> list[dict]:
    overrides = template_overrides(session)
    return [
        {
            "key": t.key,
            "variables": list(t.variables),
            "texts": {loc: overrides.get((t.key, loc)) or t.texts[loc] for loc in LOCALES},
            "overridden": sorted(loc for loc in LOCALES if (t.key, loc) in overrides),
        }
        for t in TEMPLATES.values()
    ]


def set_template(session: Session, principal: Principal, now: datetime, key: str, locale: str, text: str) -> dict:
    if principal.role not in TEMPLATE_ROLES:
        raise Forbidden("only an admin changes templates")
    if key not in TEMPLATES:
        raise NotFound(f"template {key} not found")
    if locale not in LOCALES:
        raise Invalid("locale", f"one of {', '.join(LOCALES)}")
    validate_text(key, text)
    row = session.get(TemplateOverride, (key, locale))
    if row is None:
        row = TemplateOverride(key=key, locale=locale)
        session.add(row)
    row.text, row.updated_by, row.updated_at = text, principal.subject, now
    return next(t for t in list_templates(session) if t["key"] == key)


def set_opt_out(session: Session, principal: Principal, now: datetime, opted_out: bool) -> dict:
    if principal.role != "resident" or not principal.resident_id:
        raise Forbidden("residents choose for themselves")
    row = session.get(OptOut, principal.resident_id)
    if opted_out and row is None:
        session.add(OptOut(recipient_id=principal.resident_id, created_at=now))
    elif not opted_out and row is not None:
        session.delete(row)
    return {"resident_id": principal.resident_id, "opted_out": opted_out}


def is_opted_out(session: Session, recipient_id: str) -> bool:
    return session.get(OptOut, recipient_id) is not None
