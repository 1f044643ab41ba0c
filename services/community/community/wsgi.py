"""gunicorn entry point: `gunicorn community.wsgi:app` (settings, JSON logs and tracing set up in the worker)."""

from guanjia.wsgi import application

from .app import create_app

app = application("community", create_app)
