"""create_app(): the community service's Flask app; nothing is built at import time."""

from __future__ import annotations

from pathlib import Path

from guanjia import access, config, web
from guanjia.db import Database, utcnow
from guanjia.uploads import LocalFileStore

from . import config as community_config


def create_app(settings=None, upstreams=None, *, clock=None, files_dir: str | Path | None = None):
    """`clock` gives the current UTC time (tests pass a controllable one); activity photos are kept under
    `files_dir` (default GUANJIA_COMMUNITY_FILES_DIR, else <var>/files/community)."""
    from .api import (
        activity_blp,
        catalogue_blp,
        directory_blp,
        greeting_blp,
        knowledge_blp,
        order_blp,
        reminder_blp,
        survey_blp,
    )
    from .policy import policy

    settings = settings or config.from_env("community")
    database = Database(settings.database_url)
    app, api = web.create_flask_app(
        settings,
        title="Guanjia community",
        database_=database,
        clock=clock or utcnow,
        description="The front desk's knowledge base (百问百答), local services and hotlines, satisfaction surveys.",
    )
    files_dir = files_dir or community_config.from_env(settings.env).files_dir
    app.extensions["community.files"] = LocalFileStore(Path(files_dir))
    access.install(app, policy())
    blueprints = (
        knowledge_blp,
        directory_blp,
        survey_blp,
        catalogue_blp,
        order_blp,
        activity_blp,
        greeting_blp,
        reminder_blp,
    )
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    return app
