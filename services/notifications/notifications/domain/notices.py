"""Community notices (社区公告): who a notice reaches, its preview, fan-out into deliveries, who sees which."""

from __future__ import annotations

import json
import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal, scoped
from guanjia.db import new_id
from guanjia.errors import Forbidden, Invalid, NotFound, UpstreamUnavailable

from ..directory import Directory, DirectoryUnavailable
from ..models import Delivery, Notice
from ..templates import DEFAULT_LOCALE, render, segments
from .deliveries import Plan, Recipient, plan_deliveries
from .wording import template_overrides

NOTICE_ROLES = ("admin", "cs_manager", "senior_butler", "butler")
URL_RE = re.compile(r"(https?://|www\.)|\b[a-z0-9-]+\.(com|cn|net|org|top|xyz|cc)\b", re.IGNORECASE)


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


def create_notice(
    session: Session, directory: Directory, principal: Principal, now: datetime, body: dict, wechat=None
) -> Notice:
    contacts, community_id, scope, target_id = _notice_audience(directory, principal, body)
    notice = Notice(
        id=new_id(),
        community_id=community_id,
        scope=scope,
        target_id=target_id,
        title=body["title"],
        body=body["body"],
        urgent=body["urgent"],
        **_long_columns(body.get("long")),
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
        inbox=inbox_form(notice),
    )
    planned = plan_deliveries(
        session, key=notice.id, event_type="notice", subject=f"notice/{notice.id}", plan=plan, now=now, wechat=wechat
    )
    notice.recipients = len(planned)
    return notice


def _long_columns(long: dict | None) -> dict:
    if not long:
        return {}
    links = [{"title": link["title"], "url": link["url"]} for link in long.get("links") or ()]
    images = [{"url": image["url"], "alt": image.get("alt") or ""} for image in long.get("images") or ()]
    return {
        "long_title": long["title"],
        "long_body": long["body"],
        "links": json.dumps(links, ensure_ascii=False),
        "images": json.dumps(images, ensure_ascii=False),
    }


def long_of(notice: Notice) -> dict | None:
    """The notice's long form (title, body, links), or None when it has only the SMS form."""
    if notice.long_body is None:
        return None
    return {
        "title": notice.long_title,
        "body": notice.long_body,
        "links": json.loads(notice.links or "[]"),
        "images": json.loads(notice.images or "[]"),
    }


def inbox_form(notice: Notice) -> dict:
    """What the inbox (and WeChat) show: the long form, else the SMS form's title and body."""
    return long_of(notice) or {"title": notice.title, "body": notice.body, "links": [], "images": []}


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
