"""Billing's pure rules without infrastructure: late fees, rounding of bill lines, how money is allocated."""

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.domain.bills import _lines_for, late_fee_fen
from billing.domain.payments import allocate
from billing.models import Bill
from guanjia.money import parse_period

DUE = date(2026, 11, 16)


def late_policy(**changes):
    values = dict(
        late_fee_enabled=True,
        late_fee_daily_rate=Decimal("0.0003"),
        late_fee_grace_days=30,
        late_fee_cap=Decimal("0.1000"),
    )
    return SimpleNamespace(**{**values, **changes})


def bill(amount_fen=100_000, credited_fen=0, paid_fen=0, kind="periodic"):
    return Bill(amount_fen=amount_fen, credited_fen=credited_fen, paid_fen=paid_fen, kind=kind, due_date=DUE)


# --- late fees (违约金) ----------------------------------------------------------------------------------------------


def test_no_late_fee_unless_the_community_enables_it():
    assert late_fee_fen(late_policy(late_fee_enabled=False), bill(), DUE + timedelta(days=400)) == 0


def test_no_late_fee_within_the_grace_days():
    assert late_fee_fen(late_policy(), bill(), DUE + timedelta(days=30)) == 0


def test_the_late_fee_is_simple_interest_on_the_unpaid_principal_after_the_grace_days():
    # 1000.00 owed, 0.03 % a day, 10 days past the 30 grace days: 3.00; paid half: half the fee.
    assert late_fee_fen(late_policy(), bill(), DUE + timedelta(days=40)) == 300
    assert late_fee_fen(late_policy(), bill(paid_fen=50_000), DUE + timedelta(days=40)) == 150
    # Never compounding: twice the days, twice the fee (it is never charged on itself).
    assert late_fee_fen(late_policy(), bill(), DUE + timedelta(days=50)) == 600


def test_the_late_fee_is_capped_at_a_share_of_the_principal():
    # 10 % of the 1000.00 charged (less credits), however long it stays unpaid.
    assert late_fee_fen(late_policy(), bill(), DUE + timedelta(days=3000)) == 10_000
    assert late_fee_fen(late_policy(), bill(credited_fen=20_000), DUE + timedelta(days=3000)) == 8_000


def test_no_late_fee_on_a_settled_bill_or_a_deposit():
    assert late_fee_fen(late_policy(), bill(paid_fen=100_000), DUE + timedelta(days=100)) == 0
    assert late_fee_fen(late_policy(), bill(credited_fen=100_000), DUE + timedelta(days=100)) == 0
    assert late_fee_fen(late_policy(), bill(kind="deposit"), DUE + timedelta(days=100)) == 0


@settings(database=None)
@given(
    amount=st.integers(min_value=1, max_value=10**9),
    paid=st.integers(min_value=0, max_value=10**9),
    days=st.integers(min_value=0, max_value=20_000),
)
def test_the_late_fee_is_never_negative_nor_beyond_the_cap(amount, paid, days):
    fee = late_fee_fen(late_policy(), bill(amount_fen=amount, paid_fen=min(paid, amount)), DUE + timedelta(days=days))
    # The fee is rounded to the fen after the cap: on a few fen it may pass the cap by less than half a fen.
    assert 0 <= fee <= (amount * Decimal("0.1")).to_integral_value()


# --- rounding of bill lines ------------------------------------------------------------------------------------------

NOVEMBER = parse_period("2026-11")  # 30 days


def item(rounding="half_even", basis="per_m2", kind="property_service"):
    return SimpleNamespace(
        id="item-1", name="物业服务费", kind=kind, basis=basis, exempt_floors_max=None, rounding=rounding
    )


def unit(area="89.37", status="occupied"):
    return SimpleNamespace(
        unit_id="unit-1",
        unit_type="residential",
        floor=3,
        status=status,
        area_m2=Decimal(area),
        gross_area_m2=None,
        inner_area_m2=None,
    )


def lines(rounding, *, spans=None, discount=None, status="occupied", months_period=NOVEMBER):
    policy = SimpleNamespace(area_basis="gross", vacant_discount=discount)
    items = [(item(rounding), Decimal("2.35"), ("residential",))]
    return [line["amount_fen"] for line in _lines_for(unit(status=status), items, policy, months_period, spans, {})]


@pytest.mark.parametrize(
    ("rounding", "fen"),
    # 89.37 m² × 2.35 yuan = 210.0195 yuan.
    [("half_even", 21002), ("half_up", 21002), ("down", 21001), ("up", 21002)],
)
def test_a_line_is_rounded_to_the_fen_by_its_fee_items_rule(rounding, fen):
    assert lines(rounding) == [fen]


def test_a_quarter_is_three_months_rounded_once():
    # 210.0195 × 3 = 630.0585 yuan: rounded once on the period's amount, not once a month (630.06, not 3 × 210.02).
    assert lines("half_even", months_period=parse_period("2026-Q4")) == [63006]


def test_a_part_vacant_month_is_split_and_each_part_rounded():
    # Occupied from the 11th: 20 days at the full rate, 10 days vacant at 50 % off.
    spans = [("resident-1", date(2026, 11, 11), date.max)]
    occupied, vacant = lines("half_even", spans=spans, discount=Decimal("0.5"))
    assert occupied == 14001  # 210.0195 × 20 / 30 = 140.013
    assert vacant == 3500  # 210.0195 × 10 / 30 × 0.5 = 35.00325
    assert lines("up", spans=spans, discount=Decimal("0.5")) == [14002, 3501]


@pytest.mark.parametrize(("discount", "shown"), [("0.5000", "50"), ("0.3", "30"), ("0.125", "12.5"), ("1", "100")])
def test_a_part_vacant_line_says_its_days_and_discount_in_chinese(discount, shown):
    spans = [("resident-1", date(2026, 11, 11), date.max)]
    policy = SimpleNamespace(area_basis="gross", vacant_discount=Decimal(discount))
    items = [(item("half_even"), Decimal("2.35"), ("residential",))]
    found = [line["description"] for line in _lines_for(unit(), items, policy, NOVEMBER, spans, {})]
    assert found == [f"{item('half_even').name}（入住20天）", f"{item('half_even').name}（空置10天，减免{shown}%）"]


def test_without_a_vacancy_discount_a_vacant_unit_pays_in_full():
    assert lines("half_even", spans=[], discount=None, status="vacant") == [21002]


# --- allocation of money to what is owed ---------------------------------------------------------------------------


def test_a_payment_pays_each_bill_in_full_before_the_next():
    assert allocate(500, [300, 300, 300]) == ([300, 200, 0], 0)


def test_what_exceeds_the_bills_is_left_over():
    assert allocate(1000, [300, 200]) == ([300, 200], 500)


def test_nothing_is_paid_towards_a_bill_that_owes_nothing():
    assert allocate(100, [0, -50, 100]) == ([0, 0, 100], 0)


@settings(database=None)
@given(
    amount=st.integers(min_value=0, max_value=10**9),
    owed=st.lists(st.integers(min_value=0, max_value=10**8), max_size=20),
)
def test_allocation_moves_every_fen_once_and_never_beyond_a_debt(amount, owed):
    parts, left = allocate(amount, owed)
    assert sum(parts) + left == amount and left >= 0
    assert all(0 <= part <= debt for part, debt in zip(parts, owed, strict=True))
    # Oldest first: a later debt gets something only when every earlier one is paid in full.
    for i, part in enumerate(parts):
        if part:
            assert all(parts[j] == owed[j] for j in range(i))
    assert left == 0 or parts == owed
