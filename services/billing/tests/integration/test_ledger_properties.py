"""Property-based tests of the ledger on real PostgreSQL: for any sequence of bills, payments, reversals, credits
and prepaid refunds, the entries sum to the balance and no fen appears or vanishes."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from billing.domain import bills, payments
from billing.domain.units import upsert_unit
from billing.models import Allocation, Bill, LedgerEntry, Payment
from guanjia.auth import Principal
from guanjia.errors import ProblemError

FEN = st.integers(min_value=1, max_value=50_000)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("bill"), FEN),
        st.tuples(st.just("pay"), FEN, st.booleans(), st.integers(0, 5) | st.none()),
        st.tuples(st.just("reverse"), st.integers(0, 5)),
        st.tuples(st.just("credit"), st.integers(0, 5), FEN),
        st.tuples(st.just("refund"), FEN),
    ),
    min_size=1,
    max_size=14,
)


def _sum(session, column, *where):
    return int(session.execute(select(func.coalesce(func.sum(column), 0)).where(*where)).scalar_one())


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_entries_sum_to_the_balance_and_no_fen_appears_or_vanishes(db, billing_settings, operations):
    community_id, unit_id = str(uuid.uuid4()), str(uuid.uuid4())
    finance = Principal(subject="cashier", role="finance", communities=(community_id,))
    with db.transaction() as session:
        upsert_unit(
            session,
            {"unit_id": unit_id, "community_id": community_id, "area_m2": Decimal("90.00")},
            datetime.now(UTC),
        )
    bill_ids, payment_ids = [], []
    for operation in operations:
        try:
            with db.transaction() as session:
                if operation[0] == "bill":
                    bill = bills.issue_charge(
                        session,
                        billing_settings,
                        community_id=community_id,
                        unit_id=unit_id,
                        kind="one_off",
                        source_key=f"one_off:{uuid.uuid4()}",
                        amount_fen=operation[1],
                        description="charge",
                        payer_id=None,
                        day=date(2026, 11, 1),
                        now=datetime.now(UTC),
                    )
                    bill_ids.append(bill.id)
                elif operation[0] == "pay":
                    _, amount, prepaid, target = operation
                    data = {"unit_id": unit_id, "amount": amount, "method": "cash", "prepaid": prepaid}
                    if target is not None and target < len(bill_ids):
                        data["bill_ids"] = [bill_ids[target]]
                    payment_ids.append(
                        payments.record_payment(session, billing_settings, finance, data, datetime.now(UTC)).id
                    )
                elif operation[0] == "reverse" and operation[1] < len(payment_ids):
                    payments.reverse_payment(
                        session,
                        billing_settings,
                        finance,
                        payment_ids[operation[1]],
                        {"reason_code": "entry_error"},
                        datetime.now(UTC),
                    )
                elif operation[0] == "credit" and operation[1] < len(bill_ids):
                    bills.credit_bill(
                        session, finance, bill_ids[operation[1]], operation[2], "correction", datetime.now(UTC)
                    )
                elif operation[0] == "refund":
                    payments.refund_prepaid(
                        session, finance, unit_id, {"amount": operation[1], "reason": "moved out"}, datetime.now(UTC)
                    )
        except ProblemError:
            pass  # refused (over-payment without intent, nothing left to pay, reversed twice): nothing written

    with db.transaction() as session:
        ledger = _sum(session, LedgerEntry.amount_fen, LedgerEntry.unit_id == unit_id)
        outstanding = _sum(session, Bill.amount_fen - Bill.credited_fen - Bill.paid_fen, Bill.unit_id == unit_id)
        prepaid = _sum(session, Allocation.amount_fen, Allocation.unit_id == unit_id, Allocation.bill_id.is_(None))
        assert ledger == outstanding - prepaid
        assert prepaid >= 0
        for bill in session.execute(select(Bill).where(Bill.unit_id == unit_id)).scalars():
            assert 0 <= bill.paid_fen <= bill.amount_fen - bill.credited_fen
            assert bill.paid_fen == _sum(session, Allocation.amount_fen, Allocation.bill_id == bill.id)
        money_in = 0
        for payment in session.execute(select(Payment).where(Payment.unit_id == unit_id)).scalars():
            held = _sum(session, Allocation.amount_fen, Allocation.payment_id == payment.id)
            refunded = -_sum(
                session, Allocation.amount_fen, Allocation.payment_id == payment.id, Allocation.kind == "refund"
            )
            assert 0 <= refunded <= payment.amount_fen
            assert held == (payment.amount_fen - refunded if payment.status == "received" else 0)
            money_in += held
        # Every fen received and neither reversed nor refunded sits on a bill or in the prepaid balance.
        assert money_in == _sum(session, Bill.paid_fen, Bill.unit_id == unit_id) + prepaid
        numbers = sorted(
            session.execute(select(Payment.receipt_seq).where(Payment.community_id == community_id)).scalars()
        )
        assert numbers == list(range(1, len(numbers) + 1))  # refused payments left no gap
