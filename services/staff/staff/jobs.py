"""Scheduled jobs run by the worker (ServiceSpec.periodic): the start and end of approved leave, tasks falling due and overdue.

Each job takes the time explicitly (`now`, by default the context's clock; tests drive them with any `now`) and is
safe on several worker replicas: each leave is claimed with SKIP LOCKED and announced once (started_at / ended_at)."""

from __future__ import annotations

from .domain import leaves, tasks


def absences_job(context, database, now=None) -> int:
    with database.transaction() as session:
        return leaves.announce_absences(session, context.settings, now or context.clock())


def overdue_tasks_job(context, database, now=None) -> int:
    """The reminder before a task falls due (task.due_soon), then the escalation once it is past (task.overdue)."""
    with database.transaction() as session:
        now = now or context.clock()
        return tasks.announce_due_soon(session, context.settings, now) + tasks.announce_overdue(
            session, context.settings, now
        )


# Every two seconds: a cheap indexed query, and a leave's cover starts and ends within moments of its times.
PERIODIC = [("absences", 2.0, absences_job), ("overdue-tasks", 60.0, overdue_tasks_job)]
