"""The pure rules behind scorecards and plans: the pay period a month lies in, how the owners' per-butler figures are
stored, and the plan period that fits each kind."""

import pytest

from staff.config import PayRule
from staff.domain.scorecards import SERVICE_FIGURES, figure_values, pay_period
from staff.schemas import PlanIn


@pytest.mark.parametrize(
    ("month", "period", "expected"),
    [
        ("2026-06", "half_year", "2026-H1"),
        ("2026-07", "half_year", "2026-H2"),
        ("2026-03", "quarter", "2026-Q1"),
        ("2026-10", "quarter", "2026-Q4"),
        ("2026-12", "year", "2026"),
    ],
)
def test_the_pay_period_of_a_month(month, period, expected):
    assert pay_period(month, PayRule(period=period)) == expected


def test_figures_are_stored_counts_as_integers_ratios_as_decimal_strings_and_none_stays_none():
    row = {"tickets": 12, "tickets_resolved": 0, "sla_compliance": 0.9, "familiarity": None, "key": "u-1"}
    values = figure_values(row)
    assert set(values) == set(SERVICE_FIGURES)
    assert (values["tickets"], values["tickets_resolved"], values["sla_compliance"]) == (12, 0, "0.9")
    assert values["familiarity"] is None and values["patrol_coverage"] is None
    assert figure_values({}) == dict.fromkeys(SERVICE_FIGURES)


@pytest.mark.parametrize(
    ("kind", "period", "ok"),
    [
        ("monthly", "2026-11", True),
        ("monthly", "2026-13", False),
        ("monthly", "2026-Q4", False),
        ("quarterly", "2026-Q4", True),
        ("quarterly", "2026-Q5", False),
        ("quarterly", "2026-11", False),
    ],
)
def test_a_plans_period_fits_its_kind(kind, period, ok):
    errors = PlanIn().validate({"position_id": "p-1", "kind": kind, "period": period})
    assert ("period" not in errors) is ok, errors
