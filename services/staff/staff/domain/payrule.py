"""The collection-rate pay rule as arithmetic: a period's collection rate → the grade change (a pure function)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from ..config import PayRule


@dataclass(frozen=True)
class GradeChange:
    rate: Decimal  # the period's collection rate, in percent
    target_met: bool
    steps: int  # full steps above the threshold
    grades: int  # + raises, − the cut for a missed target


def grade_change(rate_percent: Decimal, rule: PayRule) -> GradeChange:
    """85 % met, each full 5 % above it +2 grades (89.99 % is still 0 steps); below 85 % the target is missed."""
    rate = Decimal(rate_percent)
    if rate < rule.threshold:
        return GradeChange(rate, False, 0, rule.grades_when_missed)
    steps = int(((rate - rule.threshold) / rule.step).to_integral_value(rounding=ROUND_FLOOR))
    return GradeChange(rate, True, steps, steps * rule.grades_per_step)
