"""Photos of renovation site inspections and of vacancy checks: the rows naming the files kept in the service's file
store (`guanjia.uploads.LocalFileStore`, GUANJIA_RESIDENTS_FILES_DIR; keys are opaque). The upload is proven and
stored by `guanjia.uploads` (`receive`, `keep`); this module only says whose photo it is and who may see it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia import uploads
from guanjia.auth import Principal, require_role
from guanjia.errors import NotFound

from ..models import Inspection, Photo, VacancyCheck
from . import renovations
from .common import FRONT_DESK, INSPECTORS, load_unit

INSPECTION, VACANCY_CHECK = "inspection", "vacancy_check"
# Who sees and adds photos: those who inspect the site and check empty units. The household and integrators read
# the facts of an inspection, not the pictures (people and their homes may be on them).
SEES = {INSPECTION: INSPECTORS, VACANCY_CHECK: FRONT_DESK}


def inspection_of(session: Session, principal: Principal, renovation_id: str, inspection_id: str) -> Inspection:
    """An inspection of a renovation the caller sees (another renovation's, or another zone's, is 404)."""
    require_role(principal, *SEES[INSPECTION])
    renovation = renovations.get(session, principal, renovation_id)
    inspection = session.get(Inspection, inspection_id)
    if inspection is None or inspection.renovation_id != renovation.id:
        raise NotFound(f"inspection {inspection_id} not found")
    return inspection


def vacancy_check_of(session: Session, principal: Principal, unit_id: str, check_id: str) -> VacancyCheck:
    """A vacancy check of a unit the caller sees (another unit's, or another zone's, is 404)."""
    require_role(principal, *SEES[VACANCY_CHECK])
    unit = load_unit(session, principal, unit_id)
    check = session.get(VacancyCheck, check_id)
    if check is None or check.unit_id != unit.id:
        raise NotFound(f"vacancy check {check_id} not found")
    return check


def add(database, store, principal: Principal, kind: str, subject_id: str, upload, max_bytes: int, now: datetime,
        *, check) -> Photo:  # fmt: skip
    """Keep a photo once `check(session)` has proven the caller may (404 before anything is stored)."""
    with database.transaction() as session:
        check(session)

    return uploads.keep_row(
        database, store, upload, max_bytes, Photo, uploaded_by=principal.subject, now=now,
        subject_kind=kind, subject_id=subject_id,
    )  # fmt: skip


def photos_by_subject(session: Session, principal: Principal, kind: str, subject_ids) -> dict[str, list[Photo]]:
    """The photos of each subject, oldest first; none for a caller who may not see them."""
    found: dict[str, list[Photo]] = {}
    if principal.role not in SEES[kind] or not subject_ids:
        return found
    query = select(Photo).where(Photo.subject_kind == kind, Photo.subject_id.in_(list(subject_ids)))
    for photo in session.execute(query.order_by(Photo.created_at)).scalars():
        found.setdefault(photo.subject_id, []).append(photo)
    return found


def find(session: Session, kind: str, subject_id: str, photo_id: str) -> Photo:
    photo = session.get(Photo, photo_id)
    if photo is None or photo.subject_kind != kind or photo.subject_id != subject_id:
        raise NotFound(f"photo {photo_id} not found")
    return photo
