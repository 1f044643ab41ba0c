"""Display fields of the billing service's responses: unit labels and zone names from its projections, staff names."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.display import Shown, annotate
from guanjia.names import staff_names

from ..models import BillingUnit, BillingZone


def _labels(session: Session, ids) -> dict:
    rows = session.execute(
        select(BillingUnit.unit_id, BillingUnit.label, BillingUnit.number).where(BillingUnit.unit_id.in_(ids))
    ).all()
    return {uid: label or number for uid, label, number in rows}  # a bulk-imported unit has no label: its number


def _zones(session: Session, ids) -> dict:
    return dict(
        session.execute(select(BillingZone.zone_id, BillingZone.name).where(BillingZone.zone_id.in_(ids))).all()
    )


def units(session: Session, result):
    """Unit label and zone name on each row with unit_id / zone_id (bills, billing units)."""
    return annotate(
        result,
        [
            Shown("unit_id", "unit_label", lambda ids: _labels(session, ids)),
            Shown("zone_id", "zone_name", lambda ids: _zones(session, ids)),
        ],
    )


def payments(session: Session, result):
    """Unit label and the cashier's name on each payment: the one kept when it was taken, else today's."""
    return annotate(
        result,
        [
            Shown("unit_id", "unit_label", lambda ids: _labels(session, ids)),
            Shown("recorded_by", "recorded_by_name", staff_names, kept="cashier_name"),
        ],
    )
