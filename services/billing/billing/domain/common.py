"""What every billing use case shares: who may do what, the community policy, and writing events in bulk."""

from __future__ import annotations

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia import db as dbmod
from guanjia.auth import Principal
from guanjia.errors import Forbidden, NotFound

from ..models import Policy

# Staff who read fees, each within their own communities (butlers within their zones).
READERS = ("finance", "senior_butler", "cs_manager", "butler")
# Who reads billing facts (bills, units' accounts and ledgers, the cash book) of their communities: the staff who
# read, and an integrator's key covering `billing` (docs/integrators.md). Never a write.
FACT_READERS = (*READERS, "integrator")
# Who moves money and sets fee rules (cashiers are finance staff); admin is instance-wide.
MONEY_ROLES = ("finance", "admin")
# Who keeps the collection list (催缴) notes.
COLLECTORS = ("butler", "senior_butler", "cs_manager", "finance", "admin")


def require(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not do this")


def require_community(principal: Principal, community_id: str | None, what: str = "community") -> None:
    """Another community's object is 404, never someone else's data."""
    if not principal.sees_community(community_id):
        raise NotFound(f"{what} not found")


def today_in(settings, now: datetime) -> date:
    """The instance's calendar date at `now` (billing periods and due dates are local, Asia/Shanghai by default)."""
    return now.astimezone(ZoneInfo(settings.timezone)).date()


def policy_for(session: Session, community_id: str, now: datetime, *, lock: bool = False) -> Policy:
    """The community's policy (created with the defaults at `now` on first use); lock=True serialises runs and
    scans."""
    policy = session.get(Policy, community_id)
    if policy is None:
        dbmod.insert_if_absent(
            session,
            Policy,
            {"community_id": community_id, "updated_at": now, **_policy_defaults()},
            index_elements=[Policy.community_id],
        )
    query = select(Policy).where(Policy.community_id == community_id).execution_options(populate_existing=True)
    if lock and dbmod.is_postgres(session):
        query = query.with_for_update()
    return session.execute(query).scalar_one()


def _policy_defaults() -> dict:
    return {
        column.name: column.default.arg
        for column in Policy.__table__.columns
        if column.default is not None and not callable(column.default.arg)
    }


def _insert(session: Session):
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if dbmod.is_postgres(session) else sqlite.insert


upsert_insert = _insert


# The variant nibble of a version 4 UUID (10xx) from any random hex digit: a lookup instead of an int() per id.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_ids(count: int) -> list[str]:
    """`count` random (version 4) UUID strings: one urandom call and one hex string for them all (bulk runs)."""
    h = os.urandom(16 * count).hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{_VARIANT[h[i + 16]]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]
