"""Deliveries: planning one row per event, recipient and channel, the dispatcher's wake-up, a delivery's
notification.* events and its failure, the delivery log and resend."""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from guanjia import outbox as outboxmod
from guanjia.auth import Principal, scoped
from guanjia.db import as_utc, is_postgres, new_id
from guanjia.errors import Conflict, Forbidden, NotFound
from guanjia.fields import schema_instance
from guanjia.pii import mask_phone, normalize_phone

from .. import events
from ..config import SMS, WECHAT, WechatSettings
from ..models import Delivery, outbox
from ..templates import DEFAULT_LOCALE
from . import inbox_messages, opt_outs, wechat_bindings

CHANNELS = (SMS, WECHAT)

STATUSES = ("pending", "sending", "sent", "delivered", "failed", "skipped")
FINAL = ("delivered", "failed", "skipped")
RESEND_ROLES = ("admin", "cs_manager", "senior_butler", "butler")


# In embedded mode (and in a worker) the dispatcher waits on one of these; a commit that planned deliveries sets it.
_wakeups: dict[str, threading.Event] = {}
_wakeups_lock = threading.Lock()


def wakeup_for(url: str) -> threading.Event:
    with _wakeups_lock:
        return _wakeups.setdefault(url, threading.Event())


def wake_on_commit(session: Session) -> None:
    """The dispatcher (waiting on `wakeup_for`) is woken when this transaction commits: new work is due."""
    if _WAKE not in session.info:
        session.info[_WAKE] = _url_text(session.get_bind().url)


_WAKE = "notifications_wake"  # session.info: the database whose dispatcher this transaction's commit wakes


@functools.cache
def _url_text(url) -> str:
    return url.render_as_string(hide_password=False)


# One listener for every session (a listener added per transaction cost the consumer ~10 % of its planning).
@sa_event.listens_for(Session, "after_commit")
def _wake_dispatcher(session: Session) -> None:
    # Also called when a savepoint is released (the consumer applies each event of a batch in its own): the rows
    # are not committed yet, and a dispatcher woken now would find nothing and sleep past the commit.
    if session.in_nested_transaction():
        return
    url = session.info.pop(_WAKE, None)
    if url:
        wakeup_for(url).set()


@sa_event.listens_for(Session, "after_rollback")
def _forget_wake(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_WAKE, None)


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
    # The inbox's form ({"title", "body", "links"}): a notice's long form; None = the template's text.
    inbox: dict | None = None


def find_delivery(session: Session, event_id: str, recipient_id: str, channel: str = SMS) -> Delivery | None:
    query = select(Delivery).where(
        Delivery.event_id == event_id, Delivery.recipient_id == recipient_id, Delivery.channel == channel
    )
    return session.execute(query).scalar_one_or_none()


def _planned(session: Session, event_id: str, recipient_id: str) -> bool:
    """A row for this event and person on any pushed channel (SMS, or WeChat and its SMS fallback)."""
    query = select(Delivery.id).where(Delivery.event_id == event_id, Delivery.recipient_id == recipient_id)
    return session.execute(query.limit(1)).first() is not None


def _order(plan: Plan, wechat: WechatSettings | None) -> tuple[str, ...]:
    return wechat.order(plan.template) if wechat is not None else (SMS,)


def _channels(session: Session, plan: Plan, wechat: WechatSettings | None) -> dict[str, str | tuple[str, str]]:
    """The channel of each recipient (see `_choose`), from their opt-outs and WeChat bindings (a query each)."""
    order = _order(plan, wechat)
    residents = {r.id for r in plan.recipients if r.id and r.kind == "resident"}
    refused = opt_outs.opted_out_channels(session, residents)
    bindings = wechat_bindings.bound(session, residents) if WECHAT in order else {}
    return _choose(plan, order, refused, bindings)


def _choose(plan: Plan, order: tuple[str, ...], refused: dict[str, set[str]], bindings) -> dict:
    """The channel of each recipient: the rule's first channel they can get (WeChat if bound) and did not opt out
    of, else SMS; (channel, reason) for one who can get none of them (the inbox still has the message)."""
    if WECHAT not in order and not refused:
        return {}
    chosen: dict[str, str | tuple[str, str]] = {}
    for recipient in plan.recipients:
        off = refused.get(recipient.id, set())
        usable = [c for c in order if c not in off and (c == SMS or recipient.id in bindings)]
        if usable:
            chosen[recipient.id] = usable[0]
            continue
        why = [f"opted out of {c}" if c in off else "not bound to WeChat" for c in order]
        chosen[recipient.id] = (SMS if SMS in order else WECHAT, "; ".join(why))
    return chosen


def _state(plan: Plan, recipient: Recipient, channel, now: datetime) -> tuple[str, str, str | None, datetime | None]:
    """(channel, status, reason, next attempt) of a new row: skipped at once when opted out of a non-essential
    message or when none of the rule's channels reaches the resident (the inbox has it), else pending now."""
    name = channel if isinstance(channel, str) else channel[0]
    if recipient.opted_out and not plan.essential:
        return name, "skipped", "opted out", None
    if not isinstance(channel, str):
        return name, "skipped", channel[1][:200], None
    return name, "pending", None, now


def plan_deliveries(
    session: Session,
    *,
    key: str,
    event_type: str,
    subject: str,
    plan: Plan,
    now: datetime,
    wechat: WechatSettings | None = None,
) -> list[Delivery]:
    """One pending row per recipient on the rule's channel (`wechat`: the account's settings; WeChat for a bound
    resident where the rule prefers it, else SMS), skipped at once when opted out of a non-essential message; a
    row that exists already (the event was applied before) is left alone. The dispatcher sends after this commits.
    Residents and staff also find the message in their inbox (written here, in the same transaction)."""
    created, seen = [], set()
    channels = _channels(session, plan, wechat)
    for recipient in plan.recipients:
        if not recipient.id or recipient.id in seen:
            continue
        seen.add(recipient.id)
        if _planned(session, key, recipient.id):
            continue
        channel, status, reason, next_attempt_at = _state(plan, recipient, channels.get(recipient.id, SMS), now)
        delivery = Delivery(
            id=new_id(),
            event_id=key,
            event_type=event_type,
            kind=plan.kind,
            subject=subject,
            community_id=plan.community_id,
            recipient_id=recipient.id,
            recipient_kind=recipient.kind,
            channel=channel,
            locale=DEFAULT_LOCALE,
            template=plan.template,
            variables=json.dumps(plan.variables, ensure_ascii=False),
            urgent=plan.urgent,
            essential=plan.essential,
            status=status,
            reason=reason,
            attempts=0,
            next_attempt_at=next_attempt_at,
            created_at=now,
            **plan.extra,
        )
        session.add(delivery)
        created.append(delivery)
    if plan.kind in ("event", "notice"):
        inbox_messages.deposit(
            session,
            key=key,
            event_type=event_type,
            kind=plan.kind,
            subject=subject,
            community_id=plan.community_id,
            recipients=plan.recipients,
            form=plan.inbox or inbox_messages.long_form(session, plan.template, plan.variables),
            template=plan.template,
            urgent=plan.urgent,
            now=now,
            notice_id=plan.extra.get("notice_id"),
        )
    if created:
        # A concurrent replica planning the same event blocks here on the unique index until we commit.
        session.flush()
        wake_on_commit(session)
    return created


def plan_for_event(
    session: Session, event: dict, plan: Plan, now: datetime, wechat: WechatSettings | None = None
) -> int:
    """`plan_for_events` for one event."""
    return plan_for_events(session, [(event, plan)], now, wechat)


def plan_for_events(
    session: Session, planned: list[tuple[dict, Plan]], now: datetime, wechat: WechatSettings | None = None
) -> int:
    """`plan_deliveries` for consumed events (distinct ids): how many deliveries they planned. On PostgreSQL the
    plans of events whose recipients are residents or staff take two statements of a fixed text whatever the number
    of events and recipients — one read (opt-outs, bindings, rows already planned, inbox messages already there, the
    operator's wording) and one write (the deliveries and the inbox messages) — instead of the ORM's ~7 round trips
    per event: the consumer's work per batch. Same rows, same decisions (`_choose`, `_state`), same unique keys."""
    fixed, count = [], 0
    for event, plan in planned:
        people = all(r.kind in inbox_messages.PEOPLE for r in plan.recipients if r.id)
        if people and plan.kind == "event" and not plan.extra and is_postgres(session):
            fixed.append((event, plan))
            continue
        count += len(
            plan_deliveries(
                session,
                key=event["id"],
                event_type=event["type"],
                subject=event["subject"],
                plan=plan,
                now=now,
                wechat=wechat,
            )
        )
    return count + (_plan_events_pg(session, fixed, now, wechat) if fixed else 0)


# Arrays as parameters: one text whatever the number of events and recipients (prepared once per connection by
# psycopg). Rows already planned and inbox messages already there are read for the events × the recipients and
# matched per (event, recipient) here.
_PG_EVENTS_READ = text(
    "SELECT 'refused', NULL, recipient_id, channel FROM channel_opt_outs"
    " WHERE recipient_id = ANY(CAST(:residents AS varchar[]))"
    " UNION ALL SELECT 'bound', NULL, resident_id, NULL FROM wechat_bindings"
    " WHERE resident_id = ANY(CAST(:wechat_residents AS varchar[]))"
    " UNION ALL SELECT 'planned', event_id, recipient_id, NULL FROM deliveries"
    " WHERE event_id = ANY(CAST(:keys AS varchar[])) AND recipient_id = ANY(CAST(:ids AS varchar[]))"
    " UNION ALL SELECT 'inbox', event_id, recipient_id, NULL FROM inbox_messages"
    " WHERE event_id = ANY(CAST(:keys AS varchar[])) AND recipient_id = ANY(CAST(:ids AS varchar[]))"
    " UNION ALL SELECT 'wording', key, NULL, text FROM template_overrides"
    " WHERE key = ANY(CAST(:templates AS varchar[])) AND locale = :locale"
)
# The columns of a new delivery and of a new inbox message that vary per row (the others are the same for all).
_SHARED_COLUMNS = {
    "id": "varchar",
    "event_id": "varchar",
    "event_type": "varchar",
    "subject": "varchar",
    "community_id": "varchar",
    "recipient_id": "varchar",
    "recipient_kind": "varchar",
    "template": "varchar",
    "urgent": "boolean",
}
_DELIVERY_COLUMNS = _SHARED_COLUMNS | {
    "channel": "varchar",
    "variables": "text",
    "essential": "boolean",
    "status": "varchar",
    "reason": "varchar",
    "next_attempt_at": "timestamptz",
}
_MESSAGE_COLUMNS = _SHARED_COLUMNS | {"title": "text", "body": "text", "links": "text", "images": "text"}


def _unnest(prefix: str, columns: dict[str, str]) -> str:
    arrays = ", ".join(f"CAST(:{prefix}{name} AS {kind}[])" for name, kind in columns.items())
    return f"unnest({arrays}) AS {prefix[0]}({', '.join(columns)})"


_PG_EVENTS_WRITE = text(
    "WITH planned AS (INSERT INTO deliveries (id, event_id, event_type, kind, subject, community_id, recipient_id,"
    " recipient_kind, channel, locale, template, variables, urgent, essential, status, reason, attempts,"
    " next_attempt_at, created_at)"
    " SELECT d.id, d.event_id, d.event_type, 'event', d.subject, d.community_id, d.recipient_id, d.recipient_kind,"
    " d.channel, :locale, d.template, d.variables, d.urgent, d.essential, d.status, d.reason, 0, d.next_attempt_at,"
    f" :now FROM {_unnest('d_', _DELIVERY_COLUMNS)})"
    " INSERT INTO inbox_messages (id, event_id, event_type, kind, subject, community_id, recipient_id,"
    " recipient_kind, template, locale, title, body, links, images, urgent, created_at)"
    " SELECT m.id, m.event_id, m.event_type, 'event', m.subject, m.community_id, m.recipient_id, m.recipient_kind,"
    f" m.template, :locale, m.title, m.body, m.links, m.images, m.urgent, :now FROM {_unnest('m_', _MESSAGE_COLUMNS)}"
)


def _plan_events_pg(session: Session, planned: list[tuple[dict, Plan]], now: datetime, wechat) -> int:
    ids = list(dict.fromkeys(r.id for _, plan in planned for r in plan.recipients if r.id))
    residents = list(dict.fromkeys(r.id for _, p in planned for r in p.recipients if r.id and r.kind == "resident"))
    wechat_residents = list(
        dict.fromkeys(
            r.id
            for _, p in planned
            if WECHAT in _order(p, wechat)
            for r in p.recipients
            if r.id and r.kind == "resident"
        )
    )
    refused: dict[str, set[str]] = {}
    bound, planned_rows, present, overrides = set(), set(), set(), {}
    found = session.execute(
        _PG_EVENTS_READ,
        {
            "residents": residents,
            "wechat_residents": wechat_residents,
            "keys": [event["id"] for event, _ in planned],
            "ids": ids,
            "templates": list(dict.fromkeys(plan.template for _, plan in planned)),
            "locale": DEFAULT_LOCALE,
        },
    )
    for what, key, recipient_id, value in found:
        if what == "refused":
            refused.setdefault(recipient_id, set()).add(value)
        elif what == "bound":
            bound.add(recipient_id)
        elif what == "planned":
            planned_rows.add((key, recipient_id))
        elif what == "inbox":
            present.add((key, recipient_id))
        else:
            overrides[key, DEFAULT_LOCALE] = value
    rows: dict[str, list] = {f"d_{name}": [] for name in _DELIVERY_COLUMNS}
    messages: dict[str, list] = {f"m_{name}": [] for name in _MESSAGE_COLUMNS}
    for event, plan in planned:
        _rows_of(event, plan, now, wechat, (refused, bound, planned_rows, present, overrides), rows, messages)
    if not rows["d_id"] and not messages["m_id"]:
        return 0
    session.execute(_PG_EVENTS_WRITE, {"locale": DEFAULT_LOCALE, "now": as_utc(now), **rows, **messages})
    if rows["d_id"]:
        # A concurrent replica planning the same event blocks on the unique index until we commit, as above.
        wake_on_commit(session)
    return len(rows["d_id"])


def _rows_of(event: dict, plan: Plan, now: datetime, wechat, found: tuple, rows: dict, messages: dict) -> None:
    """One event's new deliveries and inbox messages, appended to the write's columns."""
    refused, bound, planned_rows, present, overrides = found
    key = event["id"]
    channels = _choose(plan, _order(plan, wechat), refused, bound)
    shared = {
        "event_id": key,
        "event_type": event["type"],
        "subject": event["subject"],
        "community_id": plan.community_id,
        "template": plan.template,
        "urgent": plan.urgent,
        "variables": json.dumps(plan.variables, ensure_ascii=False),
        "essential": plan.essential,
    }
    form, seen = None, set()
    for recipient in plan.recipients:
        if not recipient.id or recipient.id in seen:
            continue
        seen.add(recipient.id)
        if (key, recipient.id) not in present:
            if form is None:
                form = plan.inbox or inbox_messages.form_of(plan.template, plan.variables, overrides)
                links = json.dumps(form.get("links") or [], ensure_ascii=False)
                images = json.dumps(form.get("images") or [], ensure_ascii=False)
            values = {"title": form["title"], "body": form["body"], "links": links, "images": images}
            values |= {"id": new_id(), "recipient_id": recipient.id, "recipient_kind": recipient.kind, **shared}
            for name in _MESSAGE_COLUMNS:
                messages[f"m_{name}"].append(values[name])
        if (key, recipient.id) in planned_rows:
            continue
        channel, status, reason, next_attempt_at = _state(plan, recipient, channels.get(recipient.id, SMS), now)
        values = {
            "id": new_id(),
            "recipient_id": recipient.id,
            "recipient_kind": recipient.kind,
            "channel": channel,
            "status": status,
            "reason": reason,
            "next_attempt_at": as_utc(next_attempt_at) if next_attempt_at else None,
            **shared,
        }
        for name in _DELIVERY_COLUMNS:
            rows[f"d_{name}"].append(values[name])


class NotificationEvents:
    """The notification.sent/delivered/failed events of one transaction, written through the library's writer at
    the caller's `now`: one `outbox.emit` each, or — `batched`, the dispatcher recording a whole batch — one
    `outbox.Batch` per type, written by `flush` (one multi-row insert per type for the batch)."""

    def __init__(self, settings, now: datetime, *, batched: bool = False):
        self.settings, self.now = settings, now
        self.batches: dict[str, outboxmod.Batch] | None = {} if batched else None

    def emit(self, session: Session, row: Delivery, event_type: str) -> None:
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
        subject, payload = f"notification/{row.id}", schema_instance(events.PUBLISHED[event_type]).dump(data)
        if self.batches is None:
            outboxmod.emit(
                session,
                outbox,
                self.settings,
                type=event_type,
                subject=subject,
                data=payload,
                community=row.community_id,
                time=self.now,
            )
            return
        if event_type not in self.batches:
            self.batches[event_type] = outboxmod.Batch(outbox, self.settings, event_type, time=self.now)
        self.batches[event_type].add(subject=subject, data=payload, community=row.community_id)

    def flush(self, session: Session) -> None:
        for batch in (self.batches or {}).values():
            batch.flush(session)


def fail(
    session: Session, written: NotificationEvents, row: Delivery, now: datetime, code: str | None, reason: str | None
) -> None:
    """It will not arrive: failed, its secret (a direct message's number) erased, notification.failed written."""
    row.status, row.failed_at, row.error_code = "failed", now, code or "failed"
    row.reason, row.secret = (reason or "")[:200] or None, None
    written.emit(session, row, events.NOTIFICATION_FAILED)


def fall_back(session: Session, row: Delivery, now: datetime, wechat: WechatSettings) -> None:
    """WeChat could not take the message: the rule's next channel (SMS) gets it, once (the unique key)."""
    order = wechat.order(row.template) if row.template else (SMS,)
    later = order[order.index(WECHAT) + 1 :] if WECHAT in order else (SMS,)
    if SMS not in later or find_delivery(session, row.event_id, row.recipient_id, SMS) is not None:
        return
    if SMS in opt_outs.opted_out_channels(session, {row.recipient_id}).get(row.recipient_id, ()):
        return  # opted out of SMS too: the inbox alone has it
    copied = ("event_id", "event_type", "kind", "subject", "community_id", "recipient_id", "recipient_kind", "locale")
    session.add(
        Delivery(
            id=new_id(),
            channel=SMS,
            template=row.template,
            variables=row.variables,
            urgent=row.urgent,
            essential=row.essential,
            notice_id=row.notice_id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            reason=f"fallback from WeChat ({row.error_code or row.reason})"[:200],
            **{name: getattr(row, name) for name in copied},
        )
    )
    wake_on_commit(session)


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
    for name in ("event_type", "event_id", "subject", "status", "recipient_id", "community_id", "notice_id", "channel"):
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
    wake_on_commit(session)
    return delivery
