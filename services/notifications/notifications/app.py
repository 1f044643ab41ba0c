"""create_app(): the notifications service's Flask app; nothing is built at import time."""

from __future__ import annotations

from guanjia import config, web
from guanjia.db import Database


def create_app(settings=None, upstreams=None):
    # The web app only reads the delivery log; `upstreams` is accepted for the common factory signature
    # (the residents client lives in the worker's context, see consumers.make_context).
    settings = settings or config.from_env("notifications")
    database = Database(settings.database_url)
    app, api = web.create_flask_app(
        settings,
        title="Guanjia notifications",
        database_=database,
        description="The delivery log of SMS sent to residents.",
    )

    from .api import blp

    api.register_blueprint(blp)
    return app
