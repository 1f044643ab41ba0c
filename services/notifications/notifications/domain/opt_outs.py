"""Residents' opt-outs of non-essential messages (welcomes, feedback requests, non-essential notices)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.errors import Forbidden

from ..models import OptOut


def set_opt_out(session: Session, principal: Principal, now: datetime, opted_out: bool) -> dict:
    if principal.role != "resident" or not principal.resident_id:
        raise Forbidden("residents choose for themselves")
    row = session.get(OptOut, principal.resident_id)
    if opted_out and row is None:
        session.add(OptOut(recipient_id=principal.resident_id, created_at=now))
    elif not opted_out and row is not None:
        session.delete(row)
    return {"resident_id": principal.resident_id, "opted_out": opted_out}


def is_opted_out(session: Session, recipient_id: str) -> bool:
    return session.get(OptOut, recipient_id) is not None
