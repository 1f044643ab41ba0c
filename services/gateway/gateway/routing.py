"""The routing table and the thin WSGI layer in front of the gateway's Flask app that forwards to the services.

Routed requests never enter Flask: the layer checks the bearer token, makes sure there is an X-Request-ID,
and hands the request to the owning service — as a plain WSGI call in embedded mode (no HTTP at all), or
over a pooled keep-alive HTTP connection in distributed mode. The response comes back as the service sent it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from http import HTTPStatus
from urllib.parse import quote

from prometheus_client import Counter, Histogram

from guanjia import auth, problems
from guanjia.db import utcnow
from guanjia.errors import Forbidden, ProblemError, TooManyRequests, Unauthorized
from guanjia.http import HttpUpstream, WsgiUpstream
from guanjia.logging import request_id_var

from . import edge
from .pool import ConnectionPool

log = logging.getLogger("gateway.routing")
access_log = logging.getLogger("guanjia.access")  # the same access log the services' Flask apps write

API_PREFIX = "/api/v1"
# Path prefix → owning service. Each prefix is one segment below /api/v1 (looked up by that segment).
ROUTES = {
    "/api/v1/communities": "residents",
    "/api/v1/buildings": "residents",
    "/api/v1/units": "residents",
    "/api/v1/residents": "residents",
    "/api/v1/tickets": "tickets",
    "/api/v1/billing": "billing",
    "/api/v1/notifications": "notifications",
    "/api/v1/inbox": "notifications",  # the in-app inbox (issue 21)
}
# Served by the gateway's own Flask app (api.py); listed for readers, everything unrouted goes there anyway.
LOCAL_PREFIXES = ("/api/v1/auth", "/api/v1/users", "/api/v1/api-keys", "/api/v1/audit", "/api/v1/dead-letters")
LOCAL_SEGMENTS = frozenset(["auth", "users", "api-keys", "audit", "dead-letters", "internal", "openapi.json", "docs"])
# Service-to-service routes: reachable with a service credential inside the instance, never from outside.
INTERNAL_PREFIX = "/api/v1/internal"
# ...except the gateway's own (staff contacts for notifications): served here, to the service role only.
OWN_INTERNAL_PREFIX = "/api/v1/internal/users"
# What a routed request carries upstream (request header → WSGI environ key).
# Provider callbacks: forwarded without a bearer token, authenticated by the provider's signature in the service.
SIGNED_CALLBACKS = frozenset(
    ["/api/v1/payments/callback"]
    + [f"/api/v1/notifications/receipts/{provider}" for provider in ("aliyun", "tencent", "twilio", "wechat")]
)
# The published event schemas (every event's `dataschema`, guanjia.events.schema_url): public, like the AsyncAPI
# document; each service serves its own below /api/v1/<service>/schemas/events/.
EVENT_SCHEMA = re.compile(r"/api/v1/[a-z]+/schemas/events/[a-z_]+\.[a-z_]+/v[0-9]+\.json")
FORWARDED_HEADERS = {
    "Authorization": "HTTP_AUTHORIZATION",
    "Content-Type": "CONTENT_TYPE",
    "Idempotency-Key": "HTTP_IDEMPOTENCY_KEY",
    "X-Request-ID": "HTTP_X_REQUEST_ID",
    "Accept": "HTTP_ACCEPT",
    "Accept-Language": "HTTP_ACCEPT_LANGUAGE",
    # W3C trace context: a client's trace continues into the service, its outbox and the consumers.
    "traceparent": "HTTP_TRACEPARENT",
    "tracestate": "HTTP_TRACESTATE",
    # Signatures of the provider callbacks (SIGNED_CALLBACKS), checked by the service.
    "X-Guanjia-Signature": "HTTP_X_GUANJIA_SIGNATURE",
    "X-Twilio-Signature": "HTTP_X_TWILIO_SIGNATURE",
}
# Audited when the service answers 2xx: (method, path pattern) → action. A service can also name an action in
# an `X-Guanjia-Audit: <action>` response header (an unmasked personal-data view); the gateway records and drops it.
# The (method, pattern) → action table is derived from the services' OpenAPI documents (audited_routes): each
# service marks its audited operations with `x-guanjia-audit` (guanjia.web.audit_doc) on the real route.
AUDIT_EXTENSION = "x-guanjia-audit"
AUDIT_HEADER = "x-guanjia-audit"
API_KEY_METHODS = frozenset(["GET", "HEAD"])
# People's screens: every path outside /api/ goes to the workbench, except the gateway's own operational paths.
WEB_UPSTREAM = "workbench"
GATEWAY_OWN_PATHS = frozenset(["/healthz", "/readyz", "/metrics", auth.JWKS_PATH])
# What a browser's request carries on to the workbench (its session cookie, htmx's headers, its CSRF header).
WEB_FORWARDED_HEADERS = {
    **FORWARDED_HEADERS,
    "Cookie": "HTTP_COOKIE",
    "Origin": "HTTP_ORIGIN",
    "Referer": "HTTP_REFERER",
    "User-Agent": "HTTP_USER_AGENT",
    "If-None-Match": "HTTP_IF_NONE_MATCH",
    "If-Modified-Since": "HTTP_IF_MODIFIED_SINCE",
    "X-CSRF-Token": "HTTP_X_CSRF_TOKEN",
    "HX-Request": "HTTP_HX_REQUEST",
    "HX-Target": "HTTP_HX_TARGET",
    "HX-Trigger": "HTTP_HX_TRIGGER",
    "HX-Current-URL": "HTTP_HX_CURRENT_URL",
    "HX-Boosted": "HTTP_HX_BOOSTED",
    "HX-History-Restore-Request": "HTTP_HX_HISTORY_RESTORE_REQUEST",
    "X-Forwarded-For": "HTTP_X_FORWARDED_FOR",
    "X-Forwarded-Proto": "HTTP_X_FORWARDED_PROTO",
}

# What an API key's resource covers beyond its own path segment: `billing` reads bills, accounts, ledgers and
# reports under /billing and the cash book under /payments (facts: amounts, methods, times — docs/integrators.md).
API_KEY_SEGMENTS = {"billing": ("billing", "payments")}
# Segments no API key covers, with the reason given in the 403.
NOT_FOR_API_KEYS = {"billing-runs": "billing runs are the finance staff's operations, not readable with an API key"}


def api_key_covers(resources, segment: str | None) -> bool:
    return any(segment in API_KEY_SEGMENTS.get(resource, (resource,)) for resource in resources)


# Below gunicorn's 30 s worker timeout, so a hung service is a 504 rather than a killed gateway worker.
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 10.0
_BY_SEGMENT = {prefix[len(API_PREFIX) + 1 :]: service for prefix, service in ROUTES.items()}
_FORWARDED_ENVIRON = frozenset(key for key in FORWARDED_HEADERS.values() if key.startswith("HTTP_"))
# Hop-by-hop headers stop at the gateway; Content-Length is set anew from the body passed on.
_HOP_BY_HOP = frozenset(
    [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "te",
        "trailer",
        "upgrade",
        "proxy-authenticate",
        "proxy-connection",
    ]
)
# An upstream object whose client decoded the body (requests does) makes Content-Encoding untrue as well.
_DROPPED_WHEN_DECODED = _HOP_BY_HOP | {"content-encoding"}
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
# A query string is passed on as the client sent it when it is printable ASCII; other bytes are percent-encoded
# (http.client refuses them: a raw UTF-8 search would otherwise be a 500).
_QUERY_OK = re.compile(r"[\x21-\x7e]*")
_QUERY_SAFE = _PATH_SAFE + "?%"

_requests = Counter("guanjia_gateway_routed_requests_total", "Requests routed to a service", ["upstream", "status"])
_latency = Histogram("guanjia_gateway_routed_seconds", "Time until the service answered a routed request", ["upstream"])


def audited_routes(document: dict) -> list[tuple[str, re.Pattern, str, str]]:
    """[(METHOD, path regex, action, target type)] for every operation documented with x-guanjia-audit; the
    target id is the path's first parameter (or the path itself when it has none)."""
    table = []
    for path, item in (document.get("paths") or {}).items():
        for method, operation in item.items():
            mark = operation.get(AUDIT_EXTENSION) if isinstance(operation, dict) else None
            if not mark:
                continue
            pattern = "".join(
                "([^/]+)" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}]+\})", path)
            )
            table.append((method.upper(), re.compile(f"^{pattern}$"), mark["action"], mark["target"]))
    return table


def segment_of(path: str) -> str | None:
    if not path.startswith(API_PREFIX + "/"):
        return None
    return path[len(API_PREFIX) + 1 :].split("/", 1)[0]


def route_for(path: str) -> str | None:
    """The service owning `path` by the static table, or None (the gateway's own, or found in the services' docs)."""
    return _BY_SEGMENT.get(segment_of(path))


def is_blocked(path: str) -> bool:
    """True for internal routes and for any non-canonical spelling that could lead to them (//, /./, /../)."""
    if "//" in path or "/./" in path or "/../" in path or path.endswith(("/.", "/..")):
        return True
    if path == OWN_INTERNAL_PREFIX or path.startswith(OWN_INTERNAL_PREFIX + "/"):
        return False  # the gateway's own; its views refuse every role but `service`
    return path == INTERNAL_PREFIX or path.startswith(INTERNAL_PREFIX + "/")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def problem_response(
    start_response, status: int, title: str, detail: str | None, path: str, request_id: str, headers=()
):
    """An RFC 9457 problem+json answer written without Flask (the same shape as guanjia.web.problem)."""
    body = {"type": problems.problem_type(status), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = path
    body["request_id"] = request_id
    problems.localize(body, problems.wants_chinese(problems.accept_language_var.get()))
    payload = json.dumps(body, ensure_ascii=False).encode()
    start_response(
        f"{status} {_reason(status)}",
        [
            ("Content-Type", "application/problem+json"),
            ("Content-Length", str(len(payload))),
            ("X-Request-ID", request_id),
            *headers,
        ],
    )
    return [payload]


class Router:
    """WSGI middleware: routed paths go to their service, everything else to the gateway's Flask app."""

    def __init__(
        self,
        app,
        settings,
        upstreams: dict,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        limiter=None,
        revocations=None,
        api_keys=None,
        database=None,
        discover=None,
        audit_table=None,
        clock=utcnow,
    ):
        self.app = app
        self.clock = clock
        self.limiter = limiter
        self.revocations = revocations
        self.api_keys = api_keys
        self.database = database
        # discover(segment) → service: a path prefix a service documents that the static table does not list.
        self.discover = discover
        # audit_table() → audited_routes(merged document): the audited operations, as the services document them.
        self.audit_table = audit_table or (lambda: [])
        self.settings = settings
        # Looked up per request: in embedded mode the dict may be completed after the gateway is built.
        self.upstreams = upstreams
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._metric_children: dict = {}
        self._pools: dict = {}
        self._pools_lock = threading.Lock()

    def __call__(self, environ, start_response):
        # The gateway's own problem answers speak the caller's language too (the services read the forwarded header).
        token = problems.accept_language_var.set(environ.get("HTTP_ACCEPT_LANGUAGE"))
        try:
            return self._route(environ, start_response)
        finally:
            problems.accept_language_var.reset(token)

    def _route(self, environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        if not path.startswith("/api/"):
            if path in GATEWAY_OWN_PATHS or self.upstreams.get(WEB_UPSTREAM) is None:
                return self.app(environ, start_response)
            return self.forward_web(environ, start_response, path)
        if is_blocked(path):
            return problem_response(start_response, 404, "Not Found", "no such route", path, _request_id(environ))
        service = route_for(path)
        if service is None:
            segment = segment_of(path)
            if self.discover is not None and segment and segment not in LOCAL_SEGMENTS:
                service = self.discover(segment)
            if service is None:
                return self.app(environ, start_response)
        return self.forward(service, environ, start_response, path)

    def admit(self, environ, path: str):
        """Who is calling (and what to forward as Authorization); ProblemError when they may not pass."""
        header = environ.get("HTTP_AUTHORIZATION") or ""
        raw_key = environ.get("HTTP_X_API_KEY") or (header[7:].strip() if header.startswith("Bearer gjk_") else "")
        if raw_key and self.api_keys is not None:
            resolved = self.api_keys.resolve(raw_key)
            if resolved is None:
                raise Unauthorized("unknown, expired or revoked API key")
            key_id, principal, resources, bearer = resolved
            if environ["REQUEST_METHOD"] not in API_KEY_METHODS:
                raise Forbidden("API keys are read-only")
            segment = segment_of(path)
            if segment in NOT_FOR_API_KEYS:
                raise Forbidden(NOT_FOR_API_KEYS[segment])
            if not api_key_covers(resources, segment):
                raise Forbidden(f"this API key does not cover /{segment}")
            if self.limiter is not None:
                self.limiter.check("api_key", key_id)
            return principal, "Bearer " + bearer
        # Checked here so an anonymous or forged request costs the services nothing; they check again.
        principal = auth.principal_from_header(self.settings, header)
        edge.hold_back(principal, self.revocations, self.limiter)
        return principal, None

    def forward(self, service: str, environ, start_response, path: str):
        request_id = _request_id(environ)
        if environ["REQUEST_METHOD"] == "POST" and path in SIGNED_CALLBACKS:
            # Payment and SMS providers cannot hold a token: the service checks their signature itself.
            return self._pass(service, environ, start_response, path, request_id)
        if environ["REQUEST_METHOD"] in ("GET", "HEAD") and EVENT_SCHEMA.fullmatch(path):
            return self._pass(service, environ, start_response, path, request_id)
        try:
            principal, authorization = self.admit(environ, path)
        except ProblemError as exc:
            headers = [("WWW-Authenticate", 'Bearer realm="guanjia"')] if exc.status == 401 else []
            if isinstance(exc, TooManyRequests):
                headers = [("Retry-After", str(exc.retry_after))]
            return problem_response(start_response, exc.status, exc.title, exc.detail, path, request_id, headers)
        if authorization is not None:
            environ = {**environ, "HTTP_AUTHORIZATION": authorization}
        method = environ["REQUEST_METHOD"]
        # Looked up once the service has answered 2xx: the audit table (built from the services' OpenAPI) is never
        # fetched before a request is served, so a slow or failing service costs no extra call first.
        start_response = self._auditing(
            start_response, principal, lambda: self._audited(method, path), path, request_id
        )
        return self._pass(service, environ, start_response, path, request_id)

    def forward_web(self, environ, start_response, path: str):
        """A browser's page or asset: to the workbench with its cookies; the workbench checks its own session."""
        request_id = _request_id(environ)
        environ = dict(environ)
        environ["HTTP_X_REQUEST_ID"] = request_id
        # The workbench marks its cookie Secure when the browser's side of the gateway was TLS.
        environ.setdefault("HTTP_X_FORWARDED_PROTO", environ.get("wsgi.url_scheme", "http"))
        forwarded_for = environ.get("HTTP_X_FORWARDED_FOR")
        remote = environ.get("REMOTE_ADDR", "")
        environ["HTTP_X_FORWARDED_FOR"] = f"{forwarded_for}, {remote}" if forwarded_for else remote
        upstream = self.upstreams[WEB_UPSTREAM]
        if isinstance(upstream, WsgiUpstream):
            started = time.perf_counter()

            def _start(status, headers, exc_info=None):
                self._observe(WEB_UPSTREAM, environ, status[:3], started)
                return start_response(status, headers, exc_info)

            return upstream.wsgi_app(environ, _start)
        return self._call_http(WEB_UPSTREAM, upstream, environ, start_response, path, request_id, WEB_FORWARDED_HEADERS)

    def _pass(self, service: str, environ, start_response, path: str, request_id: str):
        upstream = self.upstreams.get(service)
        if upstream is None:
            return problem_response(
                start_response,
                404,
                "Not Found",
                f"the {service} service is not part of this instance",
                path,
                request_id,
            )
        token = request_id_var.set(request_id)
        try:
            if isinstance(upstream, WsgiUpstream):
                return self._call_wsgi(service, upstream, environ, start_response, request_id)
            return self._call_http(service, upstream, environ, start_response, path, request_id)
        finally:
            request_id_var.reset(token)

    def _call_wsgi(self, service, upstream, environ, start_response, request_id):
        # A copy, so the service cannot disturb the gateway's environ; only the forwarded headers survive.
        env = {k: v for k, v in environ.items() if not k.startswith("HTTP_") or k in _FORWARDED_ENVIRON}
        env["HTTP_X_REQUEST_ID"] = request_id
        started = time.perf_counter()

        def _start(status, headers, exc_info=None):
            self._observe(service, environ, status[:3], started)
            return start_response(status, headers, exc_info)

        return upstream.wsgi_app(env, _start)

    def _call_http(self, service, upstream, environ, start_response, path, request_id, forwarded=FORWARDED_HEADERS):
        headers = {name: environ[key] for name, key in forwarded.items() if environ.get(key)}
        headers["X-Request-ID"] = request_id
        limit = body_limit(self.settings, environ.get("CONTENT_TYPE"))
        body = _read_body(environ, limit)
        if body is None:
            return problem_response(
                start_response, 413, "Request Entity Too Large", f"larger than {limit} bytes", path, request_id
            )
        target = quote(path.encode("latin-1"), safe=_PATH_SAFE)
        query = environ.get("QUERY_STRING")
        started = time.perf_counter()
        try:
            if isinstance(upstream, HttpUpstream):
                status, out, payload = self._send(upstream, environ["REQUEST_METHOD"], target, query, headers, body)
            else:
                status, out, payload = self._send_generic(
                    upstream, environ["REQUEST_METHOD"], target, query, headers, body
                )
        except ProblemError as exc:
            log.warning("upstream failed", extra={"upstream": service, "status": exc.status})
            self._observe(service, environ, str(exc.status), started)
            return problem_response(start_response, exc.status, exc.title, exc.detail, path, request_id)
        self._observe(service, environ, str(status), started)
        out.append(("Content-Length", str(len(payload))))
        start_response(f"{status} {_reason(status)}", out)
        return [payload]

    def _audited(self, method: str, path: str):
        for audited_method, pattern, action, target_type in self.audit_table():
            if method == audited_method:
                match = pattern.match(path)
                if match:
                    return action, target_type, match.group(1) if pattern.groups else path
        return None

    def _auditing(self, start_response, principal, audited, path, request_id):
        """start_response that records the audit entry of a 2xx answer (and drops the service's audit header)."""
        if self.database is None:
            return start_response

        def _start(status, headers, exc_info=None):
            actions = []
            kept = []
            for name, value in headers:
                if name.lower() == AUDIT_HEADER:
                    actions = parse_audit_header(value, path)
                else:
                    kept.append((name, value))
            if status.startswith("2"):
                if not actions and (found := audited()) is not None:
                    actions = [found]
                for action in actions:
                    self._record(principal, action, path, request_id)
            return start_response(status, kept, exc_info)

        return _start

    def _record(self, principal, action, path, request_id) -> None:
        from . import domain

        name, target_type, target_id = action
        try:
            with self.database.transaction() as session:
                domain.audit(session, principal, name, target_type, target_id, self.clock(), {"path": path}, request_id)
        except Exception:
            # The request has been served; a lost audit entry is logged loudly rather than failing it.
            log.exception("could not write an audit entry", extra={"action": name})

    def _send(self, upstream: HttpUpstream, method, target, query, headers, body):
        """One request on the service's keep-alive pool: http.client directly, the lean path for the hot loop.

        HttpUpstream.request goes through requests.Session, which costs about twice the CPU per call (environment
        proxy lookups, cookie handling, hooks); urllib3 cost a third of the gateway's CPU per routed request
        (its Timeout/Retry objects, header dict and response wrapper) — both measurable in the benchmarks.
        """
        if query:
            target += "?" + (query if _QUERY_OK.fullmatch(query) else quote(query.encode("latin-1"), safe=_QUERY_SAFE))
        status, out, payload = self._pool(upstream).request(
            method, target, headers, body, self.connect_timeout, self.read_timeout
        )
        # The body is passed on undecoded, so Content-Encoding stays true; hop-by-hop headers stop here.
        return status, [(k, v) for k, v in out if k.lower() not in _HOP_BY_HOP], payload

    def _send_generic(self, upstream, method, target, query, headers, body):
        """Any other upstream object with the guanjia.http `request()` interface."""
        response = upstream.request(
            method,
            target,
            headers=headers,
            data=body or None,
            query_string=query or None,
            timeout=(self.connect_timeout, self.read_timeout),
        )
        out = [(k, v) for k, v in response.headers.items() if k.lower() not in _DROPPED_WHEN_DECODED]
        return response.status, out, response.body

    def _pool(self, upstream: HttpUpstream) -> ConnectionPool:
        pool = self._pools.get(upstream.base_url)
        if pool is None:
            with self._pools_lock:
                pool = self._pools.get(upstream.base_url)
                if pool is None:
                    pool = self._pools[upstream.base_url] = ConnectionPool(upstream.name, upstream.base_url)
        return pool

    def _observe(self, service: str, environ, status: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        if access_log.isEnabledFor(logging.INFO):
            path = environ["PATH_INFO"]
            prefix = API_PREFIX + "/" if path.startswith(API_PREFIX + "/") else "/"
            # The routing prefix, never the raw path or query string (a search may carry a phone number).
            access_log.info(
                "routed request",
                extra={
                    "method": environ.get("REQUEST_METHOD"),
                    "route": prefix + path[len(prefix) :].split("/", 1)[0],
                    "upstream": service,
                    "status": int(status),
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
        children = self._metric_children.get((service, status))
        if children is None:
            children = self._metric_children[(service, status)] = (
                _requests.labels(service, status),
                _latency.labels(service),
            )
        children[0].inc()
        children[1].observe(elapsed)


def parse_audit_header(value: str, path: str) -> list[tuple[str, str, str]]:
    """`action; target=resident/<id>; target=resident/<id>` → one (action, type, id) per target; without a target,
    the action on the path itself (a service names who was disclosed, so each person's views can be found)."""
    action, *params = [part.strip() for part in value.split(";")]
    targets = []
    for param in params:
        name, _, target = param.partition("=")
        kind, _, target_id = target.partition("/")
        if name.strip() == "target" and kind and target_id:
            targets.append((action, kind[:30], target_id[:64]))
    return targets or [(action, "resource", path[:64])]


def _request_id(environ) -> str:
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    return incoming if 0 < len(incoming) <= 128 else str(uuid.uuid4())


def body_limit(settings, content_type: str | None) -> int:
    """A file upload (multipart) may be as large as GUANJIA_MAX_UPLOAD_BYTES; every other body has the JSON limit."""
    if (content_type or "").lower().startswith("multipart/form-data"):
        from guanjia.uploads import MULTIPART_OVERHEAD

        return max(settings.max_body_bytes, settings.max_upload_bytes + MULTIPART_OVERHEAD)
    return settings.max_body_bytes


def _read_body(environ, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` (read no further than limit + 1)."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            size = int(length)
        except ValueError:
            size = 0
        if size > limit:
            return None
        return stream.read(size) if size > 0 else b""
    if environ.get("wsgi.input_terminated"):
        # Chunked upload: the server marks the end of the stream, so reading past the limit is safe to try.
        data = stream.read(limit + 1)
        return None if len(data) > limit else data
    return b""
