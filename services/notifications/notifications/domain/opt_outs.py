"""Residents' opt-outs: of non-essential messages (welcomes, feedback requests, non-essential notices), and of a
pushed channel (SMS, WeChat) altogether — the inbox always receives."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.errors import Forbidden

from ..config import SMS, WECHAT
from ..models import ChannelOptOut, OptOut

CHANNELS = (SMS, WECHAT)  # the pushed channels one may opt out of; the inbox is not one of them


def _own(principal: Principal) -> str:
    if principal.role != "resident" or not principal.resident_id:
        raise Forbidden("residents choose for themselves")
    return principal.resident_id


def preference(session: Session, resident_id: str) -> dict:
    return {
        "resident_id": resident_id,
        "opted_out": is_opted_out(session, resident_id),
        "opted_out_channels": sorted(opted_out_channels(session, {resident_id}).get(resident_id, ())),
    }


def set_opt_out(
    session: Session, principal: Principal, now: datetime, opted_out: bool | None, channels: Iterable[str] | None = None
) -> dict:
    """`opted_out`: of non-essential messages (None leaves it); `channels`: the pushed channels the resident wants
    nothing on (None leaves them, [] opts back into all)."""
    resident_id = _own(principal)
    if opted_out is not None:
        row = session.get(OptOut, resident_id)
        if opted_out and row is None:
            session.add(OptOut(recipient_id=resident_id, created_at=now))
        elif not opted_out and row is not None:
            session.delete(row)
    if channels is not None:
        wanted = set(channels)
        current = {
            r.channel: r
            for r in session.execute(select(ChannelOptOut).where(ChannelOptOut.recipient_id == resident_id)).scalars()
        }
        for channel in wanted - current.keys():
            session.add(ChannelOptOut(recipient_id=resident_id, channel=channel, created_at=now))
        for channel in current.keys() - wanted:
            session.delete(current[channel])
    session.flush()
    return preference(session, resident_id)


def is_opted_out(session: Session, recipient_id: str) -> bool:
    return session.get(OptOut, recipient_id) is not None


def opted_out_channels(session: Session, recipient_ids: Iterable[str]) -> dict[str, set[str]]:
    """{resident id: the channels they opted out of} for those who did (one query for a batch)."""
    ids = {r for r in recipient_ids if r}
    if not ids:
        return {}
    out: dict[str, set[str]] = {}
    query = select(ChannelOptOut.recipient_id, ChannelOptOut.channel).where(ChannelOptOut.recipient_id.in_(ids))
    for recipient_id, channel in session.execute(query):
        out.setdefault(recipient_id, set()).add(channel)
    return out
