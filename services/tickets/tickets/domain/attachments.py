"""Attachments (photos, PDFs) of a ticket or of one of its visits: the file store (a local folder by default,
GUANJIA_TICKETS_FILES_DIR; keys are opaque) and the rows that name the stored files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import new_id
from guanjia.errors import Invalid, NotFound

from ..models import Attachment
from .common import get_ticket
from .visits import list_visits


class LocalFileStore:
    """Files under one folder, named by a generated key (never by the uploaded file name)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def put(self, stream, max_bytes: int) -> tuple[str, int]:
        """Store the stream; returns (storage key, size). Raises ValueError above max_bytes (nothing is kept)."""
        key = f"{new_id()[:2]}/{new_id()}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        try:
            with path.open("wb") as out:
                while chunk := stream.read(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ValueError(f"larger than {max_bytes} bytes")
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return key, size

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("bad storage key")
        return path

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def attach(
    database,
    store: LocalFileStore,
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
    return keep(
        database,
        store,
        upload,
        max_bytes,
        lambda key, size: Attachment(
            id=new_id(),
            ticket_id=ticket_id,
            visit_id=visit_id,
            storage_key=key,
            filename=upload.filename[:200],
            content_type=upload.content_type,  # what the bytes are, never what the client said
            size=size,
            uploaded_by=principal.subject,
            created_at=now,
        ),
    )


def keep(database, store: LocalFileStore, upload, max_bytes: int, row):
    """Store the upload's file outside a transaction, then the row `row(key, size)` names it in one; a row that fails
    to commit removes the file again (nothing half-written: no orphan file without its row)."""
    key, size = store.put(upload.stream, max_bytes)
    try:
        with database.transaction() as session:
            kept = row(key, size)
            session.add(kept)
    except Exception:
        store.delete(key)
        raise
    return kept


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
