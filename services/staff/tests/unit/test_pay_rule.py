"""The collection-rate pay rule at its edges: 85 % meets the target, each full 5 % above it is two grades."""

from decimal import Decimal

import pytest

from staff.config import PayRule, from_env
from staff.domain.payrule import grade_change

RULE = PayRule()


@pytest.mark.parametrize(
    ("rate", "met", "steps", "grades"),
    [
        ("84.99", False, 0, -1),
        ("85", True, 0, 0),
        ("85.00", True, 0, 0),
        ("89.99", True, 0, 0),
        ("90", True, 1, 2),
        ("94.99", True, 1, 2),
        ("95", True, 2, 4),
        ("100", True, 3, 6),
    ],
)
def test_grade_change_at_the_edges(rate, met, steps, grades):
    change = grade_change(Decimal(rate), RULE)
    assert (change.target_met, change.steps, change.grades) == (met, steps, grades)


def test_the_rule_is_configuration():
    rule = from_env(
        {
            "GUANJIA_STAFF_PAY_THRESHOLD": "80",
            "GUANJIA_STAFF_PAY_STEP": "2.5",
            "GUANJIA_STAFF_PAY_GRADES_PER_STEP": "1",
            "GUANJIA_STAFF_PAY_PERIOD": "quarter",
        }
    ).pay_rule
    assert grade_change(Decimal("84.99"), rule).grades == 1
    assert grade_change(Decimal("85"), rule).grades == 2
    assert rule.period == "quarter"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GUANJIA_STAFF_PAY_THRESHOLD": "abc"}, "GUANJIA_STAFF_PAY_THRESHOLD"),
        ({"GUANJIA_STAFF_PAY_THRESHOLD": "120"}, "GUANJIA_STAFF_PAY_THRESHOLD"),
        ({"GUANJIA_STAFF_PAY_STEP": "0"}, "GUANJIA_STAFF_PAY_STEP"),
        ({"GUANJIA_STAFF_PAY_PERIOD": "month"}, "GUANJIA_STAFF_PAY_PERIOD"),
    ],
)
def test_a_bad_rule_names_its_variable(env, named):
    with pytest.raises(RuntimeError, match=named):
        from_env(env)


@pytest.mark.parametrize(
    ("month", "period", "name"),
    [
        ("2026-06", "half_year", "2026-H1"),
        ("2026-07", "half_year", "2026-H2"),
        ("2026-10", "quarter", "2026-Q4"),
        ("2026-03", "year", "2026"),
    ],
)
def test_a_month_lies_in_the_rules_period_as_billing_names_it(month, period, name):
    from staff.domain.scorecards import pay_period

    assert pay_period(month, PayRule(period=period)) == name
