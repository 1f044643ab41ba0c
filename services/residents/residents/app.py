"""create_app(): the residents service's Flask app; nothing is built at import time."""

from __future__ import annotations

from flask import g

from guanjia import access, config, web
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
    from .domain.common import household
    from .policy import policy

    access.install(app, policy())

    @app.before_request
    def _own_household():
        # A resident is narrowed to what their records say now (from move-in to move-out), whatever the token
        # still says: a move-out takes effect at once here, not only at the token's next refresh.
        principal = g.get("principal")
        if principal is not None and principal.role == "resident":
            with database.transaction() as session:
                g.principal = household(session, principal)

    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    return app
