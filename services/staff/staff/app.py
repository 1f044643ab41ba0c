"""create_app(): the staff service's Flask app; nothing is built at import time."""

from __future__ import annotations

from guanjia import access, config, http, web
from guanjia.db import Database, utcnow


def create_app(settings=None, upstreams=None, *, clock=None, staff=None):
    """`clock` gives the current UTC time (tests pass a controllable one); `staff` (StaffSettings) defaults to the
    GUANJIA_STAFF_* variables of the settings' environment."""
    from .api import blp
    from .config import from_env
    from .policy import policy

    settings = settings or config.from_env("staff")
    upstreams = upstreams if upstreams is not None else http.upstreams_for(settings)
    database = Database(settings.database_url)
    app, api = web.create_flask_app(
        settings,
        title="Guanjia staff",
        database_=database,
        clock=clock or utcnow,
        description="The team behind the accounts: departments, positions and reports-to, leave with stand-in cover, "
        "the collection-rate pay rule.",
    )
    app.extensions["staff.settings"] = staff or from_env(settings.env)
    # The collection figures of the scorecards are billing's: asked over its API, never read from its database.
    app.extensions["staff.billing"] = http.ServiceClient(settings, upstreams, "billing")
    # So are tickets' (handled, SLA, satisfaction, patrol coverage) and residents' (familiarity, communication).
    app.extensions["staff.tickets"] = http.ServiceClient(settings, upstreams, "tickets")
    app.extensions["staff.residents"] = http.ServiceClient(settings, upstreams, "residents")
    access.install(app, policy())
    api.register_blueprint(blp)
    return app
