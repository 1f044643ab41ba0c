"""Scheduled jobs run by the worker (ServiceSpec.periodic): the dispatcher (SMS and WeChat), managers' e-mail reports.

The job reads the context's clock once per claim and hands that `now` to the domain (tests drive
`domain.dispatch.dispatch` with any `now`); several replicas share the work (claims SKIP LOCKED)."""

from __future__ import annotations

import time
from datetime import datetime

from .domain import reports
from .domain.deliveries import wakeup_for
from .domain.dispatch import dispatch

# A burst is forming when a claim finds at least BURST messages, or when they became due faster than BURST_RATE per
# second since the previous claim (a billing run's reminders, consumer batches of events): only then does the
# dispatcher linger. At tens of tickets per second a claim finds one or two, and a linger would only hold them
# back: what arrives while a batch is sent is claimed right after it anyway.
BURST = 10
BURST_RATE = 100.0


def dispatch_job(context, database, now: datetime | None = None) -> None:
    """Wait for a wake-up (a commit that planned deliveries) or the interval, then dispatch until nothing is due.

    What was committed while a batch was being sent is claimed as soon as that batch is recorded. The dispatcher
    lingers only while a burst is forming (BURST, BURST_RATE) and commits keep coming, and then only for what is
    left of the linger after that batch's sends, so that the burst is claimed in batches rather than a few
    messages at a time. `now` fixes the claims' time (tests); otherwise each claim reads the context's clock."""
    wake = wakeup_for(database.url)
    wake.wait(context.sms.dispatch_interval_seconds)
    wake.clear()  # commits from here on set it again: they are seen by the next claim or the next call
    linger, started, previous = context.sms.dispatch_linger_seconds, time.monotonic(), None
    while True:
        claim_started = time.monotonic()
        claimed = dispatch(context, database, now or context.clock())
        if claimed >= context.sms.dispatch_batch:
            previous = claim_started
            continue
        # Nothing committed since the claim; or a run long enough to be recorded (the next call claims at once).
        if not wake.is_set() or time.monotonic() - started >= context.sms.dispatch_interval_seconds:
            return
        since = claim_started - previous if previous is not None else 0.0
        burst = claimed >= BURST or (claimed > 1 and since > 0 and claimed / since >= BURST_RATE)
        previous = claim_started
        left = linger - (time.monotonic() - claim_started)
        if burst and left > 0:
            time.sleep(left)
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
