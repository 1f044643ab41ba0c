"""create_app(): the gateway's Flask app behind its routing layer; nothing is built at import time."""

from __future__ import annotations

from flask import g

from guanjia import auth, config, http, web
from guanjia.db import Database

from . import config as gateway_config
from . import edge
from .openapi import MergedOpenApi
from .ratelimit import RateLimiter
from .routing import Router

HEALTH_TIMEOUT = 2.0


def create_app(settings=None, upstreams=None, *, clock=None, limiter=None, gateway=None):
    """The gateway app. `upstreams` is {service: WsgiUpstream | HttpUpstream}; HTTP to the configured URLs if None.

    `clock` (a function returning an aware UTC datetime: the app's one clock, `web.now()`) and `limiter` are
    injectable for tests; `gateway` (GatewaySettings) defaults to the settings' environment.
    """
    settings = settings or config.from_env("gateway")
    gateway = gateway or gateway_config.from_env(settings.env)
    upstreams = upstreams if upstreams is not None else http.upstreams_for(settings)
    database = Database(settings.database_url)
    limiter = limiter or RateLimiter(settings, gateway)

    from .api import PUBLIC_PATHS, audit_blp, auth_blp, dead_blp, internal_blp, jwks_view, keys_blp, users_blp

    # Redis is not a readiness check: the limits fail open, and a Redis outage must not empty the load balancer.
    # Nor is the workbench: programs keep the API while the people's screens restart.
    checks = [
        (f"upstream:{name}", _alive_check(upstreams, name))
        for name in upstreams
        if name not in ("gateway", "workbench")
    ]
    # Ready means ready for what the start-up banner promises: the admin exists (and the demo logins, with --demo).
    checks += startup_checks(gateway, database)
    app, api = web.create_flask_app(
        settings,
        title="Guanjia gateway",
        database_=database,
        public_paths=PUBLIC_PATHS,
        ready_checks=checks,
        description="Accounts, sign-in and tokens, integrator keys, the audit log, and the single entry point "
        "to every service of the instance.",
        clock=clock,
    )
    clock = app.extensions["guanjia.clock"]  # the same clock for the edge and the router as for the views
    for blueprint in (auth_blp, users_blp, keys_blp, audit_blp, dead_blp, internal_blp):
        api.register_blueprint(blueprint)
    app.add_url_rule(auth.JWKS_PATH, "jwks", jwks_view)

    revocations = edge.Revocations(database, settings, clock=clock)
    api_keys = edge.ApiKeys(database, settings, clock=clock)
    app.extensions.update(
        {
            "gateway.settings": gateway,
            "gateway.limiter": limiter,
            "gateway.revocations": revocations,
            "gateway.api_keys": api_keys,
            "gateway.upstreams": upstreams,
        }
    )

    @app.before_request
    def _edge_checks():
        # The gateway's own endpoints get the same treatment as routed ones: disabled accounts stop here.
        principal = g.get("principal")
        if principal is not None:
            edge.hold_back(principal, revocations, limiter)

    # /api/v1/openapi.json serves the merged document, so flask-smorest's Swagger UI at /api/v1/docs shows it.
    merged = MergedOpenApi(api.openapi_document, upstreams)
    app.extensions["gateway.openapi"] = merged
    app.view_functions["api-docs.openapi_json"] = merged.view  # flask-smorest's endpoint name

    # Routed paths are answered here, before Flask: the forwarding path stays lean.
    router = Router(
        app.wsgi_app,
        settings,
        upstreams,
        limiter=limiter,
        revocations=revocations,
        api_keys=api_keys,
        database=database,
        discover=merged.owner_of,
        audit_table=merged.audited,
        clock=clock,
    )
    app.extensions["gateway.router"] = router
    app.wsgi_app = edge.EdgeMiddleware(router, gateway.cors_origins)
    return app


def _alive_check(upstreams: dict, name: str):
    def check():
        response = upstreams[name].request("GET", "/healthz", timeout=HEALTH_TIMEOUT)
        if response.status != 200:
            raise RuntimeError(f"{name} answered {response.status}")

    return check


def startup_checks(gateway, database) -> list:
    """/readyz checks "admin" (the first admin exists) and, for `guanjia run --demo`, "demo" (the demo logins)."""
    from . import demo, domain

    def user_exists(username: str):
        def check():
            with database.transaction() as session:
                if domain.user_by_username(session, username) is None:
                    raise LookupError(f"no user {username} yet")

        return check

    checks = [("admin", user_exists(domain.ADMIN_USERNAME))]
    if gateway.demo:
        checks.append(("demo", user_exists(demo.LOADED_BY)))
    return checks
