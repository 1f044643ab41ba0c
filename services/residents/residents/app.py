"""create_app(): the residents service's Flask app; nothing is built at import time."""

from __future__ import annotations

from pathlib import Path

from flask import g

from guanjia import access, config, http, uploads, web
from guanjia.db import Database

from . import config as residents_config


def create_app(settings=None, upstreams=None, *, clock=None, files_dir: str | Path | None = None):
    """`upstreams`: the other services (in-process apps when embedded): the gateway for staff display names
    (guanjia.names), billing about renovation deposits. `clock`: the app's one source of now (tests fix it).
    Photos of inspections and vacancy checks are kept under `files_dir` (default GUANJIA_RESIDENTS_FILES_DIR, else
    <var>/files/residents)."""
    settings = settings or config.from_env("residents")
    upstreams = upstreams if upstreams is not None else http.upstreams_for(settings)
    database = Database(settings.database_url)
    app, api = web.create_flask_app(
        settings,
        title="Guanjia residents",
        database_=database,
        description="Communities, buildings, units, residents and move-in.",
        clock=clock,
    )

    app.extensions["guanjia.upstreams"] = upstreams if upstreams is not None else {}
    from .api import BLUEPRINTS
    from .domain.common import household
    from .policy import policy

    # A renovation permit waits for the deposit billing holds (asked over HTTP, never billing's database).
    app.extensions["residents.billing"] = http.ServiceClient(settings, upstreams, "billing")
    files_dir = files_dir or residents_config.from_env(settings.env).files_dir
    app.extensions["residents.files"] = uploads.LocalFileStore(Path(files_dir))
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
