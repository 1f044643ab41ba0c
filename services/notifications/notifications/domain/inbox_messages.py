"""The in-app inbox: every notification to a resident or a staff member lands there once, with its full text
(no SMS length cap) and links; the caller reads only their own and marks them read."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import new_id
from guanjia.errors import NotFound

from ..models import InboxMessage
from ..templates import DEFAULT_LOCALE, inbox_title, render
from .wording import template_overrides

INBOX = "inbox"
PEOPLE = ("resident", "user")  # a bare number (a sign-in code) has no inbox, and a code is never kept


def without_signature(text: str) -> str:
    # The SMS carries the sender's signature (【物业】 / [Estate]); the inbox shows who sent it by itself.
    for opening, closing in (("【", "】"), ("[", "] ")):
        if text.startswith(opening) and closing in text:
            return text.split(closing, 1)[1].lstrip()
    return text


def long_form(session: Session, template: str, variables: dict, locale: str = DEFAULT_LOCALE) -> dict:
    """An event's inbox form: a title per template and the template's text (the operator's wording first)."""
    return form_of(template, variables, template_overrides(session), locale)


def form_of(template: str, variables: dict, overrides: dict, locale: str = DEFAULT_LOCALE) -> dict:
    """`long_form` with the overrides already read ({(template, locale): text})."""
    text = render(template, variables, locale, "", overrides)
    return {"title": inbox_title(template, locale), "body": without_signature(text), "links": []}


def deposit(
    session: Session,
    *,
    key: str,
    event_type: str,
    kind: str,
    subject: str,
    community_id: str | None,
    recipients: list,
    form: dict,
    template: str | None,
    urgent: bool,
    now: datetime,
    notice_id: str | None = None,
) -> list[InboxMessage]:
    """One inbox message per person for the event/notice `key`; one already there (the event applied before) is
    left alone. Runs in the planning transaction: the message exists exactly when the deliveries do."""
    people = [r for r in recipients if r.id and r.kind in PEOPLE]
    if not people:
        return []
    ids = {r.id for r in people}
    query = select(InboxMessage.recipient_id).where(InboxMessage.event_id == key, InboxMessage.recipient_id.in_(ids))
    present = set(session.execute(query).scalars())
    created, seen = [], set()
    for recipient in people:
        if recipient.id in present or recipient.id in seen:
            continue
        seen.add(recipient.id)
        created.append(
            InboxMessage(
                id=new_id(),
                event_id=key,
                event_type=event_type,
                kind=kind,
                subject=subject,
                community_id=community_id,
                recipient_id=recipient.id,
                recipient_kind=recipient.kind,
                notice_id=notice_id,
                template=template,
                locale=DEFAULT_LOCALE,
                title=form["title"],
                body=form["body"],
                links=json.dumps(form.get("links") or [], ensure_ascii=False),
                images=json.dumps(form.get("images") or [], ensure_ascii=False),
                urgent=urgent,
                created_at=now,
            )
        )
    session.add_all(created)
    return created


def own_messages(principal: Principal):
    """The caller's own inbox, newest first: a resident their resident record's (of a community they live in, as
    the SMS rule: another community's event naming them is not theirs to read), staff their user's."""
    query = select(InboxMessage).order_by(InboxMessage.created_at.desc(), InboxMessage.id)
    if principal.role == "resident":
        if not principal.resident_id:
            return query.where(false())
        return query.where(
            InboxMessage.recipient_kind == "resident",
            InboxMessage.recipient_id == principal.resident_id,
            or_(InboxMessage.community_id.is_(None), InboxMessage.community_id.in_(principal.communities or ("",))),
        )
    if principal.role in ("service", "integrator"):
        return query.where(false())  # machines have no inbox
    return query.where(InboxMessage.recipient_kind == "user", InboxMessage.recipient_id == principal.subject)


def list_inbox(principal: Principal, filters: dict):
    query = own_messages(principal)
    if filters.get("unread"):
        query = query.where(InboxMessage.read_at.is_(None))
    if filters.get("kind"):
        query = query.where(InboxMessage.kind == filters["kind"])
    return query


def unread_count(session: Session, principal: Principal) -> int:
    sub = own_messages(principal).order_by(None).where(InboxMessage.read_at.is_(None)).subquery()
    return session.execute(select(func.count()).select_from(sub)).scalar_one()


def mark_read(session: Session, principal: Principal, now: datetime, message_id: str) -> InboxMessage:
    """Read once: the first reading's time stays (marking again is harmless)."""
    message = session.execute(own_messages(principal).where(InboxMessage.id == message_id)).scalar_one_or_none()
    if message is None:
        raise NotFound(f"inbox message {message_id} not found")
    if message.read_at is None:
        message.read_at = now
    return message


def inbox_counts(session: Session, community_id: str | None = None) -> dict:
    query = select(func.count(), func.count(InboxMessage.read_at))
    if community_id:
        query = query.where(InboxMessage.community_id == community_id)
    total, read = session.execute(query).one()
    return {"delivered": total, "read": read}
