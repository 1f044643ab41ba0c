"""Routing scores and SLA values as pure rules: the most specific rule wins, the defaults of each kind."""

from types import SimpleNamespace

import pytest

from tickets.domain.common import CATEGORIES, PRIORITIES
from tickets.domain.routing import best_rule, destination, rule_score
from tickets.domain.sla import DEFAULT_SLA, sla_values


def rule(category=None, subcategory=None, zone_id=None, department="engineering", assignee_id=None, name=""):
    return SimpleNamespace(
        category=category,
        subcategory=subcategory,
        zone_id=zone_id,
        department=department,
        assignee_id=assignee_id,
        name=name,
    )


LEAK = SimpleNamespace(category="repair", subcategory="plumbing", zone_id="z1")


@pytest.mark.parametrize(
    ("matchers", "score"),
    [
        ({}, 0),
        ({"category": "repair"}, 1),
        ({"subcategory": "plumbing"}, 2),
        ({"category": "repair", "subcategory": "plumbing"}, 3),
        ({"zone_id": "z1"}, 4),
        ({"zone_id": "z1", "category": "repair", "subcategory": "plumbing"}, 7),
        ({"category": "complaint"}, None),
        ({"zone_id": "z2", "category": "repair"}, None),
        ({"subcategory": "electrical"}, None),
    ],
)
def test_a_rule_scores_by_how_specific_it_is(matchers, score):
    assert rule_score(rule(**matchers), LEAK) == score


def test_zone_beats_subcategory_beats_category_and_ties_go_to_the_older_rule():
    by_category = rule(category="repair", name="category")
    by_subcategory = rule(subcategory="plumbing", name="subcategory")
    by_zone = rule(zone_id="z1", name="zone")
    assert best_rule([by_category, by_subcategory, by_zone], LEAK).name == "zone"
    assert best_rule([by_zone, by_category, by_subcategory], LEAK).name == "zone"
    assert best_rule([by_category, by_subcategory], LEAK).name == "subcategory"
    older, newer = rule(category="repair", name="older"), rule(category="repair", name="newer")
    assert best_rule([older, newer], LEAK).name == "older"
    assert best_rule([rule(category="complaint")], LEAK) is None
    assert best_rule([], LEAK) is None


def test_the_destination_falls_back_to_the_zones_first_butler():
    assert destination(rule(assignee_id="e1"), ["b1", "b2"], "customer_service") == ("engineering", "e1")
    assert destination(rule(), ["b1", "b2"], "customer_service") == ("engineering", "b1")
    assert destination(rule(), [], "customer_service") is None  # a rule without anyone to give it to
    assert destination(None, ["b1"], "security") == ("security", "b1")
    assert destination(None, [], "security") is None


def test_default_sla_by_priority():
    assert sla_values(None, "repair", "emergency") == (15, 240, False, False)
    assert sla_values(None, "repair", "high") == (30, 24 * 60, False, False)
    assert sla_values(None, "repair", "normal") == (120, 72 * 60, False, False)
    assert sla_values(None, "repair", "low") == (480, 7 * 24 * 60, False, False)


def test_answers_have_a_shorter_resolution_clock_unless_urgent():
    assert sla_values(None, "inquiry", "normal") == (120, 24 * 60, False, False)
    assert sla_values(None, "praise", "low") == (480, 72 * 60, False, False)
    assert sla_values(None, "suggestion", "normal")[1] == 7 * 24 * 60
    # An urgent enquiry keeps the priority's clock.
    assert sla_values(None, "inquiry", "high") == (30, 24 * 60, False, False)
    assert sla_values(None, "inquiry", "emergency")[1] == 240


def test_a_communitys_policy_overrides_the_defaults():
    policy = SimpleNamespace(response_minutes=10, resolution_minutes=600, business_hours=True)
    assert sla_values(policy, "repair", "normal") == (10, 600, True, True)


def test_every_kind_and_priority_has_a_positive_sla():
    assert set(DEFAULT_SLA) == set(PRIORITIES)
    for category in CATEGORIES:
        for priority in PRIORITIES:
            response, resolution, business, custom = sla_values(None, category, priority)
            assert 0 < response <= resolution and not business and not custom
