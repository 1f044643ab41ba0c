"""Server-side sessions: the tokens live in the workbench's database; the browser holds only a random id."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from guanjia.db import as_utc

from . import gateway as client
from .models import WebSession
from .security import sha256

COOKIE = "gj_session"
# Refresh a little before the access token expires, so a call in flight never carries a dead token.
REFRESH_MARGIN = timedelta(seconds=30)
# last_seen_at is written at most this often (a page of htmx requests is one write, not ten).
TOUCH_EVERY = timedelta(seconds=30)


def create(database, tokens: dict, me: dict, now, locale: str | None = None) -> str:
    """Store a new session for a successful sign-in; returns the cookie value."""
    raw = secrets.token_urlsafe(32)
    with database.transaction() as session:
        session.add(
            WebSession(
                id=sha256(raw),
                user_id=me["id"],
                username=me["username"],
                role=me["role"],
                access_token=tokens["access_token"],
                refresh_token=tokens["refresh_token"],
                access_expires_at=now + timedelta(seconds=int(tokens.get("expires_in") or 600)),
                csrf_token=secrets.token_urlsafe(32),
                locale=locale,
                created_at=now,
                last_seen_at=now,
            )
        )
    return raw


def load(database, raw: str | None, now, idle: timedelta) -> WebSession | None:
    """The live session of this cookie value; an idle one is ended (its refresh token revoked) and None returned."""
    if not raw or len(raw) > 100:
        return None
    with database.transaction() as session:
        row = session.get(WebSession, sha256(raw))
        if row is None:
            return None
        if as_utc(row.last_seen_at) + idle < now:
            refresh_token = row.refresh_token
            session.delete(row)
        else:
            if now - as_utc(row.last_seen_at) > TOUCH_EVERY:
                row.last_seen_at = now
            session.expunge(row)
            return row
    _revoke(refresh_token)
    return None


def access_token(database, web_session: WebSession, now, *, force: bool = False) -> str | None:
    """A valid access token for this session, refreshed at the gateway when it is (nearly) expired.

    Two requests of one session may both find the token expired: the row is locked, and the second finds
    the first one's new token instead of presenting the used refresh token again (which would revoke them all).
    """
    if not force and as_utc(web_session.access_expires_at) - REFRESH_MARGIN > now:
        return web_session.access_token
    stale = web_session.access_token
    with database.transaction() as session:
        row = session.execute(
            select(WebSession).where(WebSession.id == web_session.id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            return None
        if row.access_token != stale and as_utc(row.access_expires_at) - REFRESH_MARGIN > now:
            token = row.access_token
        else:
            response = client.call(
                "POST", "/api/v1/auth/refresh", token=None, json={"refresh_token": row.refresh_token}
            )
            if response.status != 200:
                session.delete(row)
                token = None
            else:
                body = response.json()
                row.access_token = token = body["access_token"]
                row.refresh_token = body["refresh_token"]
                row.access_expires_at = now + timedelta(seconds=int(body.get("expires_in") or 600))
        if token is not None:
            web_session.access_token = token
            web_session.access_expires_at = row.access_expires_at
    return token


def set_locale(database, web_session: WebSession, locale: str) -> None:
    with database.transaction() as session:
        row = session.get(WebSession, web_session.id)
        if row is not None:
            row.locale = locale


def end(database, web_session: WebSession) -> None:
    """Sign-out: the refresh token is revoked at the gateway and the row removed."""
    with database.transaction() as session:
        row = session.get(WebSession, web_session.id)
        refresh_token = row.refresh_token if row is not None else None
        if row is not None:
            session.delete(row)
    if refresh_token:
        _revoke(refresh_token)


def purge_idle(database, now, idle: timedelta) -> int:
    with database.transaction() as session:
        return session.execute(delete(WebSession).where(WebSession.last_seen_at < now - idle)).rowcount


def _revoke(refresh_token: str) -> None:
    try:
        client.call("POST", "/api/v1/auth/logout", token=None, json={"refresh_token": refresh_token})
    except client.Unavailable:
        pass  # the refresh token still expires on its own; the session is gone either way
