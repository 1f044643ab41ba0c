"""gunicorn entry point: `gunicorn residents.wsgi:app`."""

from .app import create_app

app = create_app()
