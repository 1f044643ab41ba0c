"""Scheduled jobs run by the worker (ServiceSpec.periodic): SLA escalation, patrol coverage, late return visits.

Each job takes the time explicitly (`now`, else the context's clock; tests drive sla.check_sla /
patrols.check_coverage with any `now`), and is safe on several worker replicas: breach and overdue rows are unique, candidates SKIP LOCKED."""

from __future__ import annotations

from .domain import patrols, sla, visits


def sla_job(context, database, now=None) -> int:
    with database.transaction() as session:
        return sla.check_sla(session, context.settings, now or context.clock())


def coverage_job(context, database, now=None) -> int:
    with database.transaction() as session:
        return patrols.check_coverage(session, context.settings, now or context.clock())


def visit_overdue_job(context, database, now=None) -> int:
    with database.transaction() as session:
        return visits.check_visit_overdue(session, context.settings, now or context.clock())


PERIODIC = [
    ("sla", 60, sla_job),
    ("patrol-coverage", 15 * 60, coverage_job),
    ("visit-overdue", 5 * 60, visit_overdue_job),
]
