"""Quiet hours per channel and community: SMS always keeps them, the inbox never holds (nothing is pushed), and
non-urgent WeChat messages go at night where the community allows (else the instance's GUANJIA_WECHAT_QUIET_HOURS)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal, require_role
from guanjia.errors import Forbidden

from ..config import SmsSettings, WechatSettings
from ..models import CommunityQuietHours

ROLES = ("admin", "cs_manager")  # the community's manager decides; the operator may


def wechat_at_night(session: Session, community_ids: Iterable[str | None], default: bool) -> dict[str | None, bool]:
    """{community id: may non-urgent WeChat messages go during quiet hours} (one query for a batch)."""
    ids = {c for c in community_ids if c}
    out: dict[str | None, bool] = dict.fromkeys(ids, default)
    out[None] = default
    if ids:
        query = select(CommunityQuietHours.community_id, CommunityQuietHours.wechat_at_night)
        out.update(
            {c: allowed for c, allowed in session.execute(query.where(CommunityQuietHours.community_id.in_(ids)))}
        )
    return out


def _check(principal: Principal, community_id: str) -> None:
    require_role(principal, *ROLES)
    if not principal.sees_community(community_id):
        raise Forbidden("not one of your communities")


def _out(row: CommunityQuietHours | None, community_id: str, sms: SmsSettings, wechat: WechatSettings) -> dict:
    default = not wechat.quiet_hours
    return {
        "community_id": community_id,
        "quiet_hours": f"{sms.quiet_start:%H:%M}-{sms.quiet_end:%H:%M}" if sms.quiet_start and sms.quiet_end else None,
        "sms_at_night": False,
        "wechat_at_night": row.wechat_at_night if row else default,
        "wechat_at_night_default": default,
        "inbox_at_night": True,
        "updated_by": row.updated_by if row else None,
        "updated_at": row.updated_at if row else None,
    }


def get(session: Session, principal: Principal, community_id: str, sms: SmsSettings, wechat: WechatSettings) -> dict:
    _check(principal, community_id)
    return _out(session.get(CommunityQuietHours, community_id), community_id, sms, wechat)


def put(
    session: Session,
    principal: Principal,
    now: datetime,
    community_id: str,
    allow_wechat: bool | None,
    sms: SmsSettings,
    wechat: WechatSettings,
) -> dict:
    """`allow_wechat`: may non-urgent WeChat messages go during quiet hours; None: the instance's default again.
    Applies to messages claimed from now on (one waiting for the morning is claimed when its time comes)."""
    _check(principal, community_id)
    row = session.get(CommunityQuietHours, community_id)
    if allow_wechat is None:
        if row is not None:
            session.delete(row)
        return _out(None, community_id, sms, wechat)
    if row is None:
        row = CommunityQuietHours(community_id=community_id)
        session.add(row)
    row.wechat_at_night, row.updated_by, row.updated_at = allow_wechat, principal.subject, now
    session.flush()
    return _out(row, community_id, sms, wechat)
