"""Charges that other services' events cause: renovation deposits and fines, deposit refunds, paid repairs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanjia import db as dbmod
from guanjia import outbox as outboxmod
from guanjia.money import fen_to_str, to_fen

from ..events import DEPOSIT_REFUNDED
from ..models import Allocation, Bill, Deposit, LedgerEntry, outbox
from .bills import issue_charge
from .common import policy_for
from .payments import _allocation


def _local_day(settings, when: datetime):
    return dbmod.as_utc(when).astimezone(ZoneInfo(settings.timezone)).date()


def renovation_approved(session: Session, settings, data: dict, now: datetime) -> Bill | None:
    """The deposit falls due when the community's policy sets one."""
    policy = policy_for(session, data["community_id"], now)
    if not policy.renovation_deposit_fen:
        return None
    bill = issue_charge(
        session,
        settings,
        community_id=data["community_id"],
        unit_id=data["unit_id"],
        kind="deposit",
        source_key=f"renovation:{data['renovation_id']}:deposit",
        amount_fen=policy.renovation_deposit_fen,
        description="Renovation deposit",
        payer_id=data.get("applicant_id"),
        day=_local_day(settings, data["approved_at"]),
        due_days=0,
        renovation_id=data["renovation_id"],
        now=now,
    )
    if bill is not None:
        session.add(
            Deposit(
                id=dbmod.new_id(),
                renovation_id=data["renovation_id"],
                community_id=data["community_id"],
                unit_id=data["unit_id"],
                bill_id=bill.id,
                applicant_id=data.get("applicant_id"),
                status="due",
                refunded_fen=0,
                fines_deducted_fen=0,
            )
        )
    return bill


def deposit_state(session: Session, community_id: str, renovation_id: str, now: datetime) -> dict:
    """Whether a renovation's deposit is paid, for residents' permit check (read only: never creates a bill)."""
    found = session.execute(
        select(Deposit).where(Deposit.renovation_id == renovation_id, Deposit.community_id == community_id)
    ).scalar_one_or_none()
    state = {"renovation_id": renovation_id, "bill_id": None, "amount_fen": None, "outstanding_fen": None}
    if found is None:
        # No deposit yet: either the policy sets none, or renovation.approved has not reached billing yet.
        required = policy_for(session, community_id, now).renovation_deposit_fen
        return {**state, "status": "not_billed" if required else "not_required"}
    bill = session.get(Bill, found.bill_id)
    outstanding = max(bill.outstanding_fen, 0)
    return {
        **state,
        "status": "outstanding" if outstanding else "paid",
        "bill_id": bill.id,
        "amount_fen": bill.amount_fen,
        "outstanding_fen": outstanding,
    }


def renovation_violation(session: Session, settings, data: dict, now: datetime) -> Bill | None:
    """A fine where the community's policy sets one for the severity (none by default)."""
    policy = policy_for(session, data["community_id"], now)
    amount = policy.fine_serious_fen if data["severity"] == "serious" else policy.fine_minor_fen
    if not amount:
        return None
    return issue_charge(
        session,
        settings,
        community_id=data["community_id"],
        unit_id=data["unit_id"],
        kind="fine",
        source_key=f"violation:{data['violation_id']}",
        amount_fen=amount,
        description=f"Renovation fine ({data['severity']})",
        payer_id=data.get("applicant_id"),
        day=_local_day(settings, data["occurred_at"]),
        renovation_id=data["renovation_id"],
        now=now,
    )


def renovation_completed(session: Session, settings, data: dict, now: datetime) -> Deposit | None:
    """A passed completion refunds the paid deposit less the renovation's unpaid fines (which the deducted money
    pays); the deposit charge is credited. Entries: credit −D, transfer of F to the fines, refund +(P−F)."""
    if not data["passed"]:
        return None  # the deposit stays held until a completion that passes
    query = select(Deposit).where(Deposit.renovation_id == data["renovation_id"])
    if dbmod.is_postgres(session):
        query = query.with_for_update()
    deposit = session.execute(query).scalar_one_or_none()
    if deposit is None or deposit.status != "due":
        return None
    bill = session.execute(
        select(Bill).where(Bill.id == deposit.bill_id).execution_options(populate_existing=True)
    ).scalar_one()
    # Credit the deposit charge: it was never a fee.
    credit = bill.amount_fen - bill.credited_fen
    bill.credited_fen += credit
    _entry(session, bill, "credit", -credit, "renovation completed: deposit released", now)
    # The deposit's money by payment (what each payment has on the deposit bill).
    held = [
        [payment_id, int(amount)]
        for payment_id, amount in session.execute(
            select(Allocation.payment_id, func.sum(Allocation.amount_fen))
            .where(Allocation.bill_id == bill.id)
            .group_by(Allocation.payment_id)
            .order_by(Allocation.payment_id)
        ).all()
        if amount > 0
    ]
    fines = session.execute(
        select(Bill)
        .where(
            Bill.renovation_id == deposit.renovation_id,
            Bill.kind == "fine",
            Bill.amount_fen > Bill.credited_fen + Bill.paid_fen,
        )
        .order_by(Bill.due_date, Bill.id)
        .execution_options(populate_existing=True)
    ).scalars()
    deducted = 0
    for fine in fines:
        for entry in held:
            part = min(entry[1], fine.outstanding_fen)
            if part <= 0:
                continue
            entry[1] -= part
            bill.paid_fen -= part
            fine.paid_fen += part
            session.add(_allocation(entry[0], bill.unit_id, bill, -part, "transfer", now))
            session.add(_allocation(entry[0], bill.unit_id, fine, part, "transfer", now))
            deducted += part
    refunded = 0
    for payment_id, amount in held:
        if amount > 0:
            bill.paid_fen -= amount
            session.add(_allocation(payment_id, bill.unit_id, bill, -amount, "refund", now))
            refunded += amount
    if refunded:
        _entry(session, bill, "refund", refunded, "renovation deposit refunded", now)
    deposit.status = "refunded" if refunded or deducted else "closed"
    deposit.refunded_fen = refunded
    deposit.fines_deducted_fen = deducted
    deposit.refunded_at = now
    session.flush()
    if refunded or deducted:
        outboxmod.emit(
            session,
            outbox,
            settings,
            type=DEPOSIT_REFUNDED,
            subject=f"deposit/{deposit.id}",
            community=deposit.community_id,
            data={
                "deposit_id": deposit.id,
                "renovation_id": deposit.renovation_id,
                "unit_id": deposit.unit_id,
                "community_id": deposit.community_id,
                "amount": fen_to_str(refunded),
                "fines_deducted": fen_to_str(deducted),
                "refunded_at": now.isoformat(),
            },
            time=now,
        )
    return deposit


def _entry(session: Session, bill: Bill, kind: str, amount: int, reason: str, now: datetime) -> None:
    session.add(
        LedgerEntry(
            id=dbmod.new_id(),
            community_id=bill.community_id,
            unit_id=bill.unit_id,
            kind=kind,
            amount_fen=amount,
            bill_id=bill.id,
            reason=reason,
            created_at=now,
        )
    )


def ticket_resolved(session: Session, settings, data: dict, now: datetime) -> Bill | None:
    """A paid repair whose charge the resident accepted becomes a bill; free or refused repairs bill nothing."""
    if not (data["paid"] and data["charge_accepted"] and data.get("charge") and data.get("unit_id")):
        return None
    label = f"Paid repair {data['number']}" if data.get("number") else "Paid repair"
    return _event_charge(
        session,
        settings,
        data,
        "repair",
        f"ticket:{data['ticket_id']}",
        data["charge"],
        label,
        data["resolved_at"],
        now,
    )


def service_order_completed(session: Session, settings, data: dict, now: datetime) -> Bill | None:
    """A delivered catalogue service (特约服务) with a price becomes a bill named after the item; free ones bill
    nothing."""
    return _event_charge(
        session,
        settings,
        {**data, "reporter_id": None},
        "one_off",
        f"service_order:{data['order_id']}",
        data["amount"],
        data["item_name"],
        data["completed_at"],
        now,
    )


def _event_charge(session, settings, data, kind, source_key, amount, description, at, now) -> Bill | None:
    """One bill for the unit from another service's event (once per source: a replay bills nothing)."""
    amount = to_fen(amount)
    if amount <= 0:
        return None
    return issue_charge(
        session,
        settings,
        community_id=data["community_id"],
        unit_id=data["unit_id"],
        kind=kind,
        source_key=source_key,
        amount_fen=amount,
        description=description,
        payer_id=data.get("reporter_id"),
        day=_local_day(settings, at),
        now=now,
    )
