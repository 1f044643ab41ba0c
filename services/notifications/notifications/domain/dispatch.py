"""The dispatcher: claim due deliveries within quiet hours and caps (SKIP LOCKED: replicas share the work), send
them through the provider chain with back-off, and record the outcomes with their notification.* events."""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from guanjia import metrics
from guanjia.db import as_utc, is_postgres
from guanjia.errors import Invalid
from guanjia.logging import mask_text
from guanjia.pii import mask_phone, normalize_phone

from .. import events
from ..config import SMS, WECHAT, SmsSettings
from ..directory import DirectoryUnavailable
from ..models import Delivery, InboxMessage
from ..sms import PROVIDER, REJECTED, THROTTLED, Message, Sent, SmsError
from ..templates import localized, pick_locale, render, segments
from ..wechat import PERMANENT, THROTTLE_SECONDS, WechatError, mask_openid
from ..wechat import THROTTLED as WECHAT_THROTTLED
from . import channel_hours, opt_outs, wechat_bindings
from .caps import (
    COMMUNITY_DAY,
    RECIPIENT_DAY,
    RECIPIENT_MINUTE,
    add_caps,
    cap_windows,
    forget_old_caps,
    lock_caps,
    release_caps,
)
from .deliveries import NotificationEvents, fail, fall_back
from .inbox_messages import without_signature
from .messages import unseal
from .quiet_hours import in_quiet_hours, local_day_start, quiet_hours_end
from .receipts import batch_message_id
from .wording import template_overrides

log = logging.getLogger("notifications.domain")


def backoff(attempts: int, sms: SmsSettings, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential back-off with jitter: base·2^(n-1), capped, times a random factor in [0.5, 1)."""
    delay = min(sms.retry_max_seconds, sms.retry_base_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * (0.5 + rng() / 2))


# A lease is minutes long: a send lost with its worker looked for once a second (by the claim's clock) is found as
# soon, and a claim of one message — tens a second at a steady pace — costs a query fewer.
STALE_CHECK_SECONDS = 1.0


def _recover_stale(session: Session, context, written: NotificationEvents, now: datetime) -> None:
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
        if row.channel == SMS:
            released.update(cap_windows(row.recipient_id, row.community_id, row.claimed_at, context.settings.timezone))
        if row.duplicate_risk:
            fail(session, written, row, now, "outcome_unknown", "twice lost between send and commit; not sent again")
            continue
        row.status, row.next_attempt_at, row.duplicate_risk = "pending", now, True
        row.reason = "previous attempt's outcome unknown (worker stopped while sending): may arrive twice"
        log.warning("delivery lost while sending; resending once", extra={"delivery_id": row.id})
    release_caps(session, released)


@dataclass(frozen=True)
class Held:
    """A due message that is not claimed now: failed for good (`code` set), or waiting until `until`."""

    reason: str
    until: datetime | None = None
    code: str | None = None


def held(
    urgent: bool,
    recipient_id: str,
    community_id: str | None,
    counts: dict,
    sms: SmsSettings,
    now: datetime,
    timezone: str,
    *,
    quiet: bool,
    channel: str = SMS,
    at_night: bool = False,
) -> Held | None:
    """Why a message due at `now` may not be claimed — quiet hours, then the recipient's daily and per-minute caps,
    then the community's daily budget — or None when it may. `counts` are the counters' current values,
    {(scope, key): count}; urgent messages pass quiet hours and the community's budget, never a recipient's caps.
    On another channel than SMS (WeChat) only quiet hours apply, and not where the community allows it `at_night`."""
    if quiet and not urgent and not (at_night and channel != SMS):
        return Held("waiting for the end of quiet hours", until=quiet_hours_end(now, sms, timezone))
    if channel != SMS:
        return None  # the caps count SMS (billed, and the anti-bombing limits); WeChat has its own limits
    if counts.get((RECIPIENT_DAY, recipient_id), 0) >= sms.recipient_per_day:
        return Held(f"over {sms.recipient_per_day} messages today", code="recipient_daily_cap")
    if counts.get((RECIPIENT_MINUTE, recipient_id), 0) >= sms.recipient_per_minute:
        return Held("waiting: recipient's per-minute cap", until=now + timedelta(minutes=1))
    budget = counts.get((COMMUNITY_DAY, community_id), 0)
    if not urgent and community_id and budget >= sms.community_daily_budget:
        tomorrow = local_day_start(now + timedelta(days=1), timezone)
        return Held("waiting: community's daily budget is spent", until=tomorrow)
    return None


def claim_due(session: Session, context, now: datetime) -> list[dict]:
    """Claim due pending rows (SKIP LOCKED: replicas share the work) after applying quiet hours and caps.

    The caps are counters (sms_counters), read and locked in one statement and raised for what is claimed in
    this transaction: a claim costs the same with 10 or 100,000 messages sent today, and two replicas cannot
    both take the last message a cap allows."""
    sms, tz = context.sms, context.settings.timezone
    written = NotificationEvents(context.settings, now)
    last = context.stale_checked_at
    if last is None or now < last or (now - last).total_seconds() >= STALE_CHECK_SECONDS:
        _recover_stale(session, context, written, now)
        context.stale_checked_at = now
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
    rows = _without_opted_out(session, context, rows, now)
    quiet = in_quiet_hours(now, sms, tz)
    nights = channel_hours.wechat_at_night(
        session, {r.community_id for r in rows if quiet and r.channel == WECHAT}, not context.wechat.quiet_hours
    )
    capped = [r for r in rows if r.channel == SMS]  # the SMS caps are SMS's; WeChat has its own limits
    counts = lock_caps(session, {w for r in capped for w in cap_windows(r.recipient_id, r.community_id, now, tz)})
    claimed, taken = [], Counter()
    for row in rows:
        night = nights.get(row.community_id, nights[None])
        wait = held(
            row.urgent,
            row.recipient_id,
            row.community_id,
            counts,
            sms,
            now,
            tz,
            quiet=quiet,
            channel=row.channel,
            at_night=night,
        )
        if wait is not None and wait.code:
            fail(session, written, row, now, wait.code, wait.reason)
            continue
        if wait is not None:
            row.next_attempt_at, row.reason = wait.until, wait.reason
            continue
        for scope, key, window in (
            cap_windows(row.recipient_id, row.community_id, now, tz) if row.channel == SMS else ()
        ):
            counts[scope, key] += 1
            taken[scope, key, window] += 1
        row.status, row.claimed_at, row.attempts = "sending", now, row.attempts + 1
        claimed.append(
            {
                "id": row.id,
                "channel": row.channel,
                "event_id": row.event_id,
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
    _wechat_addresses(session, [c for c in claimed if c["channel"] == WECHAT])
    return claimed


def _without_opted_out(session: Session, context, rows: list[Delivery], now: datetime) -> list[Delivery]:
    """A resident who opted out of a channel after the message was planned: skipped there (WeChat falls back to
    SMS unless they opted out of that too; the inbox has it anyway). One query for the batch."""
    refused = opt_outs.opted_out_channels(session, {r.recipient_id for r in rows if r.recipient_kind == "resident"})
    if not refused:
        return rows
    kept = []
    for row in rows:
        if row.recipient_kind == "resident" and row.channel in refused.get(row.recipient_id, ()):
            row.status, row.next_attempt_at, row.reason, row.secret = (
                "skipped",
                None,
                f"opted out of {row.channel}",
                None,
            )
            if row.channel == WECHAT:
                fall_back(session, row, now, context.wechat)
            continue
        kept.append(row)
    return kept


def _wechat_addresses(session: Session, items: list[dict]) -> None:
    """Claimed WeChat messages carry the sealed openid (opened only to send) and their inbox message's id (the
    template message links to it): two queries for the batch."""
    if not items:
        return
    bindings = wechat_bindings.bound(session, {i["recipient_id"] for i in items})
    query = select(InboxMessage.id, InboxMessage.event_id, InboxMessage.recipient_id).where(
        InboxMessage.event_id.in_({i["event_id"] for i in items}),
        InboxMessage.recipient_id.in_({i["recipient_id"] for i in items}),
    )
    inbox_ids = {(e, r): mid for mid, e, r in session.execute(query)}
    for item in items:
        binding = bindings.get(item["recipient_id"])
        item["openid_sealed"] = binding.openid if binding else None
        item["inbox_id"] = inbox_ids.get((item["event_id"], item["recipient_id"]))


def dispatch(context, database, now: datetime) -> int:
    """Claim one batch of deliveries due at `now` and send them (concurrently); returns how many were claimed.
    The outcomes are recorded at the context's clock after the sends (a send takes its time)."""
    with database.transaction() as session:
        claimed = claim_due(session, context, now)
        overrides = template_overrides(session) if claimed else {}
    if not claimed:
        return 0
    _look_up_contacts(context, claimed)
    results = _send_all(context, claimed, overrides)
    with database.transaction() as session:
        # One statement for what was sent, one query for the other rows and one multi-row outbox insert: the batch
        # is recorded in a few round trips.
        recorded_at = context.clock()
        written = NotificationEvents(context.settings, recorded_at, batched=True)
        outcomes = list(zip(claimed, results, strict=True))
        if is_postgres(session):
            _record_sent(session, written, [(i, o) for i, o in outcomes if o.status == "sent"], recorded_at)
            outcomes = [(i, o) for i, o in outcomes if o.status != "sent"]
        ids = [item["id"] for item, _ in outcomes]
        query = select(Delivery).where(Delivery.id.in_(ids)).with_for_update()
        found = {r.id: r for r in session.execute(query).scalars()} if ids else {}
        released, tz = Counter(), context.settings.timezone
        for item, outcome in outcomes:
            row = found.get(item["id"])
            recorded = _record(session, context, written, row, item, outcome, recorded_at)
            if recorded and outcome.status != "sent" and item["channel"] == SMS:
                # Not accepted by a provider (retry, skipped, rejected): the claim stops counting against the caps.
                windows = cap_windows(item["recipient_id"], item["community_id"], item["claimed_at"], tz)
                released.update(windows)
        release_caps(session, released)
        if random.random() < 0.01:  # now and then, not on every batch: a range delete on an index
            forget_old_caps(session, now)
        written.flush(session)
    return len(claimed)


# What `_record` does for a message a provider accepted, for a whole batch in one statement of a fixed text (arrays
# as parameters): only a row still claimed by this attempt (its lease not taken over) is marked sent.
_PG_SENT = text(
    "UPDATE deliveries AS d SET status = 'sent', sent_at = :now, provider = COALESCE(s.provider, d.provider),"
    " provider_message_id = s.message_id, recipient_masked = COALESCE(s.masked, d.recipient_masked),"
    " locale = COALESCE(s.locale, d.locale), text = COALESCE(s.text, d.text), segments = s.segments,"
    " error_code = NULL, secret = NULL, reason = CASE WHEN d.duplicate_risk THEN d.reason END"
    " FROM unnest(CAST(:ids AS varchar[]), CAST(:claimed AS timestamptz[]), CAST(:providers AS varchar[]),"
    " CAST(:message_ids AS varchar[]), CAST(:masked AS varchar[]), CAST(:locales AS varchar[]),"
    " CAST(:texts AS text[]), CAST(:segments AS integer[]))"
    " AS s(id, claimed_at, provider, message_id, masked, locale, text, segments)"
    " WHERE d.id = s.id AND d.status = 'sending' AND d.claimed_at = s.claimed_at"
    " RETURNING d.id, d.event_id, d.event_type, d.kind, d.subject, d.channel, d.status, d.recipient_kind,"
    " d.recipient_id, d.community_id, d.error_code"
)


def _record_sent(session: Session, written: NotificationEvents, sent: list, now: datetime) -> None:
    """PostgreSQL: the sent outcomes of a batch as `_record` records them (status, provider, masked number, text,
    segments, the secret erased, notification.sent), in one statement instead of an ORM row each."""
    if not sent:
        return
    for _item, outcome in sent:
        metrics.sms("notifications", outcome.provider or "-", outcome.status)
    columns = ("ids", "claimed", "providers", "message_ids", "masked", "locales", "texts", "segments")
    values: dict[str, list] = {name: [] for name in columns}
    for item, outcome in sent:
        values["ids"].append(item["id"])
        values["claimed"].append(as_utc(item["claimed_at"]))
        values["providers"].append(outcome.provider)
        values["message_ids"].append(outcome.message_id)
        values["masked"].append(outcome.masked)
        values["locales"].append(outcome.locale)
        values["texts"].append(outcome.text)
        values["segments"].append(segments(outcome.text or "") if item["channel"] == SMS else None)
    rows = {row.id: row for row in session.execute(_PG_SENT, {**values, "now": as_utc(now)})}
    for item, _outcome in sent:  # the events in the batch's order
        row = rows.get(item["id"])
        if row is None:
            log.warning("delivery outcome arrived after its lease", extra={"delivery_id": item["id"]})
            continue
        written.emit(session, row, events.NOTIFICATION_SENT)


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
    fallback: bool = False  # WeChat could not take it (unbound, refused for good): the rule's next channel (SMS)


def _look_up_contacts(context, claimed: list[dict]) -> None:
    """The residents' contacts of a claimed batch in one call to residents, still at send time, instead of one call
    per message (each cost both sides an HTTP round trip); kept on the items. A lone message, or residents unable
    to answer that call, leaves each send to ask for its own (and retry as before)."""
    residents = [i["recipient_id"] for i in claimed if i["recipient_kind"] == "resident"]
    if len(residents) < 2:
        return  # a lone message asks for its own (the same one call)
    ids = list(dict.fromkeys(residents))  # several messages to one resident: asked once
    try:
        found = context.directory.resident_contacts(ids)
    except DirectoryUnavailable:
        return
    if found is None:
        return
    for item in claimed:
        if item["recipient_kind"] == "resident":
            item["contact"] = found.get(item["recipient_id"])


def _contact(context, item: dict) -> dict | None:
    if "contact" in item:
        return item["contact"]  # looked up with its batch (None: residents does not know them)
    if item["recipient_kind"] == "phone":
        return unseal(context.settings, item["secret"]) if item["secret"] else None
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


@dataclass(frozen=True)
class Ready:
    """An SMS addressed and rendered, to be sent alone or in one call with others of its batch key."""

    message: Message
    base: dict  # the outcome's masked number, locale and logged text
    now: datetime  # when it was prepared: back-off and throttling windows count from here


def _prepare(context, item: dict, overrides: dict) -> Outcome | Ready:
    """Look the contact up now and render: a Ready SMS, or the Outcome when there is nothing to send (WeChat:
    sent, as it has no batch call)."""
    if item["channel"] == WECHAT:
        return _send_wechat(context, item, overrides)
    now = context.clock()
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
    params = localized(key, variables, locale)
    message = Message(phone=phone, text=text, template=key, params=params, reference=item["id"])
    return Ready(message, {"masked": mask_phone(phone), "locale": locale, "text": logged}, now)


def _unexpected(context, item: dict, exc: Exception, now: datetime) -> Outcome:
    return Outcome(
        "retry",
        error_code="error",
        reason=mask_text(repr(exc))[:200],
        retry_at=now + backoff(item["attempts"], context.sms),
    )


def _sms_outcome(context, item: dict, ready: Ready, result: Sent | Exception) -> Outcome:
    """The outcome of a prepared SMS from what the provider chain answered for it."""
    now, base = ready.now, ready.base
    if isinstance(result, Sent):
        message_id = result.message_id
        if result.batched:  # the call's id, shared by its numbers: the receipt names the number too
            message_id = batch_message_id(context.settings.pii_key, message_id, ready.message.phone)
        return Outcome("sent", provider=result.provider, message_id=message_id, **base)
    if not isinstance(result, SmsError):
        return _unexpected(context, item, result, now)
    exc, reason = result, str(result)[:200]
    if exc.kind in (REJECTED, PROVIDER):
        return Outcome("failed", provider=exc.provider, error_code=exc.code, reason=reason, **base)
    if exc.kind == THROTTLED:
        retry_at = now + timedelta(seconds=exc.retry_after or 1)
        return Outcome("retry", exc.provider, error_code=exc.code, reason=reason, retry_at=retry_at, throttled=True)
    if item["attempts"] >= context.sms.max_attempts:
        return Outcome("failed", provider=exc.provider, error_code=exc.code, reason=f"gave up: {reason}"[:200], **base)
    return Outcome(
        "retry", exc.provider, error_code=exc.code, reason=reason, retry_at=now + backoff(item["attempts"], context.sms)
    )


def batch_calls(keys: list[str | None], phones: list[str], size: int) -> list[list[int]]:
    """The provider calls for prepared messages (indexes): messages of one batch key go together, up to `size` a
    call and one message per number in a call (two messages to one number in one call would share an id and
    its receipt); without a key, or left alone, a message is a call of its own."""
    calls: list[list[int]] = []
    open_calls: dict[str, list[tuple[list[int], set[str]]]] = {}
    for index, (key, phone) in enumerate(zip(keys, phones, strict=True)):
        if key is None or size < 2:
            calls.append([index])
            continue
        chunks = open_calls.setdefault(key, [])
        chunk = next((c for c in chunks if len(c[0]) < size and phone not in c[1]), None)
        if chunk is None:
            chunk = ([], set())
            chunks.append(chunk)
            calls.append(chunk[0])
        chunk[0].append(index)
        chunk[1].add(phone)
    return calls


def _send_all(context, claimed: list[dict], overrides: dict) -> list[Outcome]:
    """Prepare the claimed messages (concurrently: a contact may need a call), then send them (concurrently):
    SMS that the first provider can take in one call (Aliyun's SendBatchSms: one template) go in one call per
    batch; the others one by one. An outcome per claimed item, in order."""
    pool, chain = context.pool(), context.chain
    prepared = list(pool.map(lambda item: _prepare(context, item, overrides), claimed))
    outcomes: list[Outcome | None] = [p if isinstance(p, Outcome) else None for p in prepared]
    waiting = [i for i, p in enumerate(prepared) if isinstance(p, Ready)]
    calls = batch_calls(
        [chain.batch_key(prepared[i].message) for i in waiting],
        [prepared[i].message.phone for i in waiting],
        chain.batch_max,
    )

    def send(call: list[int]) -> list[tuple[int, Outcome]]:
        indexes = [waiting[n] for n in call]
        messages = [prepared[i].message for i in indexes]
        try:
            results = chain.send_batch(messages) if len(messages) > 1 else [Sent(*chain.send(messages[0]))]
        except Exception as exc:  # SmsError (a refusal), or a bug: never lose the rows
            results = [exc] * len(messages)
        return [(i, _sms_outcome(context, claimed[i], prepared[i], r)) for i, r in zip(indexes, results, strict=True)]

    for pairs in pool.map(send, calls):
        for index, outcome in pairs:
            outcomes[index] = outcome
    return outcomes


def _send_wechat(context, item: dict, overrides: dict) -> Outcome:
    """A template message to the resident's bound WeChat; never raises. The openid is opened only for the call."""
    now = context.clock()
    try:
        contact = _contact(context, item)
    except DirectoryUnavailable as exc:
        retry_at = now + backoff(item["attempts"], context.sms)
        return Outcome("retry", error_code="directory_unavailable", reason=str(exc)[:200], retry_at=retry_at)
    if contact is None:
        return Outcome("skipped", reason="no contact")
    if _outside_community(item, contact):
        return Outcome("skipped", reason="recipient outside the community")
    if not item["essential"] and (contact.get("opted_out") or context.opted_out(item["recipient_id"])):
        return Outcome("skipped", reason="opted out")
    if not item.get("openid_sealed"):
        return Outcome("skipped", reason="not bound to WeChat (any more)", fallback=True)
    key = item["template"]
    template_id = context.wechat.templates.get(key)
    if not template_id:
        return Outcome(
            "failed", WECHAT, error_code="no_template", reason=f"no WeChat template for {key}", fallback=True
        )
    openid = wechat_bindings.openid_of(context.settings, item["openid_sealed"])
    locale = pick_locale(contact.get("locale"))
    base = {
        "masked": mask_openid(openid),
        "locale": locale,
        "text": without_signature(render(key, item["variables"], locale, "", overrides)),
    }
    page = context.wechat.page_url
    url = page.replace("{message_id}", item["inbox_id"]) if page and item.get("inbox_id") else None
    try:
        msgid = context.wechat_client.send_template(openid, template_id, localized(key, item["variables"], locale), url)
    except WechatError as exc:
        reason = f"wechat {exc}"[:200]
        code = f"wechat:{exc.code}"
        if exc.kind == PERMANENT:
            return Outcome("failed", WECHAT, error_code=code, reason=reason, fallback=True, **base)
        if exc.kind == WECHAT_THROTTLED:
            retry_at = now + timedelta(seconds=THROTTLE_SECONDS)
            return Outcome("retry", WECHAT, error_code=code, reason=reason, retry_at=retry_at, throttled=True)
        if item["attempts"] >= context.sms.max_attempts:
            return Outcome("failed", WECHAT, error_code=code, reason=f"gave up: {reason}"[:200], fallback=True, **base)
        retry_at = now + backoff(item["attempts"], context.sms)
        return Outcome("retry", WECHAT, error_code=code, reason=reason, retry_at=retry_at)
    except Exception as exc:  # never lose the row to a bug: retry it like an outage
        retry_at = now + backoff(item["attempts"], context.sms)
        return Outcome("retry", error_code="error", reason=mask_text(repr(exc))[:200], retry_at=retry_at)
    return Outcome("sent", provider=WECHAT, message_id=msgid, **base)


def _record(
    session: Session,
    context,
    written: NotificationEvents,
    row: Delivery | None,
    item: dict,
    outcome: Outcome,
    now: datetime,
) -> bool:
    """Record the outcome of a claimed delivery; False when the claim had been taken over meanwhile."""
    if outcome.status in ("sent", "failed"):
        metrics.sms("notifications", outcome.provider or "-", outcome.status)
    if row is None or row.status != "sending" or as_utc(row.claimed_at) != as_utc(item["claimed_at"]):
        # Taken over meanwhile (presumed lost after the lease): the newer attempt records its own outcome.
        log.warning("delivery outcome arrived after its lease", extra={"delivery_id": item["id"]})
        return False
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
        if outcome.fallback:
            fall_back(session, row, now, context.wechat)
        return True
    if outcome.status == "failed":
        fail(session, written, row, now, outcome.error_code, outcome.reason)
        if outcome.fallback:
            fall_back(session, row, now, context.wechat)
        return True
    row.status, row.sent_at, row.provider_message_id = "sent", now, outcome.message_id
    row.segments = segments(outcome.text or "") if row.channel == SMS else None  # SMS parts are what is billed
    row.error_code, row.secret = None, None
    if not row.duplicate_risk:
        row.reason = None
    written.emit(session, row, events.NOTIFICATION_SENT)
    return True
