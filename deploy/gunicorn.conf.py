"""gunicorn settings shared by every Guanjia web service (`gunicorn -c deploy/gunicorn.conf.py <name>.wsgi:app`).

Environment:
  GUANJIA_BIND          full bind address; otherwise 0.0.0.0:$PORT (PORT defaults to GUANJIA_PORT, then 8000)
  GUANJIA_WEB_WORKERS   worker processes (default 2); each runs 4 threads (gthread)
  GUANJIA_LOG_LEVEL     gunicorn's own log level (the app logs JSON through guanjia.logging)
  PROMETHEUS_MULTIPROC_DIR  a writable directory private to this gunicorn (an emptyDir in Kubernetes): /metrics
                        then sums every worker's counters instead of reporting whichever worker answered
"""

import os

# Clear the metrics directory at start; retire a dead worker's files (no-ops without PROMETHEUS_MULTIPROC_DIR).
from guanjia.gunicorn_hooks import child_exit, on_starting  # noqa: F401

bind = os.environ.get("GUANJIA_BIND") or f"0.0.0.0:{os.environ.get('PORT') or os.environ.get('GUANJIA_PORT') or '8000'}"
workers = int(os.environ.get("GUANJIA_WEB_WORKERS", "2"))
worker_class = "gthread"
threads = 4
keepalive = 5
timeout = 30
graceful_timeout = 20

# The app is built in each worker after the fork: no database pool or broker connection is shared
# between processes (create_app() opens nothing at import time, and nothing is preloaded here).
preload_app = False

# Access lines are left to the app's JSON request log (with request_id); gunicorn logs errors only.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUANJIA_LOG_LEVEL", "info").lower()

# Containers run as a non-root user with a read-only-ish home: no control socket, heartbeat files in RAM.
control_socket_disable = True
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
