"""gunicorn entry point: `gunicorn workbench.wsgi:app` (logging set up here, in the worker, after the fork)."""

from guanjia import config
from guanjia import logging as glog

from .app import create_app

settings = config.from_env("workbench")
glog.configure("workbench", settings.city, settings.log_level)
app = create_app(settings)
