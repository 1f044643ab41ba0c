"""Staff-owned settings: the collection-rate pay rule (GUANJIA_STAFF_PAY_* env vars)."""

from __future__ import annotations

import dataclasses
import os
from decimal import Decimal, InvalidOperation

PERIODS = ("half_year", "quarter", "year")


@dataclasses.dataclass(frozen=True)
class PayRule:
    """收费率与工资挂钩: at or above `threshold` % the target is met; each full `step` % above it raises the pay
    `grades_per_step` grades; below it the period's target is missed (`grades_when_missed`, flagged for the
    manager)."""

    threshold: Decimal = Decimal("85")
    step: Decimal = Decimal("5")
    grades_per_step: int = 2
    grades_when_missed: int = -1
    period: str = "half_year"


@dataclasses.dataclass(frozen=True)
class StaffSettings:
    pay_rule: PayRule = PayRule()


def from_env(env=None) -> StaffSettings:
    """StaffSettings from GUANJIA_STAFF_* (documented in docs/staff.md); RuntimeError names a bad variable."""
    env = os.environ if env is None else env

    def number(name: str, default: str, kind=Decimal):
        raw = env.get(name, default)
        try:
            value = kind(raw)
        except (ValueError, InvalidOperation):
            raise RuntimeError(f"{name}: a number (got {raw!r})") from None
        return value

    rule = PayRule(
        threshold=number("GUANJIA_STAFF_PAY_THRESHOLD", "85"),
        step=number("GUANJIA_STAFF_PAY_STEP", "5"),
        grades_per_step=number("GUANJIA_STAFF_PAY_GRADES_PER_STEP", "2", int),
        grades_when_missed=number("GUANJIA_STAFF_PAY_GRADES_WHEN_MISSED", "-1", int),
        period=env.get("GUANJIA_STAFF_PAY_PERIOD", "half_year"),
    )
    if not Decimal(0) < rule.threshold <= Decimal(100):
        raise RuntimeError("GUANJIA_STAFF_PAY_THRESHOLD: a percentage above 0 and at most 100")
    if rule.step <= 0:
        raise RuntimeError("GUANJIA_STAFF_PAY_STEP: a percentage above 0")
    if rule.period not in PERIODS:
        raise RuntimeError(f"GUANJIA_STAFF_PAY_PERIOD: one of {', '.join(PERIODS)} (got {rule.period!r})")
    return StaffSettings(pay_rule=rule)
