"""gunicorn entry point: `gunicorn staff.wsgi:app` (settings, JSON logs and tracing set up in the worker)."""

from guanjia.wsgi import application

from .app import create_app

app = application("staff", create_app)
