"""Attachments (photos, PDFs) of a ticket or of one of its visits, and photos of incidents and patrol findings:
the rows that name the files kept in the service's file store (`guanjia.uploads.LocalFileStore`, a local folder,
GUANJIA_TICKETS_FILES_DIR; keys are opaque)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia import uploads
from guanjia.auth import Principal
from guanjia.errors import Invalid, NotFound

from ..models import Attachment, Photo
from .common import get_ticket
from .visits import list_visits


def attach(
    database,
    store: uploads.LocalFileStore,
    principal: Principal,
    ticket_id: str,
    upload,
    visit_id,
    max_bytes: int,
    now: datetime,
) -> Attachment:
    """Store an upload (its type already proven by its content) for a ticket the caller sees, optionally for one
    of its visits. The file is written outside a transaction; a row that fails to commit removes it again."""
    with database.transaction() as session:
        ticket = get_ticket(session, principal, ticket_id)  # 404 before anything is stored
        if visit_id and visit_id not in {v.id for v in list_visits(session, ticket.id)}:
            raise Invalid("visit_id", "not a visit of this ticket")

    return uploads.keep_row(
        database, store, upload, max_bytes, Attachment, uploaded_by=principal.subject, now=now,
        ticket_id=ticket_id, visit_id=visit_id,
    )  # fmt: skip


def list_attachments(session: Session, principal: Principal, ticket_id: str) -> list[Attachment]:
    get_ticket(session, principal, ticket_id)
    query = select(Attachment).where(Attachment.ticket_id == ticket_id).order_by(Attachment.created_at)
    return list(session.execute(query).scalars())


def find_attachment(session: Session, principal: Principal, ticket_id: str, attachment_id: str) -> Attachment:
    """An attachment of a ticket the caller sees (another ticket's is 404, as a missing one)."""
    get_ticket(session, principal, ticket_id)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.ticket_id != ticket_id:
        raise NotFound(f"attachment {attachment_id} not found")
    return attachment


# ---------------------------------------------------------------- photos of incidents and patrol findings


def add_photo(database, store, principal: Principal, kind: str, subject_id: str, upload, max_bytes: int, now,
              *, check, log_id=None) -> Photo:  # fmt: skip
    """Keep a photo of an incident or a finding: `check(session)` first proves the caller may (404/409/422 before
    anything is stored)."""
    with database.transaction() as session:
        check(session)

    return uploads.keep_row(
        database, store, upload, max_bytes, Photo, uploaded_by=principal.subject, now=now,
        subject_kind=kind, subject_id=subject_id, log_id=log_id,
    )  # fmt: skip


def photos_of(session: Session, kind: str, subject_ids) -> list[Photo]:
    query = select(Photo).where(Photo.subject_kind == kind, Photo.subject_id.in_(list(subject_ids)))
    return list(session.execute(query.order_by(Photo.created_at)).scalars())


def find_photo(session: Session, kind: str, subject_id: str, photo_id: str) -> Photo:
    photo = session.get(Photo, photo_id)
    if photo is None or photo.subject_kind != kind or photo.subject_id != subject_id:
        raise NotFound(f"photo {photo_id} not found")
    return photo
