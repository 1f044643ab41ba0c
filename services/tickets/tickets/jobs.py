"""Scheduled jobs run by the worker (ServiceSpec.periodic): SLA escalation, patrol coverage, late return visits.

Each job takes the time explicitly underneath (tests drive domain.check_sla / patrols.check_coverage with any
`now`), and is safe on several worker replicas: breach and overdue rows are unique, candidates SKIP LOCKED."""

from __future__ import annotations

from guanjia.db import utcnow

from . import domain, patrols


def sla_job(context, database, now=None) -> int:
    with database.transaction() as session:
        return domain.check_sla(session, context.settings, now or utcnow())


def coverage_job(context, database, now=None) -> int:
    with database.transaction() as session:
        return patrols.check_coverage(session, context.settings, now or utcnow())


def visit_overdue_job(context, database, now=None) -> int:
    with database.transaction() as session:
        return domain.check_visit_overdue(session, context.settings, now or utcnow())


PERIODIC = [
    ("sla", 60, sla_job),
    ("patrol-coverage", 15 * 60, coverage_job),
    ("visit-overdue", 5 * 60, visit_overdue_job),
]
