"""Attachments (photos, PDFs) of a ticket or of one of its visits, and photos of incidents and patrol findings:
the rows that name the files kept in the service's file store (`guanjia.uploads.LocalFileStore`, a local folder,
GUANJIA_TICKETS_FILES_DIR; keys are opaque)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia import uploads
from guanjia.auth import Principal
from guanjia.db import new_id
from guanjia.errors import Invalid, NotFound

from ..models import Attachment
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

    def write_row(session, key, size):
        attachment = Attachment(
            id=new_id(),
            ticket_id=ticket_id,
            visit_id=visit_id,
            storage_key=key,
            filename=upload.filename[:200],
            content_type=upload.content_type,  # what the bytes are, never what the client said
            size=size,
            uploaded_by=principal.subject,
            created_at=now,
        )
        session.add(attachment)
        return attachment

    return uploads.keep(database, store, upload, max_bytes, write_row)


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
