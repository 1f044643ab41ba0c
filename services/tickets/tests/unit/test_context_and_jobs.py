"""The worker's one clock: the handler context carries it, and a job without an explicit `now` reads it."""

from contextlib import contextmanager
from datetime import UTC, datetime

from guanjia.db import utcnow
from tickets import jobs
from tickets.context import make_context

MIDNIGHT = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


class FakeDatabase:
    @contextmanager
    def transaction(self):
        yield "session"


def test_the_context_carries_the_clock():
    assert make_context("settings", {}).clock is utcnow
    context = make_context("settings", {"residents": "up"}, clock=lambda: MIDNIGHT)
    assert (context.settings, context.upstreams, context.clock()) == ("settings", {"residents": "up"}, MIDNIGHT)


def test_jobs_take_now_explicitly_or_from_the_contexts_clock(monkeypatch):
    seen = []
    for module, name in (
        (jobs.sla, "check_sla"),
        (jobs.patrols, "check_coverage"),
        (jobs.visits, "check_visit_overdue"),
    ):
        monkeypatch.setattr(module, name, lambda session, settings, now: seen.append((session, settings, now)) or 1)
    # The maintenance job: (plans looked at, orders made) per batch, then the overdue check.
    monkeypatch.setattr(
        jobs.maintenance,
        "generate_orders",
        lambda session, settings, now: seen.append((session, settings, now)) or (0, 1),
    )
    monkeypatch.setattr(jobs.maintenance, "check_overdue", lambda session, settings, now: 0)
    context = make_context("settings", {}, clock=lambda: MIDNIGHT)
    explicit = datetime(2026, 1, 1, tzinfo=UTC)
    for _name, _every, job in jobs.PERIODIC:
        assert job(context, FakeDatabase()) == 1
        assert job(context, FakeDatabase(), now=explicit) == 1
    assert seen == [("session", "settings", MIDNIGHT), ("session", "settings", explicit)] * 4
