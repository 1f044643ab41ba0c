"""gunicorn entry point: `gunicorn tickets.wsgi:app` (settings, JSON logs and tracing set up in the worker)."""

from guanjia.wsgi import application

from .app import create_app

app = application("tickets", create_app)
