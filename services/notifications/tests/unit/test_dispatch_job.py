"""The dispatcher's loop: a lone message is claimed at once, what is committed meanwhile right after the batch, and
only a forming burst lingers (for what is left of the linger). A scripted claim and a fake clock: nothing waits."""

from types import SimpleNamespace

import pytest

from notifications import jobs
from notifications.config import SmsSettings
from notifications.domain.deliveries import wakeup_for

URL = "postgresql+psycopg://test/dispatch-job"


class Clock:
    """time.monotonic and time.sleep for the job: the claims and the lingers advance it, nothing else does."""

    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def run(monkeypatch):
    """run(claims, **sms) → the claims made: each scripted claim is (how many it found, whether a commit arrived
    while its batch was sent, how long its sends took)."""

    def go(claims, **sms):
        clock, made = Clock(), []
        script = iter(claims)
        wake = wakeup_for(URL)
        wake.set()  # the commit that starts the run

        def dispatch(context, database, now):
            found, committed_meanwhile, took = next(script)
            made.append(found)
            clock.now += took
            if committed_meanwhile:
                wake.set()
            return found

        monkeypatch.setattr(jobs, "dispatch", dispatch)
        monkeypatch.setattr(jobs, "time", clock)
        settings = SmsSettings(**{"dispatch_linger_seconds": 0.05, "dispatch_batch": 200, **sms})
        context = SimpleNamespace(sms=settings, clock=lambda: None)
        jobs.dispatch_job(context, SimpleNamespace(url=URL))
        assert next(script, None) is None, "every scripted claim was made"
        return made, clock.slept

    return go


def test_a_lone_message_is_claimed_at_once_and_one_committed_meanwhile_right_after_it(run):
    made, slept = run([(1, True, 0.01), (1, False, 0.01)])
    assert made == [1, 1] and slept == []


def test_a_few_messages_and_commits_still_coming_are_not_held_back(run):
    """At tens of tickets per second a claim finds two or three while more commits arrive: no linger."""
    made, slept = run([(2, True, 0.04), (2, True, 0.04), (3, True, 0.06), (1, False, 0.02)])
    assert made == [2, 2, 3, 1] and slept == []


def test_messages_due_faster_than_the_burst_rate_linger(run):
    """Four messages every 20 ms (200/s) is a burst forming, though each claim is small: it lingers from the second
    claim on (the first has no rate to go by), for what is left of the linger after the sends."""
    made, slept = run([(4, True, 0.02), (4, True, 0.02), (12, False, 0.02)])
    assert made == [4, 4, 12] and slept == [0.03]


def test_a_burst_lingers_for_what_is_left_of_the_linger_after_its_sends(run):
    made, slept = run([(jobs.BURST, True, 0.02), (40, True, 0.06), (30, False, 0.02)])
    # 50 ms of linger less the 20 ms the first batch's sends took; the second batch took longer than the linger.
    assert made == [jobs.BURST, 40, 30] and slept == [0.03]


def test_a_burst_with_no_commit_since_its_claim_ends_the_run(run):
    made, slept = run([(jobs.BURST, False, 0.01)])
    assert made == [jobs.BURST] and slept == []


def test_a_full_batch_is_followed_by_the_next_claim_without_a_wait(run):
    made, slept = run([(200, False, 0.01), (200, False, 0.01), (5, False, 0.01)])
    assert made == [200, 200, 5] and slept == []


def test_no_linger_when_it_is_switched_off(run):
    made, slept = run([(50, True, 0.01), (50, False, 0.01)], dispatch_linger_seconds=0)
    assert made == [50, 50] and slept == []


def test_a_long_stream_of_commits_returns_after_the_interval_so_that_the_run_is_recorded(run):
    """The next call finds the wake-up set and claims at once; the job's run (metrics, `guanjia jobs`) is recorded."""
    made, slept = run([(1, True, 0.2), (1, True, 0.2), (1, True, 0.2)], dispatch_interval_seconds=0.5)
    assert made == [1, 1, 1] and slept == []
    assert wakeup_for(URL).is_set()
