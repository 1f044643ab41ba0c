"""Scheduled jobs run by the worker (ServiceSpec.periodic): the dispatcher (SMS and WeChat), managers' e-mail reports.

The job reads the context's clock once per claim and hands that `now` to the domain (tests drive
`domain.dispatch.dispatch` with any `now`); several replicas share the work (claims SKIP LOCKED)."""

from __future__ import annotations

import time
from datetime import datetime

from .domain import reports
from .domain.deliveries import wakeup_for
from .domain.dispatch import dispatch


def dispatch_job(context, database, now: datetime | None = None) -> None:
    """Wait for a wake-up (a commit that planned deliveries) or the interval, then dispatch until nothing is due.

    A lone message is claimed at once; the dispatcher lingers only when a burst is forming (the last claim found
    several messages due and commits kept coming while it sent them), so that the burst (a billing run's
    reminders) is claimed in batches rather than one message at a time. `now` fixes the claims' time (tests);
    otherwise each claim reads the context's clock."""
    wake = wakeup_for(database.url)
    wake.wait(context.sms.dispatch_interval_seconds)
    wake.clear()  # commits from here on set it again: they are seen by the next claim or the next call
    linger = context.sms.dispatch_linger_seconds
    while True:
        claimed = dispatch(context, database, now or context.clock())
        if claimed >= context.sms.dispatch_batch:
            continue
        if not (linger and claimed > 1 and wake.is_set()):
            return
        time.sleep(linger)
        wake.clear()


def email_reports_job(context, database, now: datetime | None = None) -> int:
    """Managers' reports by e-mail: plan the last finished period's mails (once per community, period and
    address), then send what is pending: each mail committed to 'sending' before the SMTP conversation and its
    outcome in a transaction of its own (exactly once, one recorded duplicate at most after a lost worker).
    Off while GUANJIA_SMTP_* is unset."""
    if not context.smtp.enabled:
        return 0
    fixed, now = now, now or context.clock()
    with database.transaction() as session:
        reports.plan_reports(session, context.settings, context.smtp, now)
        reports.recover_stale(session, context.smtp, now)
    sent, tried = 0, set()
    while True:
        now = fixed or context.clock()  # each lease starts when its mail is claimed, not when the run began
        with database.transaction() as session:
            claim = reports.claim_due(session, context, now, tried)
        if claim is None:
            return sent
        if not isinstance(claim, reports.Claim):
            continue  # failed without sending (its address was removed)
        error = reports.send_claimed(context.smtp, claim)
        with database.transaction() as session:
            row = reports.record(session, context.smtp, claim, error, fixed or context.clock())
            sent += row is not None and row.status == "sent"


PERIODIC = [("dispatch", 0.01, dispatch_job), ("email_reports", 300.0, email_reports_job)]
