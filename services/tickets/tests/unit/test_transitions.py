"""The ticket life cycle as pure rules: where each action leads, who may take it, what a caller is offered."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from guanjia.auth import Principal
from guanjia.errors import Invalid
from tickets.domain.common import OPEN_STATUSES, STATUSES
from tickets.domain.lifecycle import TRANSITIONS, allowed_actions, allowed_actions_for, charge_fen, end_hold, may_act

BUTLER = Principal(subject="butler-1", role="butler", communities=("c1",), zones=("z1",))
ENGINEER = Principal(subject="engineer-1", role="engineer", communities=("c1",))
RESIDENT = Principal(subject="user-r", role="resident", communities=("c1",), units=("u1",), resident_id="r1")
OTHER_RESIDENT = Principal(subject="user-o", role="resident", communities=("c1",), units=("u1",), resident_id="r2")


def ticket(status="in_progress", category="repair", **fields):
    values = {
        "status": status,
        "category": category,
        "assignee_id": "engineer-1",
        "reporter_id": "r1",
        "quote_fen": None,
        "charge_accepted": False,
        "closable_kinds": ("inquiry", "praise"),
    }
    return SimpleNamespace(**{**values, **fields})


def test_every_transition_starts_and_ends_in_a_known_status():
    for action, (sources, target) in TRANSITIONS.items():
        assert set(sources) <= set(STATUSES), action
        assert target is None or target in STATUSES, action


def test_terminal_statuses_offer_only_a_reopen_or_nothing():
    assert allowed_actions("cancelled") == []
    assert allowed_actions("closed") == ["reopen"]
    for status in OPEN_STATUSES:
        assert "cancel" in allowed_actions(status) and "assign" in allowed_actions(status)


@pytest.mark.parametrize(
    ("action", "status", "target"),
    [
        ("start", "assigned", "in_progress"),
        ("start", "reopened", "in_progress"),
        ("hold", "in_progress", "on_hold"),
        ("resume", "on_hold", "in_progress"),
        ("resolve", "in_progress", "resolved"),
        ("reopen", "resolved", "reopened"),
        ("reopen", "closed", "reopened"),
        ("cancel", "new", "cancelled"),
        ("close", "assigned", "closed"),
    ],
)
def test_an_action_leads_from_its_sources_to_its_target(action, status, target):
    sources, leads_to = TRANSITIONS[action]
    assert status in sources and leads_to == target


def test_work_is_resolved_only_while_in_progress():
    assert [status for status in STATUSES if "resolve" in allowed_actions(status)] == ["in_progress"]
    assert [status for status in STATUSES if "visit" in allowed_actions(status)] == ["resolved"]


def test_who_may_act():
    work = ticket()
    assert may_act(BUTLER, work, dispatcher=True)
    assert may_act(ENGINEER, work, worker=True)  # the assignee
    assert not may_act(ENGINEER, ticket(assignee_id="engineer-2"), worker=True)
    assert not may_act(ENGINEER, work, dispatcher=True)
    assert may_act(RESIDENT, work, reporter=True)
    assert not may_act(OTHER_RESIDENT, work, reporter=True)
    assert not may_act(RESIDENT, work, dispatcher=True, worker=True)


def test_each_caller_is_offered_what_they_may_do_now():
    assert allowed_actions_for(ticket(), ENGINEER) == ["hold", "quote", "resolve"]
    assert allowed_actions_for(ticket(), RESIDENT) == ["cancel"]
    assert allowed_actions_for(ticket(status="resolved"), RESIDENT) == ["reopen"]
    assert allowed_actions_for(ticket(status="resolved"), ENGINEER) == []
    # A quote waiting for its acceptance is offered to the reporter; once accepted, to nobody.
    quoted = ticket(quote_fen=12050)
    assert allowed_actions_for(quoted, RESIDENT) == ["accept_quote", "cancel"]
    assert "accept_quote" not in allowed_actions_for(ticket(quote_fen=12050, charge_accepted=True), RESIDENT)
    # Enquiries are closed directly by a dispatcher (the community's direct-close kinds), never quoted.
    enquiry = allowed_actions_for(ticket(status="assigned", category="inquiry"), BUTLER)
    assert "close" in enquiry and "quote" not in enquiry
    assert "close" not in allowed_actions_for(ticket(status="assigned", category="inquiry", closable_kinds=()), BUTLER)


def test_a_hold_moves_the_resolution_deadline_on_by_the_time_held():
    started = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    due = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    held = ticket(status="on_hold", hold_started_at=started, resolution_due_at=due, held_seconds=60)
    assert end_hold(held, started + timedelta(hours=2)) == 7200
    assert held.resolution_due_at == due + timedelta(hours=2)
    assert held.held_seconds == 7260 and held.hold_started_at is None
    assert end_hold(held, started + timedelta(hours=3)) == 0  # not on hold any more: nothing moves


def test_a_charge_is_a_positive_amount_of_at_most_two_decimals():
    assert charge_fen("0.01", "charge") == 1
    assert charge_fen("1000000", "charge") == 100_000_000
    assert charge_fen("120.5", "charge") == 12050
    for bad, message in (
        ("1000000.01", "a positive amount with at most two decimals, up to 1000000"),
        ("abc", "a decimal amount such as 120.50"),
        ("1e3", "a decimal amount such as 120.50"),
        ("-1", "a positive amount with at most two decimals, up to 1000000"),
        ("0.00", "a positive amount with at most two decimals, up to 1000000"),
        ("1.234", "a positive amount with at most two decimals, up to 1000000"),
    ):
        with pytest.raises(Invalid) as refused:
            charge_fen(bad, "charge")
        assert refused.value.status == 422 and refused.value.errors == {"charge": [message]}, bad
