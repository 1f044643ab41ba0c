"""The projection of residents' units and zones (from unit.* and zone.updated) and the caller's household scope."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc
from guanjia.errors import NotFound

from ..models import Unit, Zone

UNIT_FIELDS = ("community_id", "building_id", "zone_id", "label")
ZONE_FIELDS = ("community_id", "name")


def _upsert(session: Session, model, key: str, fields: tuple[str, ...], data: dict, source_time: datetime) -> None:
    row = session.get(model, data[key])
    if row is None:
        session.add(model(id=data[key], source_time=source_time, **{name: data.get(name) for name in fields}))
        return
    if as_utc(row.source_time) > source_time:
        return  # an older event arriving late
    for name in fields:
        setattr(row, name, data.get(name))
    row.source_time = source_time


def upsert(session: Session, data: dict, source_time: datetime) -> None:
    _upsert(session, Unit, "unit_id", UNIT_FIELDS, data, source_time)


def upsert_zone(session: Session, data: dict, source_time: datetime) -> None:
    _upsert(session, Zone, "zone_id", ZONE_FIELDS, data, source_time)


def household_in_scope(session: Session, principal: Principal, unit_id: str) -> Unit:
    """The unit if the caller may act for that household: a resident their own, a butler their zones', community
    roles their communities'. Anything else (another community, an unknown id) is 404."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("no such household")
    if principal.role == "resident":
        allowed = unit.id in principal.units
    else:
        allowed = principal.sees_zone(unit.community_id, unit.zone_id)
    if not allowed:
        raise NotFound("no such household")
    return unit


def zone_names(session: Session, zone_ids) -> dict[str, str]:
    ids = [z for z in set(zone_ids) if z]
    if not ids:
        return {}
    return {z.id: z.name for z in session.query(Zone).filter(Zone.id.in_(ids)) if z.name}


def unit_labels(session: Session, unit_ids) -> dict[str, str]:
    """{unit id: label} for the units of one page (one query): screens show `1栋1-101`, not an id."""
    ids = [u for u in set(unit_ids) if u]
    if not ids:
        return {}
    return {u.id: u.label for u in session.query(Unit).filter(Unit.id.in_(ids)) if u.label}
