"""gunicorn server hooks for Prometheus multiprocess mode (`gunicorn -c python:guanjia.gunicorn_hooks ...`).

guanjia.gunicorn_conf (the one configuration) imports the same two hooks. Nothing here imports prometheus_client
at import time: the master process only prepares the directory; the workers (forked later) do the counting.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def on_starting(server) -> None:
    """Start with an empty multiprocess directory: files of a previous run would be counted again."""
    problem_errors()
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for child in directory.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    """Retire the live-gauge files of a worker that exited (its counters stay summed in)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def problem_errors() -> None:
    """gunicorn answers a request it cannot parse (URI over 4 KiB → 414, headers too large → 431) itself, in HTML.
    gunicorn has no hook for that body: its writer is replaced by one that writes problem+json like the apps.
    The message stays out: gunicorn puts the raw request line in it, and a query string may carry a phone number."""
    from gunicorn import util

    from .web import problem_bytes

    def write_error(sock, status_int, reason, mesg):
        payload = problem_bytes(status_int, reason)
        head = (
            f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        util.write_nonblock(sock, head.encode("latin-1") + payload)

    util.write_error = write_error
