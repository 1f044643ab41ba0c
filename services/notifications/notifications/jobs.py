"""Scheduled jobs run by the worker (ServiceSpec.periodic): the SMS dispatcher.

The job reads the context's clock once per claim and hands that `now` to the domain (tests drive
`domain.dispatch.dispatch` with any `now`); several replicas share the work (claims SKIP LOCKED)."""

from __future__ import annotations

import time
from datetime import datetime

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


PERIODIC = [("dispatch", 0.01, dispatch_job)]
