"""gunicorn server hooks for Prometheus multiprocess mode (`gunicorn -c python:guanjia.gunicorn_hooks ...`).

deploy/gunicorn.conf.py imports the same two hooks. Nothing here imports prometheus_client at import time:
the master process only prepares the directory; the workers (forked later) do the counting.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def on_starting(server) -> None:
    """Start with an empty multiprocess directory: files of a previous run would be counted again."""
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
