"""create_app(): the residents service's Flask app; nothing is built at import time."""

from __future__ import annotations

from guanjia import config, web
from guanjia.db import Database


def create_app(settings=None, upstreams=None):
    """`upstreams`: only the gateway is ever asked, for staff display names (guanjia.names)."""
    settings = settings or config.from_env("residents")
    database = Database(settings.database_url)
    app, api = web.create_flask_app(
        settings,
        title="Guanjia residents",
        database_=database,
        description="Communities, buildings, units, residents and move-in.",
    )

    app.extensions["guanjia.upstreams"] = upstreams if upstreams is not None else {}
    from .api import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    return app
