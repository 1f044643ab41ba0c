"""Events the billing service handles: tolerant payload schemas (payloads.py) and the HANDLERS dict."""

from __future__ import annotations

from sqlalchemy.orm import Session

from guanjia.db import parse_time

from .domain import charges, units
from .payloads import (
    RenovationApproved,
    RenovationCompleted,
    RenovationViolation,
    ResidentMovedIn,
    ResidentMovedOut,
    ServiceOrderCompleted,
    TicketResolved,
    UnitChanged,
    ZoneUpdated,
)

__all__ = ["HANDLERS", "SCHEMAS", "UnitChanged"]


def on_unit_changed(context, session: Session, event: dict) -> None:
    units.upsert_unit(session, UnitChanged().load(event["data"]), parse_time(event["time"]))


def on_zone_updated(context, session: Session, event: dict) -> None:
    units.upsert_zone(session, ZoneUpdated().load(event["data"]), parse_time(event["time"]))


def on_moved_in(context, session: Session, event: dict) -> None:
    data = ResidentMovedIn().load(event["data"])
    units.record_move(session, data, moved_in_at=data["moved_in_at"])


def on_moved_out(context, session: Session, event: dict) -> None:
    data = ResidentMovedOut().load(event["data"])
    units.record_move(session, data, moved_out_at=data["moved_out_at"])


def on_renovation_approved(context, session: Session, event: dict) -> None:
    charges.renovation_approved(session, context.settings, RenovationApproved().load(event["data"]), context.now())


def on_renovation_violation(context, session: Session, event: dict) -> None:
    charges.renovation_violation(session, context.settings, RenovationViolation().load(event["data"]), context.now())


def on_renovation_completed(context, session: Session, event: dict) -> None:
    charges.renovation_completed(session, context.settings, RenovationCompleted().load(event["data"]), context.now())


def on_ticket_resolved(context, session: Session, event: dict) -> None:
    charges.ticket_resolved(session, context.settings, TicketResolved().load(event["data"]), context.now())


def on_service_order_completed(context, session: Session, event: dict) -> None:
    charges.service_order_completed(
        session, context.settings, ServiceOrderCompleted().load(event["data"]), context.now()
    )


# The payload schema of every consumed type (checked against the producers' documents in tests/contract).
SCHEMAS = {
    "unit.created": UnitChanged,
    "unit.updated": UnitChanged,
    "zone.updated": ZoneUpdated,
    "resident.moved_in": ResidentMovedIn,
    "resident.moved_out": ResidentMovedOut,
    "renovation.approved": RenovationApproved,
    "renovation.violation": RenovationViolation,
    "renovation.completed": RenovationCompleted,
    "ticket.resolved": TicketResolved,
    "service_order.completed": ServiceOrderCompleted,
}

HANDLERS = {
    "unit.created": on_unit_changed,
    "unit.updated": on_unit_changed,
    "zone.updated": on_zone_updated,
    "resident.moved_in": on_moved_in,
    "resident.moved_out": on_moved_out,
    "renovation.approved": on_renovation_approved,
    "renovation.violation": on_renovation_violation,
    "renovation.completed": on_renovation_completed,
    "ticket.resolved": on_ticket_resolved,
    "service_order.completed": on_service_order_completed,
}
