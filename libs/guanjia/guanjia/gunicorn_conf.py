"""The one gunicorn configuration of every Guanjia web service (`gunicorn -c python:guanjia.gunicorn_conf`).

The images run it (CMD in the Dockerfile) and so does `guanjia run --distributed` (guanjia.stack), which
passes only what differs per process on the command line (its bind address, worker count, a short graceful
timeout and quieter logs for a terminal).

Environment:
  GUANJIA_SERVICE       the service this process serves (`<name>.wsgi:app`); the image sets it from its build arg
  GUANJIA_BIND          full bind address; otherwise 0.0.0.0:$PORT (PORT defaults to GUANJIA_PORT, then the
                        service's own port, then 8000)
  GUANJIA_WEB_WORKERS   worker processes (default 2); each runs GUANJIA_WEB_THREADS threads (gthread)
  GUANJIA_WEB_THREADS   threads per worker (default 4; the gateway's 16: they wait on the services)
  GUANJIA_LOG_LEVEL     gunicorn's own log level (the app logs JSON through guanjia.logging)
  PROMETHEUS_MULTIPROC_DIR  a writable directory private to this gunicorn (an emptyDir in Kubernetes): /metrics
                        then sums every worker's counters instead of reporting whichever worker answered
"""

import os

from guanjia.config import SERVICE_PORTS as _SERVICE_PORTS

# Clear the metrics directory at start; retire a dead worker's files (no-ops without PROMETHEUS_MULTIPROC_DIR).
from guanjia.gunicorn_hooks import child_exit, on_starting  # noqa: F401

_service = os.environ.get("GUANJIA_SERVICE", "")
if _service:
    # An app named on the command line (as guanjia.stack does) wins over this.
    wsgi_app = f"{_service}.wsgi:app"
_port = os.environ.get("PORT") or os.environ.get("GUANJIA_PORT") or str(_SERVICE_PORTS.get(_service, 8000))
bind = os.environ.get("GUANJIA_BIND") or f"0.0.0.0:{_port}"
workers = int(os.environ.get("GUANJIA_WEB_WORKERS", "2"))
worker_class = "gthread"
# 4 threads, not more, in a service: each busy thread may hold a database connection, and 3 workers x 4 threads in
# every web pod of a city already takes most of PostgreSQL's max_connections (300 in deploy/k8s/base/postgres.yaml).
# The gateway's threads mostly wait on a service, holding no connection, and one page holds several of them at once:
# the browser's request, the workbench's API calls through it, and the services' own calls back into it (staff
# names). With 4, a few pages at once left those last calls queued behind the requests waiting for them.
threads = int(os.environ.get("GUANJIA_WEB_THREADS") or (16 if _service == "gateway" else 4))
# Longer than a request's gap on a busy pool: the gateway keeps pooled connections to every service without an
# idle limit, and a POST sent on a connection the server is just closing fails (it is not retried) — the
# shorter the server's keep-alive, the more often that race is lost. An idle keep-alive connection costs no
# thread under gthread, only a socket.
keepalive = 30
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
