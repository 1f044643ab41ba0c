"""gunicorn entry point: `gunicorn notifications.wsgi:app`."""

from .app import create_app

app = create_app()
