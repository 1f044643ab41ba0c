"""Sign-in, the first sign-in's password change, sign-out and the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from guanjia import web

from .. import client, i18n, security, sessions

bp = Blueprint("auth", __name__)


def _safe_next(value: str | None) -> str:
    """Only a path of this site (never //host or a scheme): no open redirect after sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value.rstrip("?") or "/"
    return url_for("home.index")


def _database():
    return current_app.extensions["workbench.db"]


def _signed_in(tokens: dict, next_path: str):
    """Store the session for fresh tokens and send the person on, with the session cookie."""
    me = client.decode(client.call("GET", "/api/v1/users/me", token=tokens["access_token"]))
    if me.get("role") == "resident":
        # Residents have their own pages and sign-in (/m/): no staff session is made for them.
        client.call("POST", "/api/v1/auth/logout", token=None, json={"refresh_token": tokens["refresh_token"]})
        return redirect(url_for("mobile.signin"), code=303)
    raw = sessions.create(_database(), tokens, me, web.now(), locale=g.get("locale"))
    response = redirect(_safe_next(next_path), code=303)
    response.set_cookie(sessions.COOKIE, raw, httponly=True, samesite="Lax", secure=security.is_secure(), path="/")
    # The sign-in form's cookie has done its job.
    response.delete_cookie(security.PRE_COOKIE, path="/")
    return response


@bp.get("/signin")
def signin():
    if g.get("web_session") is not None:
        return redirect(url_for("home.index"))
    return render_template("signin.html", next=request.args.get("next", ""), errors={}, values={})


@bp.post("/signin")
def signin_post():
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    next_path = request.form.get("next", "")
    response = client.call("POST", "/api/v1/auth/token", token=None, json={"username": username, "password": password})
    if response.status == 200:
        return _signed_in(response.json(), next_path)
    problem = problem_of(response)
    if response.status == 403 and problem.get("password_change_required"):
        return render_template("password.html", username=username, next=next_path, errors={}, form_error=None)
    errors = client.ApiError(response.status, problem).field_errors
    if response.status == 401:
        form_error = _("Wrong username or password.")
    elif response.status == 429:
        form_error = _("Too many attempts; try again in a minute.")
    elif response.status >= 500:
        form_error = _("The service is unavailable; try again shortly.")
    else:
        form_error = None if errors else problem.get("detail")
    page = render_template(
        "signin.html", next=next_path, errors=errors, form_error=form_error, values={"username": username}
    )
    return page, 200 if response.status < 500 else 503


@bp.get("/password")
def password():
    return render_template(
        "password.html", username=request.args.get("username", ""), next="", errors={}, form_error=None
    )


@bp.post("/password")
def password_post():
    username = request.form.get("username", "").strip()
    current = request.form.get("password", "")
    new = request.form.get("new_password", "")
    next_path = request.form.get("next", "")
    errors, form_error = {}, None
    if new != request.form.get("new_password_confirm", ""):
        errors["new_password_confirm"] = _("The two new passwords differ.")
    else:
        response = client.call(
            "POST",
            "/api/v1/auth/password",
            token=None,
            json={"username": username, "password": current, "new_password": new},
        )
        if response.status == 200:
            return _signed_in(response.json(), next_path)
        problem = problem_of(response)
        errors = client.ApiError(response.status, problem).field_errors
        if response.status == 401:
            errors["password"] = _("Wrong username or password.")
        elif not errors:
            form_error = problem.get("detail") or problem.get("title")
    page = render_template("password.html", username=username, next=next_path, errors=errors, form_error=form_error)
    return page, 422


@bp.post("/signout")
def signout():
    return end_session(sessions.COOKIE, "/", url_for("auth.signin"))


def end_session(cookie: str, path: str, target: str):
    """Sign-out (staff or resident): the session ends at the server and its cookie is dropped."""
    web_session = g.get("web_session")
    if web_session is not None:
        sessions.end(_database(), web_session)
    response = redirect(target, code=303)
    response.delete_cookie(cookie, path=path)
    return response


@bp.post("/language")
def language():
    locale = request.form.get("locale")
    if locale not in i18n.LOCALES:
        locale = i18n.DEFAULT_LOCALE
    web_session = g.get("web_session")
    if web_session is not None:
        sessions.set_locale(_database(), web_session, locale)
    response = redirect(_safe_next(request.form.get("next")), code=303)
    response.set_cookie(
        i18n.LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax", secure=security.is_secure(), path="/"
    )
    return response


def problem_of(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
