"""Scheduled jobs run by the worker (ServiceSpec.periodic): the day's birthday greetings and due reminders.

The job reads the context's clock once and hands that `now` to the domain (tests call it with any `now`); several
replicas may run it at once: each greeting and reminder occurrence is marked once (insert-if-absent), reminders
are claimed with SKIP LOCKED."""

from __future__ import annotations

from datetime import datetime

from .domain import reminders


def due_job(context, database, now: datetime | None = None) -> int:
    with database.transaction() as session:
        return reminders.announce_due(session, context.settings, now or context.clock())


# Every minute: the day's events go out just after local midnight; notifications holds them until quiet hours end.
PERIODIC = [("greetings-and-reminders", 60.0, due_job)]
