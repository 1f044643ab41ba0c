"""gunicorn entry point: `gunicorn tickets.wsgi:app`."""

from .app import create_app

app = create_app()
