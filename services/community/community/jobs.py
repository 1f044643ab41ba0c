"""Scheduled jobs run by the worker (ServiceSpec.periodic): the day's birthday greetings and due reminders, and the
reminders the day before an activity.

The job reads the context's clock once and hands that `now` to the domain (tests call it with any `now`); several
replicas may run it at once: each greeting and reminder occurrence is marked once (insert-if-absent), reminders
are claimed with SKIP LOCKED; each activity sign-up is reminded once."""

from __future__ import annotations

from datetime import datetime

from .domain import activities, reminders


def due_job(context, database, now: datetime | None = None) -> int:
    with database.transaction() as session:
        return reminders.announce_due(session, context.settings, now or context.clock())


def activity_reminders_job(context, database, now: datetime | None = None) -> int:
    with database.transaction() as session:
        return activities.announce_reminders(session, context.settings, now or context.clock())


# Every minute: the day's events go out just after local midnight; notifications holds them until quiet hours end.
PERIODIC = [("greetings-and-reminders", 60.0, due_job), ("activity-reminders", 60.0, activity_reminders_job)]
