"""Periodic jobs of a worker: run one, remember when each last ran and how it went (for /metrics and `guanjia jobs`)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from prometheus_client import Counter, Gauge
from sqlalchemy import Column, Float, MetaData, String, Table, Text, select

from .db import UtcDateTime, as_utc, utcnow

log = logging.getLogger("guanjia.jobs")

# Infrastructure state, not business data: kept beside the service's tables but outside its Alembic history, created
# on first use (like a cache table), so no service migration depends on it.
_metadata = MetaData()
JOB_RUNS = Table(
    "guanjia_job_runs",
    _metadata,
    Column("job", String(100), primary_key=True),
    Column("last_run_at", UtcDateTime(), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("duration_seconds", Float, nullable=False),
    Column("result", Text),
    Column("last_success_at", UtcDateTime()),
)

JOB_LAST_RUN = Gauge(
    "guanjia_job_last_run_timestamp_seconds",
    "When a periodic job last finished (Unix time)",
    ["service", "job"],
    multiprocess_mode="max",
)
JOB_LAST_SUCCESS = Gauge(
    "guanjia_job_last_success_timestamp_seconds",
    "When a periodic job last succeeded (Unix time)",
    ["service", "job"],
    multiprocess_mode="max",
)
JOB_LAST_OK = Gauge("guanjia_job_last_run_ok", "1 if the job's last run succeeded, 0 if it failed", ["service", "job"])
JOB_DURATION = Gauge("guanjia_job_last_duration_seconds", "How long the job's last run took", ["service", "job"])
JOB_RUN_COUNT = Counter("guanjia_job_runs_total", "Runs of a periodic job by outcome", ["service", "job", "outcome"])

# A job that runs every few milliseconds (notifications' dispatch) writes its row at most this often, or when its
# outcome changes: the table answers "is it running and how did it go", it is not a run log.
PERSIST_EVERY_SECONDS = 30.0


@dataclass
class JobRun:
    job: str
    outcome: str  # "ok" or "failed"
    duration_seconds: float
    result: str


class JobRecorder:
    """Runs the jobs of one service and records each outcome (metrics always; the database row throttled)."""

    def __init__(self, service: str, database):
        self.service = service
        self.database = database
        self._persisted: dict[str, tuple[float, str]] = {}
        self._table_ready = False
        self._lock = threading.Lock()

    def run(self, name: str, job, context) -> JobRun:
        started = time.perf_counter()
        try:
            result = job(context, self.database)
            run = JobRun(name, "ok", time.perf_counter() - started, "" if result is None else str(result))
        except Exception as exc:
            # The class only: an exception's message may quote personal data.
            run = JobRun(name, "failed", time.perf_counter() - started, exc.__class__.__name__)
            log.exception("scheduled job failed; it runs again next time", extra={"job": name})
        self._record(run)
        return run

    def _record(self, run: JobRun) -> None:
        now = time.time()
        labels = (self.service, run.job)
        JOB_LAST_RUN.labels(*labels).set(now)
        JOB_LAST_OK.labels(*labels).set(1 if run.outcome == "ok" else 0)
        JOB_DURATION.labels(*labels).set(run.duration_seconds)
        JOB_RUN_COUNT.labels(*labels, run.outcome).inc()
        if run.outcome == "ok":
            JOB_LAST_SUCCESS.labels(*labels).set(now)
        last = self._persisted.get(run.job)
        if last and last[1] == run.outcome and now - last[0] < PERSIST_EVERY_SECONDS:
            return
        try:
            self._persist(run)
            self._persisted[run.job] = (now, run.outcome)
        except Exception:
            log.warning("could not record the job's run; it is still counted on /metrics", extra={"job": run.job})

    def _persist(self, run: JobRun) -> None:
        with self._lock:
            if not self._table_ready:
                ensure_table(self.database)
                self._table_ready = True
        at = utcnow()
        with self.database.transaction() as session:
            row = session.execute(select(JOB_RUNS).where(JOB_RUNS.c.job == run.job)).first()
            values = {
                "last_run_at": at,
                "outcome": run.outcome,
                "duration_seconds": run.duration_seconds,
                "result": run.result[:500],
            }
            if run.outcome == "ok":
                values["last_success_at"] = at
            if row is None:
                session.execute(JOB_RUNS.insert().values(job=run.job, **values))
            else:
                session.execute(JOB_RUNS.update().where(JOB_RUNS.c.job == run.job).values(**values))


def ensure_table(database) -> None:
    JOB_RUNS.create(database.engine, checkfirst=True)


def last_runs(database) -> dict[str, dict]:
    """{job: {last_run_at, outcome, duration_seconds, result, last_success_at}} of what was recorded."""
    ensure_table(database)
    with database.transaction() as session:
        rows = session.execute(select(JOB_RUNS)).mappings().all()
    found = {}
    for row in rows:
        entry = dict(row)
        for key in ("last_run_at", "last_success_at"):
            entry[key] = as_utc(entry[key]) if entry[key] else None
        found[entry.pop("job")] = entry
    return found
