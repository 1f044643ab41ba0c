"""WeChat bindings: a butler issues a one-time code for a household; a resident of it redeems the code from the
official account's page (OAuth snsapi_base: WeChat's code → their openid), and from then on template messages go
to their WeChat instead of SMS. The openid is sealed by the library's PII scheme and shown masked."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound, UpstreamUnavailable
from guanjia.pii import decrypt_pii, encrypt_pii, pii_lookup_hash

from ..directory import Directory, DirectoryUnavailable
from ..models import WechatBinding, WechatBindingCode
from ..wechat import WechatClient, WechatError, mask_openid

ISSUE_ROLES = ("admin", "cs_manager", "senior_butler", "butler")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the counter
CODE_LENGTH = 8


def _code_hash(settings, code: str) -> str:
    return pii_lookup_hash(settings.pii_key, "wechat-binding:" + code.strip().upper())


def issue_code(
    session: Session, settings, directory: Directory, principal: Principal, now: datetime, unit_id: str, hours: float
) -> dict:
    """A one-time binding code for the household of `unit_id` (staff of its community); shown once."""
    if principal.role not in ISSUE_ROLES:
        raise Forbidden(f"role {principal.role} may not issue WeChat binding codes")
    try:
        unit = directory.unit(unit_id)
    except DirectoryUnavailable as exc:
        raise UpstreamUnavailable(f"cannot look the unit up now: {exc}") from None
    if unit is None or not principal.sees_community(unit.get("community_id")):
        raise NotFound(f"unit {unit_id} not found")
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + timedelta(hours=hours)
    session.add(
        WechatBindingCode(
            code_hash=_code_hash(settings, code),
            unit_id=unit_id,
            community_id=unit.get("community_id"),
            issued_by=principal.subject,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return {"code": code, "unit_id": unit_id, "expires_at": expires_at}


def redeem(
    session: Session, settings, client: WechatClient, principal: Principal, now: datetime, code: str, oauth_code: str
) -> WechatBinding:
    """The resident binds their WeChat: the code must be for a household they live in, unused and unexpired."""
    if principal.role != "resident" or not principal.resident_id:
        raise Forbidden("residents bind their own WeChat")
    query = select(WechatBindingCode).where(WechatBindingCode.code_hash == _code_hash(settings, code))
    issued = session.execute(query.with_for_update()).scalar_one_or_none()
    if issued is None or issued.unit_id not in principal.units:
        raise Invalid("code", "unknown binding code")
    if issued.redeemed_at is not None:
        raise Conflict("this binding code was used already; ask your butler for a new one")
    if as_utc(issued.expires_at) <= as_utc(now):
        raise Invalid("code", "the binding code has expired; ask your butler for a new one")
    try:
        openid = client.openid_for_code(oauth_code)
    except WechatError as exc:
        if exc.code in ("40029", "40163"):
            raise Invalid("oauth_code", "WeChat did not accept this code (expired or used)") from None
        raise UpstreamUnavailable(f"WeChat did not answer: {exc.code}") from None
    issued.redeemed_by, issued.redeemed_at = principal.resident_id, now
    binding = session.get(WechatBinding, principal.resident_id)
    if binding is None:
        binding = WechatBinding(resident_id=principal.resident_id)
        session.add(binding)
    binding.unit_id, binding.community_id, binding.created_at = issued.unit_id, issued.community_id, now
    binding.openid = encrypt_pii(settings.pii_key, openid)
    binding.openid_hash = pii_lookup_hash(settings.pii_key, openid)
    binding.openid_masked = mask_openid(openid)
    return binding


def own_binding(session: Session, principal: Principal) -> WechatBinding:
    if principal.role != "resident" or not principal.resident_id:
        raise Forbidden("residents only")
    binding = session.get(WechatBinding, principal.resident_id)
    if binding is None:
        raise NotFound("no WeChat bound")
    return binding


def unbind(session: Session, principal: Principal) -> None:
    """The resident takes their WeChat back: messages go by SMS again (also the way to opt out of WeChat)."""
    session.delete(own_binding(session, principal))


def bound(session: Session, resident_ids: set[str]) -> dict[str, WechatBinding]:
    """The bindings of those residents, {resident id: binding}: one query."""
    if not resident_ids:
        return {}
    query = select(WechatBinding).where(WechatBinding.resident_id.in_(resident_ids))
    return {b.resident_id: b for b in session.execute(query).scalars()}


def openid_of(settings, sealed: str) -> str:
    return decrypt_pii(settings.pii_key, sealed)
