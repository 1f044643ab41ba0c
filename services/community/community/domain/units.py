"""The projection of residents' units and zones (from unit.* and zone.updated) and the caller's household scope."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc
from guanjia.errors import Invalid, NotFound

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


# -- an audience of zones and/or buildings (surveys, activities) -------------------------------------------------------
# Empty lists: the whole community; zones only or buildings only: their households; both: the households in both.


def audience_where(zone_ids, building_ids) -> list:
    """The conditions on `Unit` that select an audience's households (to add to a community's units query)."""
    conditions = []
    if zone_ids:
        conditions.append(Unit.zone_id.in_(list(zone_ids)))
    if building_ids:
        conditions.append(Unit.building_id.in_(list(building_ids)))
    return conditions


def in_audience(unit: Unit, zone_ids, building_ids) -> bool:
    """Whether one household belongs to the audience — the rule of `audience_where` for a unit at hand."""
    return (not zone_ids or unit.zone_id in zone_ids) and (not building_ids or unit.building_id in building_ids)


def check_audience(session: Session, community_id: str, zone_ids, building_ids) -> None:
    """422 naming the field for a zone or building unknown in the community (another community's included)."""
    zones = set(zone_ids or [])
    if zones:
        known = session.scalars(select(Zone.id).where(Zone.community_id == community_id, Zone.id.in_(zones)))
        if zones - set(known):
            raise Invalid("zone_ids", "a zone that is not in this community")
    buildings = set(building_ids or [])
    if buildings:
        known = session.scalars(
            select(Unit.building_id).where(Unit.community_id == community_id, Unit.building_id.in_(buildings))
        )
        if buildings - set(known):
            raise Invalid("building_ids", "a building that is not in this community")


def json_audience_for(session: Session, unit_ids, zone_column, building_column):
    """A SQL condition on rows keeping an audience as JSON lists of ids (`[]`: everyone): true when one of the
    caller's units (a resident's homes) is in it — the rule of `audience_where`, for listing. The lists are matched
    as text (`"<id>"` inside them), which PostgreSQL and SQLite (the embedded mode) read alike."""
    homes = session.execute(select(Unit.zone_id, Unit.building_id).where(Unit.id.in_(list(unit_ids)))).all()

    def holds(column, item_id):
        everyone = func.coalesce(column, "[]") == "[]"
        return or_(everyone, column.contains(json.dumps(item_id), autoescape=True)) if item_id else everyone

    return or_(false(), *(and_(holds(zone_column, z), holds(building_column, b)) for z, b in homes))
