"""gunicorn entry point: `gunicorn billing.wsgi:app` (settings, JSON logs and tracing set up in the worker)."""

from guanjia.wsgi import application

from .app import create_app

app = application("billing", create_app)
