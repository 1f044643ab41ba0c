"""create_app(): the workbench's Flask app (Jinja2 pages, htmx fragments); nothing is built at import time."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from pathlib import Path

from flask import Flask, Response, g, jsonify, redirect, render_template, request, url_for
from flask_babel import Babel
from werkzeug.exceptions import HTTPException

from guanjia import config, http, web
from guanjia import metrics as gmetrics
from guanjia.db import Database, utcnow
from guanjia.logging import request_id_var

from . import client, i18n, nav, security, sessions, views
from . import config as workbench_config
from .views import inbox, mobile

log = logging.getLogger("workbench")
HERE = Path(__file__).resolve().parent
# Reachable without a session (everything else sends the browser to the sign-in page).
PUBLIC_ENDPOINTS = frozenset(
    ["auth.signin", "auth.signin_post", "auth.password", "auth.password_post", "auth.language", "static", "favicon"]
    + ["healthz", "readyz", "metrics"]
)
HTML_CACHE = "no-store"
STATIC_MAX_AGE = 3600


def create_app(settings=None, upstreams=None, *, clock=None, workbench=None):
    """The workbench app. `upstreams["gateway"]` is the gateway (in-process when embedded); HTTP if None.

    `clock` is the app's one source of the current UTC time (as in guanjia.web.create_flask_app): request code
    reads it as `web.now()`; tests pass a controllable one. `workbench` (WorkbenchSettings) defaults to the
    settings' environment."""
    settings = settings or config.from_env("workbench")
    workbench = workbench or workbench_config.from_env(settings.env)
    if upstreams is None:
        upstreams = {"gateway": http.HttpUpstream("gateway", settings.service_urls["gateway"])}
    if not workbench.secret:
        raise RuntimeError("GUANJIA_WORKBENCH_SECRET must be set outside embedded mode")
    app = Flask("workbench", template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    app.config.update(
        BABEL_DEFAULT_LOCALE=i18n.DEFAULT_LOCALE,
        BABEL_TRANSLATION_DIRECTORIES=i18n.compile_catalogues(),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SEND_FILE_MAX_AGE_DEFAULT=STATIC_MAX_AGE,
        TEMPLATES_AUTO_RELOAD=False,
    )
    Babel(app, locale_selector=i18n.select_locale)
    database = Database(settings.database_url, pool_size=5)
    app.extensions.update(
        {
            "guanjia.settings": settings,
            "guanjia.clock": clock or utcnow,
            "workbench.db": database,
            "workbench.upstreams": upstreams,
            "workbench.secret": workbench.secret,
            "workbench.idle": timedelta(minutes=workbench.session_idle_minutes),
            # Where residents pay online (the provider's order API); unset: the mobile bills offer no online payment.
            "workbench.payment_provider": workbench.payment_provider_url,
            # The official account residents bind their WeChat to (unset: the residents' pages offer no binding).
            "workbench.wechat": {"app_id": workbench.wechat_app_id, "authorize_url": workbench.wechat_authorize_url},
        }
    )
    _install_context(app, settings, database)
    _install_errors(app)
    _install_ops(app, settings, database)
    _install_templates(app, settings)
    for blueprint in views.BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app


def _install_context(app: Flask, settings, database) -> None:
    metrics = {"requests": gmetrics.HTTP_REQUESTS, "latency": gmetrics.HTTP_LATENCY}

    @app.before_request
    def _begin():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 0 < len(incoming) <= 128 else str(uuid.uuid4())
        g.request_id_token = request_id_var.set(g.request_id)
        g.started = time.perf_counter()
        if request.endpoint in ("static", "favicon", "healthz", "readyz", "metrics"):
            return None
        if request.blueprint == mobile.bp.name:
            # The residents' pages: their own cookie, sign-in and CSRF check (a staff session is never read there).
            return mobile.begin(database, app.extensions["workbench.idle"])
        g.web_session = sessions.load(
            database, request.cookies.get(sessions.COOKIE), web.now(), app.extensions["workbench.idle"]
        )
        if g.web_session is not None and g.web_session.role == mobile.ROLE:
            g.web_session = None  # a resident's session never opens a staff page
        g.locale = i18n.select_locale()
        security.check_csrf()
        if g.web_session is None and request.endpoint not in PUBLIC_ENDPOINTS:
            return to_sign_in()
        return None

    @app.after_request
    def _finish(response: Response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if request.endpoint != "static":
            response.headers["Content-Security-Policy"] = security.content_security_policy()
            response.headers.setdefault("Cache-Control", HTML_CACHE)
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Referrer-Policy"] = "same-origin"
            response.headers["Vary"] = "Cookie, HX-Request"
        new_pre = g.get("new_pre_cookie")
        if new_pre:
            response.set_cookie(
                security.PRE_COOKIE, new_pre, httponly=True, samesite="Lax", secure=security.is_secure(), path="/"
            )
        web.record_request(settings.service, response, metrics)
        return response

    @app.teardown_request
    def _reset(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)


def to_sign_in():
    """Send the browser to the sign-in page (htmx requests are told to load it as a whole page)."""
    if request.blueprint == mobile.bp.name:
        return mobile.to_sign_in()
    wanted = request.full_path.rstrip("?") if request.method == "GET" and request.path != "/" else None
    target = url_for("auth.signin", next=wanted)
    if request.headers.get("HX-Request"):
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


def _install_errors(app: Flask) -> None:
    @app.errorhandler(client.Unavailable)
    def _unavailable(error: client.Unavailable):
        return render_template("error.html", status=503, message=error.message), 503

    @app.errorhandler(client.SignedOut)
    def _signed_out(_error):
        return to_sign_in()

    @app.errorhandler(client.ApiError)
    def _api_error(error: client.ApiError):
        status = error.status if 400 <= error.status < 500 else 502
        return render_template("error.html", status=status, message=error.message), status

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code == 403 and error.description == "csrf":
            return render_template("error.html", status=403, message_key="csrf"), 403
        return render_template("error.html", status=error.code, message=error.name), error.code

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        log.exception("unhandled error")
        return render_template("error.html", status=500, message_key="unexpected"), 500


def _install_ops(app: Flask, settings, database) -> None:
    @app.get("/favicon.ico")
    def favicon():
        return app.send_static_file("favicon.svg"), 200, {"Content-Type": "image/svg+xml"}

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "service": settings.service}

    @app.get("/readyz")
    def readyz():
        try:
            database.ping()
            checks = {"database": "ok"}
        except Exception as exc:
            checks = {"database": f"failed: {exc.__class__.__name__}"}
        ok = all(value == "ok" for value in checks.values())
        return jsonify({"status": "ok" if ok else "unavailable", "checks": checks}), 200 if ok else 503

    @app.get("/metrics")
    def metrics():
        body, content_type = gmetrics.exposition(None)
        return Response(body, content_type=content_type)


def _install_templates(app: Flask, settings) -> None:
    timezone = settings.timezone
    app.jinja_env.globals.update(
        csrf_token=security.csrf_token,
        csp_nonce=security.nonce,
        label=i18n.label,
        locales=i18n.LOCALES,
        current_locale=lambda: g.get("locale", i18n.DEFAULT_LOCALE),
        web_session=lambda: g.get("web_session"),
        nav_links=nav.nav_links,
        inbox_unread=inbox.unread_count,
    )
    app.jinja_env.filters.update(
        local_time=lambda value, fmt="%Y-%m-%d %H:%M": i18n.local_time(value, timezone, fmt),
        local_date=lambda value: i18n.local_time(value, timezone, "%Y-%m-%d"),
        money=i18n.money,
        label=i18n.label,
    )
