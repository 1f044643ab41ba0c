"""CSRF tokens, the Content-Security-Policy with a nonce per response, and the session cookie's flags."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import abort, current_app, g, request

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Before sign-in there is no session to hold a token: a random cookie, and the form carries its HMAC.
PRE_COOKIE = "gj_pre"
SAFE_METHODS = frozenset(["GET", "HEAD", "OPTIONS"])


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sign(value: str) -> str:
    key = current_app.extensions["workbench.secret"]
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def pre_session_token() -> str:
    """The sign-in form's CSRF token (bound to the gj_pre cookie, set by the response if it is missing)."""
    value = request.cookies.get(PRE_COOKIE)
    if not value or len(value) > 64:
        value = g.setdefault("new_pre_cookie", secrets.token_urlsafe(24))
    return _sign(value)


def csrf_token() -> str:
    """The token every form of this page carries (the session's, or the sign-in form's)."""
    web_session = g.get("web_session")
    return web_session.csrf_token if web_session is not None else pre_session_token()


def submitted_token() -> str:
    return request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""


def check_csrf() -> None:
    """Refuse (403) a state-changing request whose token does not match."""
    if request.method in SAFE_METHODS:
        return
    given = submitted_token()
    web_session = g.get("web_session")
    if web_session is not None:
        expected = web_session.csrf_token
    else:
        cookie = request.cookies.get(PRE_COOKIE) or ""
        expected = _sign(cookie) if cookie else ""
    if not given or not expected or not hmac.compare_digest(given, expected):
        abort(403, description="csrf")


def is_secure() -> bool:
    # Behind the gateway (distributed) the hop is plain HTTP: the gateway passes on the browser's scheme.
    return request.scheme == "https" or request.headers.get("X-Forwarded-Proto", "") == "https"


def nonce() -> str:
    return g.setdefault("csp_nonce", secrets.token_urlsafe(16))


def content_security_policy() -> str:
    n = nonce()
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{n}'; "
        f"style-src 'self' 'nonce-{n}'; "
        "img-src 'self' data: blob:; "
        "connect-src 'self'; "
        "font-src 'self'; "
        "object-src 'none'; "
        "base-uri 'none'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )
