"""Audited corrections of resident records: remove one registered by mistake, merge a duplicate into the right
record, add a note to a moved-out record. Each leaves a RecordCorrection (ids, reason, who, when)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from guanjia.auth import Principal, require_role
from guanjia.db import new_id
from guanjia.errors import Conflict, Invalid

from .. import events
from ..models import (
    ContactLog,
    KeyLoan,
    MovingAppointment,
    PiiDisclosure,
    RecordCorrection,
    ReleasePass,
    Renovation,
    Resident,
    ResidentCard,
)
from .common import FRONT_DESK, MANAGERS, emit, keep_households, load_resident, load_unit, resident_event_data

# What refers to a resident: a record with any of these was used, so it is merged, never just removed.
DEPENDENTS = (
    ("cards", ResidentCard, ResidentCard.resident_id),
    ("contacts", ContactLog, ContactLog.resident_id),
    ("release_passes", ReleasePass, ReleasePass.resident_id),
    ("moving_appointments", MovingAppointment, MovingAppointment.resident_id),
    ("renovations", Renovation, Renovation.applicant_id),
    ("key_loans", KeyLoan, KeyLoan.borrower_resident_id),
    ("disclosures", PiiDisclosure, PiiDisclosure.resident_id),
)


def _record(session: Session, principal: Principal, resident: Resident, action: str, reason: str, now, into=None):
    correction = RecordCorrection(
        id=new_id(),
        community_id=resident.community_id,
        unit_id=resident.unit_id,
        resident_id=resident.id,
        action=action,
        into_resident_id=into,
        reason=reason.strip(),
        actor_id=principal.subject,
        actor_role=principal.role,
        at=now,
    )
    session.add(correction)
    return correction


def _gone(session: Session, settings, resident: Resident) -> None:
    """Tell the bus the record is gone (status `removed`): ids only, like every resident.* event."""
    data = {**resident_event_data(resident), "status": "removed"}
    emit(session, settings, events.RESIDENT_UPDATED, f"resident/{resident.id}", resident.community_id, data)


def _uses(session: Session, resident_id: str) -> dict:
    used = {}
    for name, model, column in DEPENDENTS:
        n = session.execute(select(func.count()).select_from(model).where(column == resident_id)).scalar_one()
        if n:
            used[name] = n
    return used


def remove(session: Session, settings, principal: Principal, resident_id: str, reason: str, now: datetime) -> dict:
    """A record registered by mistake (wrong unit, a typo'd duplicate) and never used: managers remove it.

    Refused (409) once the person moved in or anything refers to the record — merge it into the right one then."""
    require_role(principal, *MANAGERS)
    resident = load_resident(session, principal, resident_id, lock=True)
    if resident.status != "registered" or resident.moved_in_at is not None:
        raise Conflict(
            "only a record that never moved in can be removed; record a move-out instead",
            errors={"status": [resident.status]},
        )
    used = _uses(session, resident.id)
    if used:
        raise Conflict(
            "this record is referred to; merge it into the right record instead",
            errors={"resident_id": [f"{name}: {n}" for name, n in sorted(used.items())]},
        )
    correction = _record(session, principal, resident, "removed", reason, now)
    _gone(session, settings, resident)
    community_id, unit_id = resident.community_id, resident.unit_id
    session.delete(resident)
    keep_households(session, community_id, [unit_id])
    return correction


def merge(
    session: Session, settings, principal: Principal, resident_id: str, into_id: str, reason: str, now: datetime
) -> dict:
    """A duplicate of the same person in the same unit: everything that refers to it moves to `into`, what `into`
    lacks (ID number, emergency contact, tags, notes) is taken over, and the duplicate is removed. Managers only."""
    require_role(principal, *MANAGERS)
    if into_id == resident_id:
        raise Invalid("into", "must be another record")
    source = load_resident(session, principal, resident_id, lock=True)
    target = load_resident(session, principal, into_id, field="into", lock=True)
    if target.unit_id != source.unit_id:
        raise Invalid("into", "must be a record of the same unit")
    if source.status != "registered" and target.status != source.status:
        # A duplicate that moved in carries occupancy (and billing's payer): merge only into the same state.
        raise Conflict(
            "the duplicate has moved in or out; merge it into a record in the same state",
            errors={"into": [f"{source.status} into {target.status}"]},
        )
    for _, model, column in DEPENDENTS:
        session.execute(update(model).where(column == source.id).values({column.key: target.id}))
    if not target.id_number_enc and source.id_number_enc:
        target.id_number_enc, target.id_number_hash = source.id_number_enc, source.id_number_hash
    if not target.emergency_name and source.emergency_name:
        target.emergency_name, target.emergency_phone = source.emergency_name, source.emergency_phone
    target.tags = sorted(set(target.tags or []) | set(source.tags or []))
    if source.notes and source.notes != target.notes:
        target.notes = "\n".join(n for n in (target.notes, source.notes) if n)
    target.updated_at = now
    correction = _record(session, principal, source, "merged", reason, now, into=target.id)
    _gone(session, settings, source)
    emit(
        session,
        settings,
        events.RESIDENT_UPDATED,
        f"resident/{target.id}",
        target.community_id,
        resident_event_data(target),
    )
    session.flush()
    session.execute(delete(Resident).where(Resident.id == source.id))
    keep_households(session, source.community_id, [source.unit_id])
    return correction


def note(session: Session, settings, principal: Principal, resident_id: str, text: str, now: datetime) -> Resident:
    """A note added to any record, a moved-out one included (whose other fields stay as they were): appended
    with the local date and the author, and recorded as a correction."""
    require_role(principal, *FRONT_DESK)
    resident = load_resident(session, principal, resident_id, lock=True)
    day = now.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
    line = f"[{day} {principal.subject}] {text.strip()}"
    resident.notes = f"{resident.notes}\n{line}" if resident.notes else line
    resident.updated_at = now
    _record(session, principal, resident, "noted", text, now)
    session.flush()
    return resident


def corrections(session: Session, principal: Principal, resident_id: str) -> list[RecordCorrection]:
    """The corrections of a record — one that was removed included — and of the duplicates merged into it
    (managers of its unit; 404 for anyone else or for an id that has none)."""
    require_role(principal, *MANAGERS)
    query = select(RecordCorrection).where(
        (RecordCorrection.resident_id == resident_id) | (RecordCorrection.into_resident_id == resident_id)
    )
    rows = list(session.execute(query.order_by(RecordCorrection.at, RecordCorrection.id)).scalars())
    if not rows:
        load_resident(session, principal, resident_id)  # 404 unless it exists and is in scope
        return []
    load_unit(session, principal, rows[0].unit_id)  # the unit's scope decides, the record may be gone
    return rows
