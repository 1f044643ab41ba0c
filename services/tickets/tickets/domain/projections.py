"""What tickets keeps of other services' data (units, zones, staff absences), fed by their events."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from guanjia.db import as_utc, insert_if_absent, parse_time

from ..models import Absence, Resident, Ticket, Unit, Zone
from . import people
from .common import OPEN_STATUSES


def upsert_unit(session: Session, data: dict, source_time: datetime) -> None:
    unit = session.get(Unit, data["unit_id"])
    if unit is None:
        session.add(
            Unit(
                id=data["unit_id"],
                community_id=data["community_id"],
                building_id=data.get("building_id"),
                number=data.get("number"),
                zone_id=data.get("zone_id"),
                label=data.get("label"),
                source_time=source_time,
            )
        )
        return
    if as_utc(unit.source_time) > source_time:
        return  # an older event arriving late
    if unit.zone_id != data.get("zone_id"):
        # Open tickets follow their unit into its new zone (its butlers see them; patrol coverage stays apart).
        session.execute(
            update(Ticket)
            .where(Ticket.unit_id == unit.id, Ticket.status.in_((*OPEN_STATUSES, "resolved")))
            .values(zone_id=data.get("zone_id"))
        )
    unit.community_id = data["community_id"]
    unit.building_id = data.get("building_id")
    unit.number = data.get("number")
    unit.zone_id = data.get("zone_id")
    unit.label = data.get("label")
    unit.source_time = source_time


def upsert_zone(session: Session, data: dict, source_time: datetime) -> None:
    zone = session.get(Zone, data["zone_id"])
    if zone is None:
        session.add(
            Zone(
                id=data["zone_id"],
                community_id=data["community_id"],
                name=data.get("name"),
                butler_ids=json.dumps(list(data.get("butler_ids") or [])),
                first_seen_at=source_time,
                source_time=source_time,
            )
        )
        return
    if as_utc(zone.source_time) > source_time:
        return
    zone.community_id = data["community_id"]
    zone.name = data.get("name")
    zone.butler_ids = json.dumps(list(data.get("butler_ids") or []))
    zone.source_time = source_time


def find_unit(session: Session, unit_id: str, fetch_unit) -> Unit | None:
    """The unit from the projection; on a miss ask residents (it may have been created a moment ago)."""
    unit = session.get(Unit, unit_id)
    if unit is not None:
        return unit
    fetched = fetch_unit(unit_id)
    if fetched is None:
        return None
    upsert_unit(
        session,
        {
            "unit_id": fetched["id"],
            "community_id": fetched["community_id"],
            "building_id": fetched.get("building_id"),
            "number": fetched.get("number"),
            "zone_id": fetched.get("zone_id"),
            "label": fetched.get("unit_label"),
        },
        parse_time(fetched.get("updated_at") or "2000-01-01T00:00:00Z"),
    )
    session.flush()
    return session.get(Unit, unit_id)


def upsert_resident(session: Session, data: dict, source_time: datetime) -> None:
    """resident.* (or residents' own answer) in any order: a state older than the one kept changes nothing. Race
    free: two requests remembering the same answer, or a request and the consumer, never collide."""
    values = {
        "community_id": data["community_id"],
        "unit_id": data["unit_id"],
        "status": data["status"],
        "source_time": source_time,
    }
    if insert_if_absent(session, Resident, {"id": data["resident_id"], **values}):
        return
    session.execute(
        update(Resident)
        .where(Resident.id == data["resident_id"], Resident.source_time <= source_time)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


_UNREAD = object()


def check_reporter(
    session: Session, directory, reporter_id: str, community_id: str, unit_id: str | None, known=_UNREAD
) -> None:
    """The reporter is a current resident of the ticket's unit (a public-area ticket: of its community).

    The projection answers when it says current (`known`: its row as the caller read it, None when absent).
    Anything else — a resident not heard of yet, moved out, of another unit — is asked of residents, so a refusal
    is always residents' own; its answer is kept for the next ticket. A move-out is heard by the bus: until
    tickets' consumer applied it, the projection still says current (as the unit projection follows a unit).
    """
    if known is _UNREAD:
        row = session.get(Resident, reporter_id)
        known = (
            None if row is None else {"community_id": row.community_id, "unit_id": row.unit_id, "status": row.status}
        )
    if known is not None and people.is_current(known, community_id, unit_id):
        return
    resident = people.check_reporter(directory, reporter_id, community_id, unit_id)
    upsert_resident(
        session,
        {**resident, "resident_id": resident["id"]},
        parse_time(resident.get("updated_at") or resident["created_at"]),
    )


def upsert_absence(session: Session, data: dict, ended_at: datetime | None = None) -> None:
    """staff.absence_started/_ended in any order: the row follows the payload; an end, once heard, stays."""
    absence = session.get(Absence, data["absence_id"])
    if absence is None:
        absence = Absence(absence_id=data["absence_id"])
        session.add(absence)
    absence.community_id, absence.butler_id, absence.stand_in_id = (
        data["community_id"],
        data["user_id"],
        data["stand_in_id"],
    )
    absence.starts_at, absence.ends_at = parse_time(data["starts_at"]), parse_time(data["ends_at"])
    absence.ended_at = absence.ended_at or ended_at


def building_community(session: Session, directory, community_id: str, building_id: str) -> str | None:
    """The community of a building: `community_id` when one of its units there is known here, else residents'."""
    here = session.execute(
        select(Unit.id).where(Unit.building_id == building_id, Unit.community_id == community_id).limit(1)
    ).scalar_one_or_none()
    return community_id if here else (directory.building(building_id) or {}).get("community_id")
