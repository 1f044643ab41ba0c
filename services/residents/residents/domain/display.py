"""Display fields of the residents service's responses: unit labels, zone names, masked resident names."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.display import Shown
from guanjia.names import staff_names
from guanjia.pii import mask_name

from ..models import Building, Resident, Unit, Zone


def unit_label(building_name: str | None, number: str) -> str:
    """`1栋` + `1-101` → `1栋1-101`, the way a butler says it on the phone."""
    return f"{building_name or ''}{number}"


def units(session: Session, source: str = "unit_id") -> Shown:
    def values(ids):
        rows = session.execute(
            select(Unit.id, Unit.number, Building.name, Zone.name)
            .join(Building, Building.id == Unit.building_id)
            .outerjoin(Zone, Zone.id == Unit.zone_id)
            .where(Unit.id.in_(ids))
        ).all()
        return {
            uid: {"label": unit_label(building, number), "building": building, "zone": zone}
            for uid, number, building, zone in rows
        }

    return Shown(source, {"unit_label": "label", "building_name": "building", "zone_name": "zone"}, values)


def zones(session: Session, source: str = "zone_id", target: str = "zone_name") -> Shown:
    def values(ids):
        return dict(session.execute(select(Zone.id, Zone.name).where(Zone.id.in_(ids))).all())

    return Shown(source, target, values)


def residents(session: Session, principal: Principal, source: str, target: str) -> Shown:
    """A resident's name as this caller may see it: in clear for the resident themself, else `张*`."""

    def values(ids):
        rows = session.execute(select(Resident.id, Resident.name).where(Resident.id.in_(ids))).all()
        own = principal.resident_id if principal.role == "resident" else None
        return {rid: name if rid == own else mask_name(name) for rid, name in rows}

    return Shown(source, target, values)


def staff(source: str, target: str) -> Shown:
    return Shown(source, target, staff_names)
