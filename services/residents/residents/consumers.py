"""Events the residents service handles (staff's absences, so that a stand-in's zones include the absent butler's):
the HANDLERS dict; their tolerant payload schemas are in payloads.py."""

from __future__ import annotations

from sqlalchemy.orm import Session

from guanjia.db import parse_time

from .models import ButlerCover
from .payloads import Absence


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


HANDLERS = {
    "staff.absence_started": on_absence_started,
    "staff.absence_ended": on_absence_ended,
}
# The tolerant payload schema of each handled type (checked against the producers in tests/contract).
SCHEMAS = {
    "staff.absence_started": Absence,
    "staff.absence_ended": Absence,
}
