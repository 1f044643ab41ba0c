"""The gateway's public API with the signed-in person's token: the workbench's only source of data."""

from __future__ import annotations

from flask import current_app, g

from guanjia import web

from . import sessions
from .gateway import ApiError, Unavailable, call, decode

__all__ = ["ApiError", "SignedOut", "Unavailable", "call", "decode", "get", "get_or_none", "patch", "post", "raw"]


class SignedOut(Exception):
    """The session's tokens no longer work (expired refresh token, disabled account): sign in again."""


def _send(method: str, path: str, **kwargs):
    web_session = g.get("web_session")
    if web_session is None:
        raise SignedOut()
    database = current_app.extensions["workbench.db"]
    token = sessions.access_token(database, web_session, web.now())
    if token is None:
        g.web_session = None
        raise SignedOut()
    response = call(method, path, token=token, **kwargs)
    if response.status == 401:
        # Expired between our check and the gateway's, or signed out elsewhere: one refresh, one retry.
        token = sessions.access_token(database, web_session, web.now(), force=True)
        if token is None:
            g.web_session = None
            raise SignedOut()
        response = call(method, path, token=token, **kwargs)
        if response.status == 401:
            raise SignedOut()
    return response


def raw(method: str, path: str, **kwargs):
    """The signed-in person's call, undecoded (files, exports)."""
    return _send(method, path, **kwargs)


def get(path: str, params=None):
    return decode(_send("GET", path, params=params))


def post(path: str, json=None, **kwargs):
    return decode(_send("POST", path, json=json if json is not None else ({} if not kwargs else None), **kwargs))


def patch(path: str, json=None):
    return decode(_send("PATCH", path, json=json or {}))


def get_or_none(path: str, params=None):
    """GET that answers None for a 403/404 (a panel the person may not see is left out, not an error page)."""
    try:
        return get(path, params)
    except ApiError as exc:
        if isinstance(exc, Unavailable) or exc.status not in (403, 404):
            raise
        return None
