"""create_app(): the gateway's Flask app behind its routing layer; nothing is built at import time."""

from __future__ import annotations

from guanjia import config, http, web
from guanjia.db import Database

from .openapi import MergedOpenApi
from .routing import Router

HEALTH_TIMEOUT = 2.0


def create_app(settings=None, upstreams=None):
    """The gateway app. `upstreams` is {service: WsgiUpstream | HttpUpstream}; HTTP to the configured URLs if None."""
    settings = settings or config.from_env("gateway")
    upstreams = upstreams if upstreams is not None else http.upstreams_for(settings)
    database = Database(settings.database_url)

    from .api import TOKEN_PATH, auth_blp, users_blp

    app, api = web.create_flask_app(
        settings,
        title="Guanjia gateway",
        database_=database,
        public_paths={TOKEN_PATH},
        ready_checks=[(f"upstream:{name}", _alive_check(upstreams, name)) for name in upstreams],
        description="Users, access tokens, and the single entry point to every service of the instance.",
    )
    api.register_blueprint(auth_blp)
    api.register_blueprint(users_blp)

    # /api/v1/openapi.json serves the merged document, so flask-smorest's Swagger UI at /api/v1/docs shows it.
    merged = MergedOpenApi(api.spec.to_dict, upstreams)
    app.extensions["gateway.openapi"] = merged
    app.view_functions["api-docs.openapi_json"] = merged.view  # flask-smorest's endpoint name

    # Routed paths are answered here, before Flask: the forwarding path stays lean.
    router = Router(app.wsgi_app, settings, upstreams)
    app.extensions["gateway.router"] = router
    app.wsgi_app = router
    return app


def _alive_check(upstreams: dict, name: str):
    def check():
        response = upstreams[name].request("GET", "/healthz", timeout=HEALTH_TIMEOUT)
        if response.status != 200:
            raise RuntimeError(f"{name} answered {response.status}")

    return check
