"""create_app(): the tickets service's Flask app; nothing is built at import time."""

from __future__ import annotations

from pathlib import Path

from guanjia import access, config, http, uploads, web
from guanjia.db import Database

from . import config as tickets_config


def create_app(settings=None, upstreams=None, *, clock=None, files_dir: str | Path | None = None):
    """`clock` gives the current UTC time (tests pass a controllable one); attachments are kept under
    `files_dir` (default GUANJIA_TICKETS_FILES_DIR, else <var>/files/tickets)."""
    settings = settings or config.from_env("tickets")
    upstreams = upstreams if upstreams is not None else http.upstreams_for(settings)
    database = Database(settings.database_url)
    app, api = web.create_flask_app(
        settings,
        title="Guanjia tickets",
        database_=database,
        clock=clock,
        description="Service requests with a closed loop (dispatch, SLA, return visits), patrols and zone coverage.",
    )
    app.extensions["guanjia.upstreams"] = upstreams  # the gateway answers staff display names
    app.extensions["tickets.residents"] = http.ServiceClient(settings, upstreams, "residents")
    # Staff accounts (who a ticket may be dispatched to) are the gateway's; a worker reaches it over HTTP.
    app.extensions["tickets.gateway"] = http.ServiceClient(
        settings, http.RoutedUpstreams(settings, upstreams), "gateway"
    )
    files_dir = files_dir or tickets_config.from_env(settings.env).files_dir
    app.extensions["tickets.files"] = uploads.LocalFileStore(Path(files_dir))

    from .api import (
        acceptance_blp,
        blp,
        equipment_blp,
        incident_blp,
        internal_blp,
        maintenance_blp,
        patrol_blp,
        quality_blp,
    )
    from .policy import policy

    access.install(app, policy())

    api.register_blueprint(blp)
    api.register_blueprint(patrol_blp)
    api.register_blueprint(incident_blp)
    api.register_blueprint(equipment_blp)
    api.register_blueprint(maintenance_blp)
    api.register_blueprint(quality_blp)
    api.register_blueprint(acceptance_blp)
    api.register_blueprint(internal_blp)
    return app
