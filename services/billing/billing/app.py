"""create_app(): the billing service's Flask app; nothing is built at import time."""

from __future__ import annotations

from guanjia import config, http, web
from guanjia.db import Database


def create_app(settings=None, upstreams=None):
    settings = settings or config.from_env("billing")
    upstreams = upstreams if upstreams is not None else http.upstreams_for(settings)
    database = Database(settings.database_url)
    app, api = web.create_flask_app(
        settings,
        title="Guanjia billing",
        database_=database,
        description="Fees, bills and payments; the units they are charged on.",
    )
    app.extensions["billing.residents"] = http.ServiceClient(settings, upstreams, "residents")

    from .api import blp

    api.register_blueprint(blp)
    return app
