"""Events the residents service handles (staff's absences, so that a stand-in's zones include the absent butler's):
the HANDLERS dict; their tolerant payload schemas are in payloads.py."""

from __future__ import annotations

from sqlalchemy.orm import Session

from guanjia.db import parse_time

from .models import AcceptanceDefect, ButlerCover
from .payloads import Absence
from .payloads import AcceptanceDefect as DefectPayload


def _cover(session: Session, data: dict) -> ButlerCover:
    cover = session.get(ButlerCover, data["absence_id"])
    if cover is None:
        cover = ButlerCover(absence_id=data["absence_id"])
        session.add(cover)
    cover.community_id, cover.butler_id, cover.stand_in_id = data["community_id"], data["user_id"], data["stand_in_id"]
    cover.starts_at, cover.ends_at = parse_time(data["starts_at"]), parse_time(data["ends_at"])
    return cover


def on_absence_started(context, session: Session, event: dict) -> None:
    # An end that arrived first stays the end (order is not guaranteed): ended_at is never cleared.
    _cover(session, Absence().load(event["data"]))


def on_absence_ended(context, session: Session, event: dict) -> None:
    cover = _cover(session, Absence().load(event["data"]))
    cover.ended_at = cover.ended_at or parse_time(event["time"])


def _defect(session: Session, data: dict) -> AcceptanceDefect:
    defect = session.get(AcceptanceDefect, data["defect_id"])
    if defect is None:
        defect = AcceptanceDefect(defect_id=data["defect_id"])
        session.add(defect)
    defect.unit_id, defect.community_id = data["unit_id"], data["community_id"]
    defect.category, defect.item = data["category"], data["item"][:200]
    defect.responsible_party, defect.rectify_by = data["responsible_party"], data["rectify_by"][:10]
    return defect


def on_defect_opened(context, session: Session, event: dict) -> None:
    # A close that arrived first stays the close (order is not guaranteed): closed_at is never cleared.
    _defect(session, DefectPayload().load(event["data"]))


def on_defect_closed(context, session: Session, event: dict) -> None:
    defect = _defect(session, DefectPayload().load(event["data"]))
    defect.closed_at = defect.closed_at or parse_time(event["time"])


HANDLERS = {
    "staff.absence_started": on_absence_started,
    "staff.absence_ended": on_absence_ended,
    "acceptance.defect_opened": on_defect_opened,
    "acceptance.defect_closed": on_defect_closed,
}
# The tolerant payload schema of each handled type (checked against the producers in tests/contract).
SCHEMAS = {
    "staff.absence_started": Absence,
    "staff.absence_ended": Absence,
    "acceptance.defect_opened": DefectPayload,
    "acceptance.defect_closed": DefectPayload,
}
