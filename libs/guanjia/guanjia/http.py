"""Calling another service: in-process WSGI when embedded, pooled keep-alive HTTP when distributed."""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from werkzeug.test import EnvironBuilder, run_wsgi_app

from . import auth
from .config import Settings
from .errors import UpstreamUnavailable


@dataclass
class UpstreamResponse:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return jsonlib.loads(self.body or b"null")


class WsgiUpstream:
    """Another service's Flask app in the same process (embedded mode)."""

    def __init__(self, name: str, app):
        self.name = name
        self.wsgi_app = app

    def request(
        self, method: str, path: str, *, headers=None, json=None, data=None, query_string=None, timeout: float = 5.0
    ) -> UpstreamResponse:
        builder = EnvironBuilder(
            path=path, method=method, headers=headers or {}, json=json, data=data, query_string=query_string
        )
        try:
            app_iter, status, resp_headers = run_wsgi_app(self.wsgi_app, builder.get_environ())
            body = b"".join(app_iter)
            if hasattr(app_iter, "close"):
                app_iter.close()
        finally:
            builder.close()
        return UpstreamResponse(int(status.split()[0]), dict(resp_headers), body)


class HttpUpstream:
    """Another service over HTTP with a keep-alive connection pool (distributed mode)."""

    def __init__(self, name: str, base_url: str, pool_size: int = 64):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy/netrc look-ups per call: services talk to each other directly
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def request(
        self, method: str, path: str, *, headers=None, json=None, data=None, query_string=None, timeout: float = 5.0
    ) -> UpstreamResponse:
        try:
            resp = self.session.request(
                method,
                self.base_url + path,
                headers=headers,
                json=json,
                data=data,
                params=query_string,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise UpstreamUnavailable(
                f"{self.name} did not answer in time", status=504, title="Gateway Timeout"
            ) from None
        except requests.ConnectionError:
            raise UpstreamUnavailable(f"{self.name} is unreachable", status=502, title="Bad Gateway") from None
        return UpstreamResponse(resp.status_code, dict(resp.headers), resp.content)


def upstreams_for(settings: Settings, apps: dict | None = None) -> dict:
    """{service: upstream}: the given in-process apps, else HTTP to the configured service URLs."""
    if apps:
        return {name: WsgiUpstream(name, app) for name, app in apps.items()}
    return {name: HttpUpstream(name, url) for name, url in settings.service_urls.items() if name != "gateway"}


class ServiceClient:
    """Calls another service with this service's own credential (never a user's token)."""

    def __init__(self, settings: Settings, upstreams: dict, target: str):
        # Looked up at call time: in embedded mode the target app joins `upstreams` after this client exists.
        self.settings = settings
        self.upstreams = upstreams
        self.target = target

    def request(self, method: str, path: str, *, json=None, timeout: float = 5.0) -> UpstreamResponse:
        from .logging import current_request_id

        try:
            upstream = self.upstreams[self.target]  # [] not .get(): a mapping may resolve a name on demand
        except KeyError:
            raise UpstreamUnavailable(f"the {self.target} service is not part of this instance") from None
        headers = {"Authorization": f"Bearer {auth.service_token(self.settings)}", "Accept": "application/json"}
        if current_request_id():
            headers["X-Request-ID"] = current_request_id()
        return upstream.request(method, path, headers=headers, json=json, timeout=timeout)

    def get(self, path: str, *, timeout: float = 5.0) -> UpstreamResponse:
        return self.request("GET", path, timeout=timeout)

    def get_found(self, path: str, *, timeout: float = 5.0):
        """The JSON of a GET, None when the owner answers 404; any other answer is UpstreamUnavailable (retry later)."""
        response = self.get(path, timeout=timeout)
        if response.status == 404:
            return None
        if response.status != 200:
            raise UpstreamUnavailable(
                f"{self.target} answered {response.status} for {path.split('?')[0]}",
                extra={"upstream_status": response.status},
            )
        return response.json()


class RoutedUpstreams(dict):
    """The given upstreams, falling back to HTTP at the configured URL for a service that is not among them (the
    gateway is not among a distributed worker's or web process's upstreams)."""

    def __init__(self, settings: Settings, upstreams: dict):
        super().__init__()
        self.settings = settings
        self.given = upstreams

    def __getitem__(self, name):
        if name in self.given:  # looked up at call time: embedded apps join the dict after we are built
            return self.given[name]
        if name not in self:
            if name not in (self.settings.service_urls or {}):
                raise KeyError(name)
            self[name] = HttpUpstream(name, self.settings.service_urls[name])
        return dict.__getitem__(self, name)


def staff_names(client: ServiceClient, community_id: str) -> dict:
    """{user id: display name} of a community's staff, from the gateway's internal users route — one call per
    report, never one per row. Names are for display: an unreachable gateway gives {} (the report shows ids)."""
    from urllib.parse import quote

    try:
        found = client.get_found(f"/api/v1/internal/users?community_id={quote(str(community_id), safe='')}")
    except UpstreamUnavailable:
        return {}
    return {u["user_id"]: u.get("name") for u in (found or {}).get("items") or []}
