"""The gateway's public API with the signed-in person's token: the workbench's only source of data."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor

from flask import current_app, g

from guanjia import web

from . import sessions
from .gateway import ApiError, Unavailable, call, decode

__all__ = [
    "ApiError",
    "SignedOut",
    "Unavailable",
    "call",
    "decode",
    "get",
    "get_or_none",
    "gather",
    "patch",
    "post",
    "raw",
]


class SignedOut(Exception):
    """The session's tokens no longer work (expired refresh token, disabled account): sign in again."""


def _token() -> str:
    """The session's access token, refreshed first when it is (nearly) expired."""
    web_session = g.get("web_session")
    if web_session is None:
        raise SignedOut()
    token = sessions.access_token(current_app.extensions["workbench.db"], web_session, web.now())
    if token is None:
        g.web_session = None
        raise SignedOut()
    return token


def _send(method: str, path: str, **kwargs):
    web_session = g.get("web_session")
    database = current_app.extensions["workbench.db"]
    token = _token()
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


def gather(calls: dict[str, tuple[str, dict | None]]) -> dict:
    """Several get_or_none calls at once, one thread each: {name: (path, params)} → {name: answer or None}.

    A page of independent panels then costs about its slowest call, not their sum. The token is refreshed here,
    on the request's thread, before the calls fan out (so they do not all find it expired); each thread runs in
    an app context with a copy of this request's `g` (session, request id, locale) and of its context variables
    (the logs' request id, the trace). An error of any call is
    raised here as get_or_none would raise it.
    """
    _token()
    if len(calls) < 2:
        return {name: get_or_none(path, params) for name, (path, params) in calls.items()}
    app = current_app._get_current_object()
    state = dict(g.__dict__)

    def one(path, params):
        with app.app_context():
            g.__dict__.update(state)
            return get_or_none(path, params)

    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="workbench-gather") as pool:
        futures = {
            name: pool.submit(contextvars.copy_context().run, one, path, params)
            for name, (path, params) in calls.items()
        }
        try:
            return {name: future.result() for name, future in futures.items()}
        except SignedOut:
            g.web_session = None
            raise
