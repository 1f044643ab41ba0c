"""App-factory helpers: flask-smorest Api with problem+json errors, request ids, auth, health, metrics."""

from __future__ import annotations

import json as json_module
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import marshmallow as ma
from flask import Flask, Response, current_app, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler

from . import auth, problems, tracing
from . import metrics as gmetrics
from .config import Settings
from .db import utcnow
from .errors import ProblemError, TooManyRequests
from .fields import schema_instance
from .logging import request_id_var

log = logging.getLogger("guanjia.web")
access_log = logging.getLogger("guanjia.access")
PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/v1"
_ALWAYS_PUBLIC = {"/healthz", "/readyz", "/metrics", f"{API_PREFIX}/openapi.json", f"{API_PREFIX}/docs"}
# Swagger UI's files, served by every service itself: city intranets have no internet, so no CDN.
DOCS_ASSETS_PREFIX = f"{API_PREFIX}/docs/assets/"


def record_request(service: str, response: Response, metrics: dict) -> None:
    """Count and time a finished request and write its access-log line (every app's one request log)."""
    route = request.url_rule.rule if request.url_rule else "unmatched"
    metrics["requests"].labels(service, request.method, route, response.status_code).inc()
    if "started" in g:
        elapsed = time.perf_counter() - g.started
        metrics["latency"].labels(service, request.method, route).observe(elapsed)
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

    def openapi_document(self) -> dict:
        """The served document (contract_document: problem+json errors, operationIds, numeric bounds)."""
        return contract_document(self.spec.to_dict(), self._app)

    def _openapi_json(self):
        # Built once per process: the routes are all registered by create_app, and building costs ~0.1–1 s of CPU
        # (the gateway asks every service for it once a minute). An ETag lets it ask "changed?" for nothing.
        served = getattr(self, "_served_openapi", None)
        if served is None:
            import hashlib

            body = json_module.dumps(self.openapi_document()).encode()
            served = self._served_openapi = (body, hashlib.sha256(body).hexdigest()[:32])
        body, etag = served
        response = current_app.response_class(body, mimetype="application/json")
        response.set_etag(etag)
        return response.make_conditional(request)

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


def now() -> datetime:
    """The current UTC time by the app's one clock (`create_flask_app(clock=)`; tests pass a controllable one)."""
    return current_app.extensions["guanjia.clock"]()


def create_flask_app(
    settings_: Settings,
    *,
    title: str,
    database_=None,
    public_paths=(),
    ready_checks=None,
    description: str = "",
    clock: Callable[[], datetime] | None = None,
) -> tuple[Flask, ProblemApi]:
    """The common base of every service app; the caller registers its blueprints on the returned Api.

    `clock` is the app's one source of the current UTC time, read by request code as `web.now()`.
    """
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
    app.json = StrictJSONProvider(app)
    app.json.ensure_ascii = False
    app.extensions["guanjia.settings"] = settings_
    app.extensions["guanjia.clock"] = clock or utcnow
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
    install_query_check(app)
    _install_errors(app, api)
    _install_ops(app, settings_, database_, ready_checks or [])
    _install_docs_assets(app)
    _install_event_schemas(api, settings_)
    return app, api


def _install_event_schemas(api: ProblemApi, settings_: Settings) -> None:
    """GET the JSON Schema of each event this service publishes, at its events' `dataschema` URI (public, like the
    AsyncAPI document: a schema holds no data; the gateway routes it without a token)."""
    from . import events
    from .errors import NotFound

    published = events.published(settings_.service)
    if not published:
        return
    blp = SmorestBlueprint(
        "event-schemas",
        __name__,
        description="The payload schemas of the events this service publishes (their `dataschema`)",
    )

    @blp.route(events.schema_rule(settings_.service))
    @blp.doc(
        security=[],
        summary="The JSON Schema of an event's payload",
        operationId=f"{settings_.service}_event_schema",  # one per service in the gateway's merged document
    )
    @blp.response(200, content_type="application/schema+json")
    def event_schema(event_type: str, file: str):
        # Every published type has one version today; a breaking change adds a v2 beside it (docs/integrators.md).
        if event_type not in published or file != "v1.json":
            raise NotFound("no such event schema")
        url = events.schema_url(settings_, event_type, 1)
        response = jsonify(events.json_schema(published[event_type], url))
        response.mimetype = "application/schema+json"
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    api.register_blueprint(blp)


def _install_docs_assets(app: Flask) -> None:
    """Serve the pinned Swagger UI distribution (package flask-swagger-ui, MIT; Swagger UI itself Apache-2.0)."""
    from importlib.resources import files

    from flask import send_from_directory

    dist = str(files("flask_swagger_ui") / "dist")

    @app.get(DOCS_ASSETS_PREFIX + "<path:filename>")
    def docs_asset(filename):
        return send_from_directory(dist, filename, max_age=86400)


def _install_request_context(app: Flask, settings_: Settings, public: set[str]) -> None:
    from .events import schemas_prefix

    metrics = _http_metrics()
    schemas = schemas_prefix(settings_.service) + "/"

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
        if request.path.startswith(schemas):
            return None  # the published event schemas (_install_event_schemas)
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
        record_request(settings_.service, response, metrics)
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
        if isinstance(error, TooManyRequests):
            response.headers["Retry-After"] = str(error.retry_after)
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

    _install_dead_letters(app, settings_)
    state = gmetrics.ServiceStateCollector(settings_, database_)

    @app.get("/metrics")
    def metrics():
        check_metrics_token(settings_, request.headers.get("Authorization"))
        body, content_type = gmetrics.exposition(state)
        return Response(body, content_type=content_type)


DEAD_LETTERS_SHOWN = 200  # listed per service: enough to see what went wrong, bounded for the admin's screen
DEAD_LETTER_ACTIONS = ("replay", "discard")


def _install_dead_letters(app: Flask, settings_: Settings) -> None:
    """`/api/v1/internal/dead-letters` on every service (the `service` role only: the gateway's admin API calls it):
    the service's own dead letters, listed, replayed or discarded with its own broker credential, the same actions
    as `guanjia dead-letters`. Only ids, types, times and the masked reason leave: never an event's body."""
    from . import ops
    from .logging import mask_text

    def _facts(letter) -> dict:
        return {**letter.as_dict(), "service": settings_.service, "error": mask_text(letter.error or "")[:500]}

    @app.get(API_PREFIX + "/internal/dead-letters")
    def internal_dead_letters():
        auth.require_role(g.principal, "service")
        found = ops.list_dead_letters(settings_, DEAD_LETTERS_SHOWN) if ops.has_dead_letters_queue(settings_) else []
        return {"service": settings_.service, "items": [_facts(letter) for letter in found]}

    @app.post(API_PREFIX + "/internal/dead-letters/<action>")
    def internal_dead_letters_act(action):
        auth.require_role(g.principal, "service")
        body = request.get_json(silent=True) or {}
        ids = [str(i) for i in body.get("ids") or [] if i]
        every = body.get("all") is True
        if action not in DEAD_LETTER_ACTIONS or not (ids or every):
            return problem(400, "Bad Request", "replay or discard, with ids or all", {"ids": ["name the events"]})
        if not ops.has_dead_letters_queue(settings_):
            return {"service": settings_.service, "done": [], "missing": ids}
        act = ops.replay_dead_letters if action == "replay" else ops.discard_dead_letters
        done = act(settings_, ids, all_=every)
        return {"service": settings_.service, "done": done, "missing": sorted(set(ids) - set(done))}


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

    from .db import is_conflict

    dependency = "database" if isinstance(error, SQLAlchemyError) else "a dependency"
    log.warning("dependency unavailable", extra={"dependency": dependency, "error": error.__class__.__name__})
    if is_conflict(error):  # reachable, but this request's change met a concurrent one: nothing was kept
        detail = "a concurrent change to the same records got in the way; try again shortly"
    else:
        detail = f"{dependency} cannot be reached now; try again shortly"
    response = problem(503, "Service unavailable", detail)
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


def idempotent(table, payload, status: int, produce, *, core: bool = False) -> Response:
    """Run `produce(session) -> body` (a dumped dict) once per caller and Idempotency-Key, in one transaction with
    the stored response: a retry gets the first response, the same key with another body is 422 (DESIGN.md §4).
    `core`: `produce` gets a plain connection in that one transaction instead (Database.core_transaction)."""
    from sqlalchemy.exc import IntegrityError

    from . import idempotency
    from .errors import Invalid

    subject = principal().subject
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= 200:
        raise Invalid("Idempotency-Key", "must be 1 to 200 characters")
    payload_hash = idempotency.request_hash(payload) if key else None  # only a keyed request is compared
    begin = database().core_transaction if core else database().transaction
    try:
        with begin() as session:
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


# --- hostile and out-of-range input: a 4xx naming the field, never a 500 (issue 12, issue 13) ----------------------
# What the domain can compute with: a date beyond these years overflows the next-day/next-month arithmetic or the
# conversion to UTC (0001-01-01T00:00+14:00 is in year 0), and no property-management fact lies outside them.
MIN_YEAR, MAX_YEAR = 1900, 2999
# Integers the databases and JSON clients hold exactly (page=10**20 overflowed SQLite's and PostgreSQL's bigint).
MAX_INTEGER = 2**53 - 1
# Decimals beyond ¥10^15 or NaN/Infinity are nobody's amount or rate.
MAX_DECIMAL_DIGITS = 15


def _json_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _json_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def strict_json_loads(data):
    """json.loads that refuses NaN/Infinity/overflowing numbers and nesting too deep for the parser (ValueError)."""
    import json

    try:
        return json.loads(data, parse_float=_json_float, parse_constant=_json_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def out_of_range(value, path: str = "") -> dict:
    """{dotted field: [message]} for every loaded value no domain rule can compute with (dates, ints, decimals)."""
    from datetime import date, datetime
    from decimal import Decimal

    found: dict = {}
    if isinstance(value, dict):
        for key, inner in value.items():
            found.update(out_of_range(inner, f"{path}.{key}" if path else str(key)))
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            found.update(out_of_range(inner, f"{path}.{index}" if path else str(index)))
    elif isinstance(value, datetime | date):
        try:
            year = value.astimezone(UTC).year if isinstance(value, datetime) and value.tzinfo else value.year
        except OverflowError:
            year = 0
        if not MIN_YEAR <= year <= MAX_YEAR:
            found[path or "value"] = [f"must lie between the years {MIN_YEAR} and {MAX_YEAR}"]
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            found[path or "value"] = [f"must be at most {MAX_INTEGER} in size"]
    elif isinstance(value, Decimal):
        if not value.is_finite() or (value and value.adjusted() >= MAX_DECIMAL_DIGITS):
            found[path or "value"] = [f"must be a finite number below 10^{MAX_DECIMAL_DIGITS}"]
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            found[path or "value"] = ["must be a finite number"]
    return found


class ProblemParser(FlaskParser):
    """The webargs parser of every blueprint: strict JSON, and loaded values checked against what the domain can
    compute with, so hostile input is a 400/422 naming the field rather than a RecursionError or OverflowError."""

    def _raw_load_json(self, req):
        from webargs import core
        from webargs.flaskparser import is_json_request

        if not is_json_request(req):
            return core.missing
        try:
            return strict_json_loads(req.get_data(cache=True))
        except ValueError as exc:
            return self._handle_invalid_json_error(exc, req)

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        from flask_smorest import abort

        abort(400, messages={"json": [f"invalid JSON body: {error}"[:200]]})

    def _get_schema(self, argmap, req):
        # One instance per schema class (guanjia.fields.schema_instance), not webargs' new one per request: building
        # a schema deep-copies its fields, which cost more than loading the body with it.
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return schema_instance(argmap)
        return super()._get_schema(argmap, req)

    def _process_location_data(self, location_data, schema, req, location, unknown, validators):
        data = super()._process_location_data(location_data, schema, req, location, unknown, validators)
        errors = out_of_range(data)
        if errors:
            raise ma.ValidationError(errors)
        return data


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint with the guarded parser (ProblemParser); every service's api.py uses this one."""

    ARGUMENTS_PARSER = ProblemParser()


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON with strict_json_loads: request.get_json() answers 400 for hostile bodies too."""

    def loads(self, s, **kwargs):
        return strict_json_loads(s)


def _declared_query(view) -> frozenset[str] | None:
    """The query parameter names a view documents (None when it documents none)."""
    parameters = (getattr(view, "_apidoc", None) or {}).get("arguments", {}).get("parameters", [])
    names, declared = set(), False
    for parameter in parameters:
        if isinstance(parameter, dict) and parameter.get("in") == "query":
            declared = True
            schema = parameter["schema"]
            schema = schema() if isinstance(schema, type) else schema
            names.update(f.data_key or n for n, f in schema.fields.items() if not f.dump_only)
    return frozenset(names) if declared else None


def install_query_check(app: Flask) -> None:
    """Refuse a query parameter that the operation does not define (400 naming it): a misspelt or unsupported
    filter (`q=` on tickets) must not silently return the unfiltered list."""
    cache: dict = {}

    @app.before_request
    def _unknown_query():
        if not request.args or not request.path.startswith(API_PREFIX) or request.endpoint is None:
            return None
        if request.endpoint not in cache:
            cache[request.endpoint] = _declared_query(app.view_functions.get(request.endpoint))
        allowed = cache[request.endpoint]
        if allowed is None and request.method not in ("GET", "HEAD"):
            return None  # a callback may carry its own signature parameters (notifications receipts)
        unknown = sorted(set(request.args) - (allowed or frozenset()))
        if unknown:
            errors = {name[:100]: ["unknown query parameter"] for name in unknown[:20]}
            return problem(400, "Bad Request", "unknown query parameter " + ", ".join(errors), errors)
        return None


class DayEndDateTime(ma.fields.AwareDateTime):
    """An aware ISO 8601 time, or a date alone meaning the end of that local day (the instance's timezone):
    `rectify_by: 2026-12-10` is what people write and mean 23:59:59 that day."""

    def _deserialize(self, value, attr, data, **kwargs):
        from datetime import datetime, time
        from zoneinfo import ZoneInfo

        if isinstance(value, str) and len(value) == 10:
            day = ma.fields.Date()._deserialize(value, attr, data, **kwargs)
            return datetime.combine(day, time(23, 59, 59), ZoneInfo(settings().timezone))
        return super()._deserialize(value, attr, data, **kwargs)


def problem_bytes(status: int, title: str, detail: str | None = None) -> bytes:
    """A problem+json body for errors answered by the HTTP server itself, before any app runs (414, 431, 400)."""
    import json

    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    return json.dumps(body).encode()


class ProblemRequestHandler(WSGIRequestHandler):
    """The embedded HTTP server's own errors (a request line over 64 KiB → 414) as problem+json, not HTML."""

    def send_error(self, code, message=None, explain=None):
        from http import HTTPStatus

        title = HTTPStatus(code).phrase
        payload = problem_bytes(code, title, message)
        self.log_error("code %d, message %s", code, title)
        self.send_response(code, title)
        self.send_header("Content-Type", PROBLEM_JSON)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(payload)


# --- the published contract: what /api/v1/openapi.json says about every operation (issue 13) ----------------------
# Every error any operation may answer, documented once as problem+json (RFC 9457).
PROBLEM_STATUSES = (400, 401, 403, 404, 409, 413, 422, 429, 503)


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error of the API is answered."""

    type = ma.fields.String(metadata={"example": "about:blank"})
    title = ma.fields.String(metadata={"example": "Invalid input"})
    status = ma.fields.Integer(metadata={"example": 422})
    detail = ma.fields.String(metadata={"example": "invalid unit_id"})
    instance = ma.fields.String(allow_none=True, metadata={"example": "/api/v1/tickets"})
    request_id = ma.fields.String(allow_none=True)
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "field (dotted path) → messages", "example": {"unit_id": ["no such unit"]}},
    )
    retry_after = ma.fields.Integer(metadata={"description": "with 429: seconds to wait"})


def _problem_response(status: int) -> dict:
    from http import HTTPStatus

    return {
        "description": HTTPStatus(status).phrase,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _numbers(node):
    """Decimals (Range validators of money and rates) as JSON numbers: a string `minimum` is invalid OpenAPI."""
    from decimal import Decimal

    if isinstance(node, dict):
        return {
            key: _numbers(Decimal(value) if key in _BOUNDS and isinstance(value, str) else value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_numbers(value) for value in node]
    if isinstance(node, Decimal):
        return int(node) if node == node.to_integral_value() else float(node)
    return node


# apispec writes a Decimal field's Range bounds as the field serialises them: strings for as_string Decimals.
_BOUNDS = frozenset(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"])


def _operation_ids(app: Flask) -> dict:
    """{(openapi path, method): operationId} from the Flask endpoints: stable while the view keeps its name."""
    import re

    ids = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            ids[(path, method.lower())] = rule.endpoint.replace(".", "_").replace("-", "_")
    return ids


def contract_document(document: dict, app: Flask | None = None) -> dict:
    """The OpenAPI document as published: errors as problem+json for every status an operation may answer,
    operationIds, and numbers where apispec wrote Decimals. Applied to every service's and the gateway's document."""
    document = _numbers(document)
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = {
        "type": "object",
        "description": ProblemSchema.__doc__,
        "properties": {
            "type": {"type": "string", "example": "about:blank"},
            "title": {"type": "string", "example": "Invalid input"},
            "status": {"type": "integer", "example": 422},
            "detail": {"type": "string", "example": "invalid unit_id"},
            "instance": {"type": ["string", "null"], "example": "/api/v1/tickets"},
            "request_id": {"type": ["string", "null"]},
            "errors": {
                "type": "object",
                "description": "field (dotted path) → messages",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "example": {"unit_id": ["no such unit"]},
            },
            "retry_after": {"type": "integer", "description": "with 429: seconds to wait"},
        },
        "required": ["type", "title", "status"],
    }
    components["schemas"].pop("Error", None)  # flask-smorest's {code, status, errors}: never what we answer
    responses = components.setdefault("responses", {})
    from http import HTTPStatus

    for name in list(responses):
        status = HTTPStatus[name].value if name in HTTPStatus.__members__ else 500
        responses[name] = _problem_response(status)
    for status in PROBLEM_STATUSES:
        responses.setdefault(HTTPStatus(status).name, _problem_response(status))
    ids = _operation_ids(app) if app is not None else {}
    for path, item in (document.get("paths") or {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method not in ("get", "put", "post", "patch", "delete"):
                continue
            if (path, method) in ids:
                operation.setdefault("operationId", ids[(path, method)])
            answers = operation.setdefault("responses", {})
            for status in PROBLEM_STATUSES:
                answers.setdefault(str(status), {"$ref": f"#/components/responses/{HTTPStatus(status).name}"})
            for status, answer in answers.items():
                # An operation's own words on an error (alt_response) keep its description, in problem+json.
                if status[:1] in ("4", "5") and "$ref" not in answer:
                    answer["content"] = _problem_response(int(status))["content"]
    return document


def enum_out(values, **kwargs) -> ma.fields.String:
    """A response field documented with its values (an OpenAPI enum): clients and generators see the choices."""
    choices = list(values) + ([None] if kwargs.get("allow_none") else [])
    return ma.fields.String(metadata={"enum": choices, **kwargs.pop("metadata", {})}, **kwargs)


# An operation the gateway records in its audit log when it succeeds: {"action": ..., "target": ...}. The gateway
# reads it from the services' OpenAPI documents, so the audited routes are the real ones (issue 13).
AUDIT_EXTENSION = "x-guanjia-audit"


def audit_doc(action: str, target_type: str) -> dict:
    """`@blp.doc(**web.audit_doc("payment.reversed", "payment"))`: audit this operation; the target id is the path's
    first parameter."""
    return {AUDIT_EXTENSION: {"action": action, "target": target_type}}
