"""Every ticket action has its actors: a transition added without them made every ticket answer 500."""

from tickets.domain.lifecycle import ACTION_ACTORS, TRANSITIONS


def test_every_transition_names_who_may_take_it():
    assert set(TRANSITIONS) == set(ACTION_ACTORS)
    assert ACTION_ACTORS["triage"] == {"dispatcher": True}  # lifecycle.triage requires a dispatcher
