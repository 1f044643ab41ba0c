"""App-factory helpers: flask-smorest Api with problem+json errors, request ids, auth, health, metrics."""

from __future__ import annotations

import logging
import time
import uuid

import marshmallow as ma
from flask import Flask, Response, current_app, g, jsonify, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from . import auth, problems, tracing
from . import metrics as gmetrics
from .config import Settings
from .errors import ProblemError
from .logging import request_id_var

log = logging.getLogger("guanjia.web")
access_log = logging.getLogger("guanjia.access")
PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/v1"
_ALWAYS_PUBLIC = {"/healthz", "/readyz", "/metrics", f"{API_PREFIX}/openapi.json", f"{API_PREFIX}/docs"}
# Swagger UI's files, served by every service itself: city intranets have no internet, so no CDN.
DOCS_ASSETS_PREFIX = f"{API_PREFIX}/docs/assets/"


def _http_metrics():
    # Created once per process (guanjia.metrics): several apps share one process in embedded mode.
    return {"requests": gmetrics.HTTP_REQUESTS, "latency": gmetrics.HTTP_LATENCY}


def problem(status: int, title: str, detail: str | None = None, errors: dict | None = None, **extra) -> Response:
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body["instance"] = request.path if request else None
    body["request_id"] = g.get("request_id")
    body.update(extra)
    # A stable `type` per kind of error, and zh-CN texts for a caller who asks for them (docs/errors.md).
    problems.localize(body, bool(request) and problems.wants_chinese(request.headers.get("Accept-Language")))
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def _flatten(messages, prefix: str = "") -> dict:
    """webargs' {"json": {"unit_id": [...]}} → {"unit_id": [...]}; nested fields become dotted paths."""
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(_flatten(value, name))
            else:
                flat[name] = value if isinstance(value, list) else [value]
    elif isinstance(messages, list):
        flat[prefix or "body"] = messages
    return flat


class ProblemApi(Api):
    """flask-smorest Api whose errors are RFC 9457 problem+json with an `errors` map naming the fields."""

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = None
        if "messages" in data:
            messages = data["messages"]
            # Drop the location level ("json", "query") unless several locations failed at once.
            if isinstance(messages, dict) and len(messages) == 1:
                messages = next(iter(messages.values()))
            errors = _flatten(messages)
        if error.code == 413:
            errors = {"body": [f"larger than {current_app.config.get('MAX_CONTENT_LENGTH')} bytes"]}
        detail = data.get("message") or error.description
        if errors:
            detail = "invalid " + ", ".join(sorted(errors))
        response = problem(error.code or 500, error.name, detail, errors)
        for key, value in (data.get("headers") or {}).items():
            response.headers[key] = value
        return response


def settings() -> Settings:
    return current_app.extensions["guanjia.settings"]


def database():
    return current_app.extensions["guanjia.db"]


def principal() -> auth.Principal:
    return g.principal


def create_flask_app(
    settings_: Settings, *, title: str, database_=None, public_paths=(), ready_checks=None, description: str = ""
) -> tuple[Flask, ProblemApi]:
    """The common base of every service app; the caller registers its blueprints on the returned Api."""
    app = Flask(settings_.service)
    app.config.update(
        API_TITLE=title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS_PREFIX,
        # No validator badge: Swagger UI would otherwise fetch it from validator.swagger.io.
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
        MAX_CONTENT_LENGTH=settings_.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False
    app.extensions["guanjia.settings"] = settings_
    if database_ is not None:
        app.extensions["guanjia.db"] = database_
    api = ProblemApi(
        app,
        spec_kwargs={
            "info": {"description": description},
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
            "security": [{"bearerAuth": []}],
        },
    )
    public = _ALWAYS_PUBLIC | set(public_paths)
    _install_request_context(app, settings_, public)
    _install_errors(app, api)
    _install_ops(app, settings_, database_, ready_checks or [])
    _install_docs_assets(app)
    return app, api


def _install_docs_assets(app: Flask) -> None:
    """Serve the pinned Swagger UI distribution (package flask-swagger-ui, MIT; Swagger UI itself Apache-2.0)."""
    from importlib.resources import files

    from flask import send_from_directory

    dist = str(files("flask_swagger_ui") / "dist")

    @app.get(DOCS_ASSETS_PREFIX + "<path:filename>")
    def docs_asset(filename):
        return send_from_directory(dist, filename, max_age=86400)


def _install_request_context(app: Flask, settings_: Settings, public: set[str]) -> None:
    metrics = _http_metrics()

    @app.before_request
    def _begin():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 0 < len(incoming) <= 128 else str(uuid.uuid4())
        g.request_id_token = request_id_var.set(g.request_id)
        g.started = time.perf_counter()
        # The caller's W3C trace context (or a new trace): events written by this request carry it on.
        g.trace = tracing.begin(
            request.headers.get("traceparent"),
            f"{request.method} {request.url_rule.rule if request.url_rule else 'unmatched'}",
            "server",
            {"service": settings_.service},
        )
        if request.path in public or not request.path.startswith(API_PREFIX):
            return None
        if request.path.startswith(DOCS_ASSETS_PREFIX):
            return None
        # Every service checks the token itself, even behind the gateway.
        g.principal = auth.principal_from_header(settings_, request.headers.get("Authorization"))
        return None

    @app.after_request
    def _finish(response: Response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if "principal" in g and "Cache-Control" not in response.headers:
            # Everything answered to a signed-in caller is theirs (personal data, a household's bills): no shared
            # or browser cache keeps it.
            response.headers["Cache-Control"] = "no-store"
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics["requests"].labels(settings_.service, request.method, route, response.status_code).inc()
        if "started" in g:
            elapsed = time.perf_counter() - g.started
            metrics["latency"].labels(settings_.service, request.method, route).observe(elapsed)
            # The route template, never the raw path or query string (a search may carry a phone number).
            access_log.info(
                "request",
                extra={
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
        return response

    @app.teardown_request
    def _reset(_exc):
        trace = g.pop("trace", None)
        if trace is not None:
            trace.__exit__(None, None, None)
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)


def _install_errors(app: Flask, api: ProblemApi) -> None:
    @app.errorhandler(ProblemError)
    def _problem(error: ProblemError):
        response = problem(error.status, error.title, error.detail, error.errors or None, **error.extra)
        if error.status == 503:
            response.headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
        if error.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="guanjia"'
        return response

    @app.errorhandler(ma.ValidationError)
    def _validation(error: ma.ValidationError):
        errors = _flatten(error.messages)
        return problem(422, "Invalid input", "invalid " + ", ".join(sorted(errors)), errors)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return api.handle_http_exception(error)
        if _dependency_down(error):
            return dependency_unavailable(error)
        log.exception("unhandled error")
        return problem(500, "Internal Server Error", "an unexpected error; see the logs with this request_id")


def _install_ops(app: Flask, settings_: Settings, database_, ready_checks) -> None:
    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "service": settings_.service}

    @app.get("/readyz")
    def readyz():
        checks = {}
        if database_ is not None:
            checks["database"] = _check(database_.ping)
        checks["broker"] = _check(lambda: broker_ping(settings_))
        for name, fn in ready_checks:
            checks[name] = _check(fn)
        ok = all(v == "ok" for v in checks.values())
        body = {"status": "ok" if ok else "unavailable", "checks": checks}
        if not ok:  # which dependency is missing, by name, for the operator and the probe's log
            body["missing"] = sorted(name for name, value in checks.items() if value != "ok")
        return jsonify(body), 200 if ok else 503

    state = gmetrics.ServiceStateCollector(settings_, database_)

    @app.get("/metrics")
    def metrics():
        check_metrics_token(settings_, request.headers.get("Authorization"))
        body, content_type = gmetrics.exposition(state)
        return Response(body, content_type=content_type)


def check_metrics_token(settings_: Settings, authorization: str | None) -> None:
    """/metrics asks for `Bearer $GUANJIA_METRICS_TOKEN` when one is set. The gateway (the public port) never serves
    it without one: 404 there, as if it did not exist. The services, inside the instance, serve it open when no
    token is set."""
    import hmac

    from .errors import NotFound, Unauthorized

    token = settings_.metrics_token
    if not token:
        if settings_.service == "gateway":
            raise NotFound("no such route")
        return
    given = (authorization or "")[len("Bearer ") :] if (authorization or "").startswith("Bearer ") else ""
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("/metrics needs the metrics token")


RETRY_AFTER_SECONDS = 5


def _dependency_down(error: Exception) -> bool:
    from .bus import is_outage

    return is_outage(error)


def dependency_unavailable(error: Exception) -> Response:
    """503 problem+json with Retry-After: the database or the broker cannot be reached (nothing was written)."""
    from sqlalchemy.exc import SQLAlchemyError

    dependency = "database" if isinstance(error, SQLAlchemyError) else "a dependency"
    log.warning("dependency unavailable", extra={"dependency": dependency, "error": error.__class__.__name__})
    response = problem(503, "Service unavailable", f"{dependency} cannot be reached now; try again shortly")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _check(fn) -> str:
    try:
        fn()
        return "ok"
    except Exception as exc:
        return f"failed: {exc.__class__.__name__}"


def broker_ping(settings_: Settings) -> None:
    from . import bus

    with bus.connect(settings_) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


class UtcDateTime(ma.fields.DateTime):
    """ISO 8601 with +00:00 always: SQLite (embedded mode) hands datetimes back naive, though they are UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        from .db import as_utc

        return None if value is None else super()._serialize(as_utc(value), attr, obj, **kwargs)


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    page_size = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


def page_schema(item_schema, name: str):
    """A paginated envelope schema: {items, page, page_size, total}."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "page": ma.fields.Integer(),
            "page_size": ma.fields.Integer(),
            "total": ma.fields.Integer(),
        },
    )


def paginate(session, query, page: int, page_size: int) -> dict:
    """Run a select() with LIMIT/OFFSET and a count of the whole filtered set."""
    from sqlalchemy import func, select

    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    items = session.execute(query.limit(page_size).offset((page - 1) * page_size)).scalars().all()
    return {"items": items, "page": page, "page_size": page_size, "total": total}


def jsonable(value):
    """A report (dicts and lists of dates, times and Decimals) as JSON values: times in UTC, amounts as strings."""
    from datetime import date, datetime
    from decimal import Decimal

    from .db import as_utc

    if isinstance(value, dict):
        return {key: jsonable(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(inner) for inner in value]
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def json_response(status: int, body) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def idempotent(table, payload, status: int, produce) -> Response:
    """Run `produce(session) -> body` (a dumped dict) once per caller and Idempotency-Key, in one transaction with
    the stored response: a retry gets the first response, the same key with another body is 422 (DESIGN.md §4)."""
    from sqlalchemy.exc import IntegrityError

    from . import idempotency
    from .errors import Invalid

    subject = principal().subject
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= 200:
        raise Invalid("Idempotency-Key", "must be 1 to 200 characters")
    payload_hash = idempotency.request_hash(payload)
    try:
        with database().transaction() as session:
            if key:
                prior = idempotency.lookup(session, table, subject, key, payload_hash)
                if prior:
                    return json_response(*prior)
            body = produce(session)
            if key:
                idempotency.remember(session, table, subject, key, payload_hash, status, body)
    except IntegrityError:
        if not key:
            raise
        # The same key raced in from a concurrent retry: answer with what the winner stored.
        with database().transaction() as session:
            prior = idempotency.lookup(session, table, subject, key, payload_hash)
        if prior is None:
            raise
        return json_response(*prior)
    return json_response(status, body)
