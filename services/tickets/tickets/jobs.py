"""Scheduled jobs run by the worker (ServiceSpec.periodic): SLA escalation, patrol coverage, late return visits,
maintenance work orders and their overdue alerts.

Each job takes the time explicitly (`now`, else the context's clock; tests drive sla.check_sla /
patrols.check_coverage with any `now`), and is safe on several worker replicas: breach and overdue rows are unique, candidates SKIP LOCKED."""

from __future__ import annotations

from .domain import maintenance, patrols, sla, visits


def sla_job(context, database, now=None) -> int:
    with database.transaction() as session:
        return sla.check_sla(session, context.settings, now or context.clock())


def coverage_job(context, database, now=None) -> int:
    with database.transaction() as session:
        return patrols.check_coverage(session, context.settings, now or context.clock())


def visit_overdue_job(context, database, now=None) -> int:
    with database.transaction() as session:
        return visits.check_visit_overdue(session, context.settings, now or context.clock())


def maintenance_job(context, database, now=None) -> int:
    """Orders for every plan due by today, a batch per transaction (each holds its plans' locks only briefly)."""
    now, made = now or context.clock(), 0
    while True:
        with database.transaction() as session:
            seen, batch = maintenance.generate_orders(session, context.settings, now)
        made += batch
        if seen < maintenance.BATCH:
            break
    with database.transaction() as session:
        maintenance.check_overdue(session, context.settings, now)
    return made


PERIODIC = [
    ("sla", 60, sla_job),
    ("patrol-coverage", 15 * 60, coverage_job),
    ("visit-overdue", 5 * 60, visit_overdue_job),
    ("maintenance", 15 * 60, maintenance_job),
]
