"""What the community use cases share: writing an event to the outbox in the business transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from guanjia import outbox as outbox_

from ..models import outbox


def emit(session: Session, settings, event_type: str, subject: str, data: dict) -> None:
    """One event of this service (its payload names its community) in the same transaction as the change."""
    outbox_.emit(session, outbox, settings, type=event_type, subject=subject, community=data["community_id"], data=data)
