"""One call to the gateway's public API (no session logic): status, headers and body, and problem+json as errors."""

from __future__ import annotations

import json as jsonlib
import uuid
from urllib.parse import urlencode

from flask import current_app, g

from guanjia.errors import UpstreamUnavailable

TIMEOUT = 10.0


class ApiError(Exception):
    """A 4xx/5xx answer of the API; `problem` is its problem+json body (fields named in `errors`)."""

    def __init__(self, status: int, problem: dict | None):
        self.status = status
        self.problem = problem if isinstance(problem, dict) else {}
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or f"HTTP {self.status}")

    @property
    def field_errors(self) -> dict[str, str]:
        """{field: message}: shown next to the form field of that name."""
        found = {}
        for name, messages in (self.problem.get("errors") or {}).items():
            if isinstance(messages, list | tuple):
                text = "; ".join(str(m) for m in messages)
            elif isinstance(messages, dict):
                text = "; ".join(f"{k}: {v}" for k, v in messages.items())
            else:
                text = str(messages)
            found[str(name).removeprefix("json.").removeprefix("query.")] = text
        return found


class Unavailable(ApiError):
    """The gateway did not answer (or answered 502/503/504)."""


def gateway():
    """The gateway upstream (in-process WSGI app when embedded, pooled HTTP when distributed)."""
    try:
        return current_app.extensions["workbench.upstreams"]["gateway"]
    except KeyError:
        raise Unavailable(503, {"title": "the gateway is not part of this instance"}) from None


def call(
    method: str, path: str, *, token: str | None, json=None, params=None, body=None, content_type=None, headers=None
):
    """One API call; returns the upstream response (status, headers, body) whatever its status. `headers` adds
    request headers such as Idempotency-Key."""
    headers = {
        **(headers or {}),
        "Accept": "application/json",
        "X-Request-ID": g.get("request_id") or str(uuid.uuid4()),
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    locale = g.get("locale")
    if locale:
        headers["Accept-Language"] = locale.replace("_", "-")
    data = None
    if json is not None:
        data = jsonlib.dumps(json).encode()
        headers["Content-Type"] = "application/json"
    elif body is not None:
        data = body
        headers["Content-Type"] = content_type
    query = urlencode([(k, v) for k, v in _pairs(params)], doseq=True) if params else None
    try:
        return gateway().request(method, path, headers=headers, data=data, query_string=query, timeout=TIMEOUT)
    except UpstreamUnavailable as exc:
        raise Unavailable(exc.status, {"title": exc.title, "detail": exc.detail}) from None


def _pairs(params: dict):
    for key, value in params.items():
        if value is None or value == "":
            continue
        if isinstance(value, list | tuple):
            for item in value:
                yield key, item
        elif isinstance(value, bool):
            yield key, "true" if value else "false"
        else:
            yield key, value


def decode(response):
    """The JSON body of a 2xx answer; ApiError with the problem body otherwise."""
    if 200 <= response.status < 300:
        if response.status == 204 or not response.body:
            return None
        return response.json()
    try:
        problem = response.json()
    except ValueError:
        problem = {"title": f"HTTP {response.status}"}
    if response.status in (502, 503, 504):
        raise Unavailable(response.status, problem)
    raise ApiError(response.status, problem)
