"""Names where the API would give ids: each leave with the holder's and the stand-in's display names."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Position


def leaves(session: Session, page_or_leave):
    """Adds display_name, stand_in_name and in_progress to one leave or a page of them (one query, not per row)."""
    items = page_or_leave["items"] if isinstance(page_or_leave, dict) else [page_or_leave]
    ids = {i.position_id for i in items} | {i.stand_in_position_id for i in items}
    names = dict(session.execute(select(Position.id, Position.display_name).where(Position.id.in_(ids))).all())
    for leave in items:
        leave.display_name = names.get(leave.position_id)
        leave.stand_in_name = names.get(leave.stand_in_position_id)
        leave.in_progress = leave.started_at is not None and leave.ended_at is None
    return page_or_leave
