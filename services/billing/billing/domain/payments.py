"""Payments: allocation to bills (oldest first unless named), prepaid balance, receipts without gaps, reversals,
and confirmed online payments posted by a payment provider."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import false, func, select, update
from sqlalchemy.orm import Session

from guanjia import db as dbmod
from guanjia import outbox as outboxmod
from guanjia.auth import Principal
from guanjia.errors import Conflict, Invalid, NotFound
from guanjia.money import fen_in_capitals, fen_to_str

from ..events import PAYMENT_RECEIVED, PAYMENT_REVERSED
from ..models import Allocation, Bill, BillLine, FeeItem, LedgerEntry, Payment, ReceiptCounter, outbox
from .common import MONEY_ROLES, require
from .units import check_payer, find_unit, lives_in

CASH_BOOK_READERS = ("finance", "senior_butler", "cs_manager")


def record_payment(
    session: Session,
    settings,
    principal: Principal,
    data: dict,
    now: datetime,
    fetch_unit=None,
    fetch_resident=None,
    cashier_name: str | None = None,
) -> Payment:
    """`cashier_name`: the recording staff member's name now, kept on the payment for its receipts."""
    require(principal, *MONEY_ROLES)
    unit = find_unit(session, data["unit_id"], fetch_unit)
    if unit is None or not principal.sees_community(unit.community_id):
        raise Invalid("unit_id", "no such unit in your communities")
    check_payer(session, data.get("payer_id"), unit, fetch_resident)
    return _receive(session, settings, unit, data, recorded_by=principal.subject, now=now, cashier_name=cashier_name)


def _receive(
    session: Session, settings, unit, data: dict, *, recorded_by: str, now: datetime, cashier_name: str | None = None
) -> Payment:
    amount = data["amount"]
    bills = _bills_to_pay(session, unit, data.get("bill_ids"))
    parts, left = allocate(amount, [bill.outstanding_fen for bill in bills])
    plan = [(bill, part) for bill, part in zip(bills, parts, strict=True) if part > 0]
    if left and not data.get("prepaid"):
        owed = amount - left
        raise Invalid(
            "amount",
            f"exceeds the {fen_to_str(owed)} outstanding on the bills paid; send prepaid: true to keep the rest "
            "as prepaid balance",
        )
    seq = next_receipt_number(session, unit.community_id)
    payment = Payment(
        id=dbmod.new_id(),
        community_id=unit.community_id,
        unit_id=unit.unit_id,
        amount_fen=amount,
        method=data["method"],
        status="received",
        receipt_seq=seq,
        receipt_number=f"R{seq:08d}",
        received_at=data.get("received_at") or now,
        payer_id=data.get("payer_id"),
        provider=data.get("provider"),
        provider_reference=data.get("provider_reference"),
        reference=data.get("reference"),
        recorded_by=recorded_by,
        cashier_name=cashier_name,
        note=data.get("note"),
    )
    session.add(payment)
    for bill, part in plan:
        bill.paid_fen += part
        session.add(_allocation(payment.id, unit.unit_id, bill, part, "payment", now))
    if left:
        session.add(_allocation(payment.id, unit.unit_id, None, left, "prepaid", now))
    session.add(
        LedgerEntry(
            id=dbmod.new_id(),
            community_id=unit.community_id,
            unit_id=unit.unit_id,
            kind="payment",
            amount_fen=-amount,
            payment_id=payment.id,
            created_at=now,
        )
    )
    session.flush()
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=PAYMENT_RECEIVED,
        subject=f"payment/{payment.id}",
        community=unit.community_id,
        data={
            "payment_id": payment.id,
            "community_id": unit.community_id,
            "unit_id": unit.unit_id,
            "amount": fen_to_str(amount),
            "method": payment.method,
            "receipt_number": payment.receipt_number,
            "received_at": dbmod.as_utc(payment.received_at).isoformat(),
            "payer_id": payment.payer_id,
        },
        time=now,
    )
    return payment


def allocate(amount: int, owed: list[int]) -> tuple[list[int], int]:
    """How `amount` fen pays debts owing `owed` fen, in the order given (bills named, else oldest first; prepaid
    money, oldest payment first): each in full before the next, none beyond what it owes. → the part of each, and
    what is left over (prepaid, or refused without prepaid: true)."""
    parts, left = [], amount
    for debt in owed:
        part = max(0, min(left, debt))
        parts.append(part)
        left -= part
    return parts, left


def _bills_to_pay(session: Session, unit, bill_ids: list[str] | None) -> list[Bill]:
    """The named bills in the order named, or the unit's open bills oldest first (deposits only when named)."""
    query = select(Bill).execution_options(populate_existing=True)
    if bill_ids:
        if len(set(bill_ids)) != len(bill_ids):
            raise Invalid("bill_ids", "a bill is named twice")
        query = query.where(Bill.id.in_(bill_ids))
    else:
        query = query.where(
            Bill.unit_id == unit.unit_id, Bill.kind != "deposit", Bill.amount_fen > Bill.credited_fen + Bill.paid_fen
        ).order_by(Bill.due_date, Bill.issued_at, Bill.id)
    if dbmod.is_postgres(session):
        query = query.with_for_update()
    found = list(session.execute(query).scalars())
    if not bill_ids:
        return found
    by_id = {bill.id: bill for bill in found}
    for bill_id in bill_ids:
        bill = by_id.get(bill_id)
        # Another unit's or another community's bill is named like a missing one: nothing about it is revealed.
        if bill is None or bill.unit_id != unit.unit_id:
            raise Invalid("bill_ids", f"{bill_id} is not a bill of this unit")
        if bill.outstanding_fen <= 0:
            raise Invalid("bill_ids", f"{bill_id} has nothing left to pay")
    return [by_id[bill_id] for bill_id in bill_ids]


def _allocation(payment_id, unit_id, bill: Bill | None, amount, kind, now) -> Allocation:
    """An allocation of `amount` of a payment to `bill` (None: the unit's prepaid balance). The bill's period end is
    kept beside it: the collection-rate report finds the older bills paid into since a date from this table alone."""
    return Allocation(
        id=str(uuid.uuid4()),
        payment_id=payment_id,
        unit_id=unit_id,
        bill_id=bill.id if bill is not None else None,
        bill_period_end=bill.period_end if bill is not None else None,
        amount_fen=amount,
        kind=kind,
        created_at=now,
    )


def next_receipt_number(session: Session, community_id: str) -> int:
    """The community's next receipt number. The counter row stays locked until the payment commits, so a
    rolled-back payment gives its number back and the numbers have no gaps."""
    dbmod.insert_if_absent(
        session,
        ReceiptCounter,
        {"community_id": community_id, "last_number": 0},
        index_elements=[ReceiptCounter.community_id],
    )
    return session.execute(
        update(ReceiptCounter)
        .where(ReceiptCounter.community_id == community_id)
        .values(last_number=ReceiptCounter.last_number + 1)
        .returning(ReceiptCounter.last_number)
    ).scalar_one()


def _prepaid_pots(session: Session, unit_ids: set[str]) -> dict[str, list[list]]:
    """unit → [[first allocated, payment id, prepaid fen left]] oldest first. The payments holding prepaid money
    are locked first, so two transactions never spend the same prepaid fen."""
    query = (
        select(
            Allocation.unit_id, Allocation.payment_id, func.sum(Allocation.amount_fen), func.min(Allocation.created_at)
        )
        .where(Allocation.bill_id.is_(None))
        .group_by(Allocation.unit_id, Allocation.payment_id)
        .having(func.sum(Allocation.amount_fen) > 0)
    )
    if len(unit_ids) <= 1000:
        query = query.where(Allocation.unit_id.in_(unit_ids))
    rows = [row for row in session.execute(query).all() if row[0] in unit_ids]
    if rows and dbmod.is_postgres(session):
        ids = sorted({row[1] for row in rows})
        session.execute(select(Payment.id).where(Payment.id.in_(ids)).order_by(Payment.id).with_for_update()).all()
        rows = [row for row in session.execute(query).all() if row[0] in unit_ids]  # as of the lock
    pots = defaultdict(list)
    for unit_id, payment_id, amount, first in rows:
        pots[unit_id].append([str(first), payment_id, int(amount)])
    for pot in pots.values():
        pot.sort()
    return pots


def apply_prepaid(session: Session, unit_ids: set[str], now: datetime) -> int:
    """Use the units' prepaid money (预存) for their open bills, oldest bill and oldest payment first."""
    if not unit_ids:
        return 0
    moved = 0
    for unit_id, pot in _prepaid_pots(session, unit_ids).items():
        query = (
            select(Bill)
            .where(Bill.unit_id == unit_id, Bill.kind != "deposit", Bill.amount_fen > Bill.credited_fen + Bill.paid_fen)
            .order_by(Bill.due_date, Bill.issued_at, Bill.id)
            .execution_options(populate_existing=True)
        )
        if dbmod.is_postgres(session):
            query = query.with_for_update()
        for bill in session.execute(query).scalars():
            # The bill is the amount to cover here, the pot's payments what covers it (the same rule reversed).
            parts, _unpaid = allocate(bill.outstanding_fen, [entry[2] for entry in pot])
            for entry, part in zip(pot, parts, strict=True):
                if part <= 0:
                    continue
                entry[2] -= part
                bill.paid_fen += part
                session.add(_allocation(entry[1], unit_id, None, -part, "prepaid_use", now))
                session.add(_allocation(entry[1], unit_id, bill, part, "prepaid_use", now))
                moved += part
    session.flush()
    return moved


def refund_prepaid(session: Session, principal: Principal, unit_id: str, data: dict, now: datetime) -> dict:
    """Pay prepaid money back to the resident (moving out, paid twice): refund entries, oldest payment first."""
    require(principal, *MONEY_ROLES)
    unit = find_unit(session, unit_id, None)
    if unit is None or not principal.sees_community(unit.community_id):
        raise NotFound(f"unit {unit_id} not found")
    pot = _prepaid_pots(session, {unit_id}).get(unit_id, [])
    available = sum(entry[2] for entry in pot)
    amount = data["amount"]
    if amount > available:
        raise Invalid("amount", f"more than the {fen_to_str(available)} prepaid balance")
    parts, _left = allocate(amount, [held for _, _, held in pot])
    for (_, payment_id, _held), part in zip(pot, parts, strict=True):
        if part > 0:
            session.add(_allocation(payment_id, unit_id, None, -part, "refund", now))
    session.add(
        LedgerEntry(
            id=dbmod.new_id(),
            community_id=unit.community_id,
            unit_id=unit_id,
            kind="refund",
            amount_fen=amount,
            reason=data["reason"],
            created_at=now,
        )
    )
    session.flush()
    return {"unit_id": unit_id, "refunded": amount, "prepaid": available - amount}


def reverse_payment(
    session: Session, settings, principal: Principal, payment_id: str, data: dict, now: datetime
) -> Payment:
    """Undo a payment with a reason: every bill it paid is owed again and its prepaid part is taken back (less
    what was refunded from it already). The payment and its allocations stay; the reversal is new rows."""
    require(principal, *MONEY_ROLES)
    query = select(Payment).where(Payment.id == payment_id).execution_options(populate_existing=True)
    if dbmod.is_postgres(session):
        query = query.with_for_update()
    payment = session.execute(query).scalar_one_or_none()
    if payment is None or not principal.sees_community(payment.community_id):
        raise NotFound(f"payment {payment_id} not found")
    if payment.status == "reversed":
        raise Conflict(f"payment {payment_id} is reversed already")
    held = session.execute(
        select(Allocation.bill_id, func.sum(Allocation.amount_fen))
        .where(Allocation.payment_id == payment.id)
        .group_by(Allocation.bill_id)
    ).all()
    # What the payment still holds: its amount less any prepaid money refunded from it already.
    reversed_fen = sum(int(amount) for _, amount in held)
    if reversed_fen <= 0:
        raise Conflict(f"payment {payment_id} holds nothing to reverse (its money was refunded)")
    for bill_id, amount in held:
        amount = int(amount)
        if amount == 0:
            continue
        bill = None
        if bill_id is not None:
            bill = session.execute(
                select(Bill).where(Bill.id == bill_id).with_for_update()
                if dbmod.is_postgres(session)
                else select(Bill).where(Bill.id == bill_id)
            ).scalar_one()
            bill.paid_fen -= amount
        session.add(_allocation(payment.id, payment.unit_id, bill, -amount, "reversal", now))
    payment.status = "reversed"
    payment.reversed_at = now
    payment.reversal_reason = data["reason_code"]
    session.add(
        LedgerEntry(
            id=dbmod.new_id(),
            community_id=payment.community_id,
            unit_id=payment.unit_id,
            kind="reversal",
            amount_fen=reversed_fen,
            payment_id=payment.id,
            reason=data["reason_code"],
            created_at=now,
        )
    )
    session.flush()
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=PAYMENT_REVERSED,
        subject=f"payment/{payment.id}",
        community=payment.community_id,
        data={
            "payment_id": payment.id,
            "community_id": payment.community_id,
            "unit_id": payment.unit_id,
            "amount": fen_to_str(reversed_fen),
            "reversed_at": now.isoformat(),
            "reason_code": data["reason_code"],
        },
        time=now,
    )
    return payment


def provider_payment(session: Session, settings, data: dict, now: datetime) -> tuple[Payment, bool]:
    """A confirmed online payment posted by the provider: recorded once per (provider, reference); money beyond
    what the unit owes is kept as prepaid (the resident has paid it, it cannot be refused)."""
    existing = session.execute(
        select(Payment).where(Payment.provider == data["provider"], Payment.provider_reference == data["reference"])
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    unit = find_unit(session, data["unit_id"], None)
    if unit is None or unit.community_id != data["community_id"]:
        raise Invalid("unit_id", "no such unit in this community")
    payload = {
        "amount": data["amount"],
        "method": data["method"],
        "bill_ids": data.get("bill_ids"),
        "prepaid": True,
        "received_at": data["paid_at"],
        "payer_id": data.get("payer_id"),
        "provider": data["provider"],
        "provider_reference": data["reference"],
    }
    return _receive(session, settings, unit, payload, recorded_by=f"provider:{data['provider']}", now=now), True


# --- reading -------------------------------------------------------------------------------------------------------


def scope_payments(query, principal: Principal):
    """Residents their own units' payments; finance and managers their communities. Butlers see bills and
    arrears, not the cash book."""
    if principal.instance_wide:
        return query
    if principal.role == "resident":
        return query.where(lives_in(principal, Payment.unit_id, Payment.received_at))
    if principal.role not in (*CASH_BOOK_READERS, "integrator") or not principal.communities:
        # An integrator's key reads the cash book's facts (amounts, methods, times) of its communities.
        return query.where(false())
    return query.where(Payment.community_id.in_(principal.communities))


def get_payment(session: Session, principal: Principal, payment_id: str) -> Payment:
    payment = session.execute(
        scope_payments(select(Payment).where(Payment.id == payment_id), principal)
    ).scalar_one_or_none()
    if payment is None:
        raise NotFound(f"payment {payment_id} not found")
    return payment


def list_payments(principal: Principal, filters: dict):
    query = scope_payments(select(Payment), principal).order_by(Payment.received_at.desc(), Payment.id)
    for name in ("community_id", "unit_id", "method", "status"):
        if filters.get(name):
            query = query.where(getattr(Payment, name) == filters[name])
    return query


def receipt(session: Session, principal: Principal, payment_id: str, unit_lookup) -> dict:
    """What the printed receipt shows: number, payer unit, amount (in figures and capitals), method, cashier, and
    what the money paid — each bill with its period and its fee items' names."""
    payment = get_payment(session, principal, payment_id)
    rows = session.execute(
        select(Allocation.bill_id, func.sum(Allocation.amount_fen))
        .where(Allocation.payment_id == payment.id, Allocation.kind.in_(("payment", "prepaid")))
        .group_by(Allocation.bill_id)
    ).all()
    bill_ids = [r[0] for r in rows if r[0]]
    bills = {bill.id: bill for bill in session.execute(select(Bill).where(Bill.id.in_(bill_ids))).scalars()}
    lines = defaultdict(list)
    for line, item_name in session.execute(
        select(BillLine, FeeItem.name)
        .outerjoin(FeeItem, FeeItem.id == BillLine.fee_item_id)
        .where(BillLine.bill_id.in_(bill_ids))
        .order_by(BillLine.bill_id, BillLine.id)
    ).all():
        lines[line.bill_id].append({"description": item_name or line.description, "amount": line.amount_fen})
    items = []
    for bill_id, amount in sorted(rows, key=lambda r: (r[0] is None, bills[r[0]].due_date if r[0] else None)):
        bill = bills.get(bill_id)
        names = list(dict.fromkeys(line["description"] for line in lines.get(bill_id, [])))
        items.append(
            {
                "bill_id": bill_id,
                "description": (bill.description or "、".join(names) or bill.kind) if bill else "预存款",
                "period": bill.period if bill else None,
                "amount": int(amount),
                "lines": lines.get(bill_id, []),
            }
        )
    unit = unit_lookup(payment.unit_id)
    return {
        "receipt_number": payment.receipt_number,
        "payment_id": payment.id,
        "community_id": payment.community_id,
        "unit_id": payment.unit_id,
        "unit_number": unit.number if unit else None,
        "unit_label": (unit.label or unit.number) if unit else None,
        "amount": payment.amount_fen,
        "amount_in_words": fen_in_capitals(payment.amount_fen),
        "method": payment.method,
        "reference": payment.reference or payment.provider_reference,
        "received_at": payment.received_at,
        "recorded_by": payment.recorded_by,
        "cashier_name": payment.cashier_name,
        "status": payment.status,
        "reversed_at": payment.reversed_at,
        "reversal_reason": payment.reversal_reason,
        "items": items,
    }
