"""The one way to build a service's WSGI app for gunicorn: settings, JSON logging and tracing in the worker."""

from __future__ import annotations

from . import config, tracing
from . import logging as glog


def application(service: str, create_app):
    """`app = application("<name>", create_app)` in `<name>/wsgi.py`.

    gunicorn imports the wsgi module in each worker after the fork (no preload), so the log handler, the span
    exporter's background thread and the database pool all belong to this worker process."""
    settings = config.from_env(service)
    glog.configure(service, settings.city, settings.log_level)
    tracing.configure(service)
    return create_app(settings)
