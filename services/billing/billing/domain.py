"""Billing use cases (for now: what billing knows of units), with the caller's scope applied."""

from __future__ import annotations

from collections.abc import Callable

import marshmallow as ma
from sqlalchemy import false, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import parse_time
from guanjia.errors import NotFound, UpstreamUnavailable

from .consumers import UnitChanged, upsert_unit
from .models import BillingUnit

# Staff who work with fees, each within their own communities (engineers and integrators do not).
BILLING_STAFF = ("finance", "senior_butler", "cs_manager", "butler")
# When residents answers without an update time, any event we receive later wins over its answer.
OLDEST = "2000-01-01T00:00:00Z"


def sees_unit(principal: Principal, community_id: str | None, unit_id: str) -> bool:
    if principal.instance_wide:
        return True
    if principal.role == "resident":
        return unit_id in principal.units
    if principal.role in BILLING_STAFF:
        return community_id is not None and community_id in principal.communities
    return False


def _may_see_some_unit(principal: Principal, unit_id: str) -> bool:
    """Whether asking residents about `unit_id` could ever end in an answer for this caller."""
    if principal.role == "resident":
        return unit_id in principal.units
    return principal.instance_wide or (principal.role in BILLING_STAFF and bool(principal.communities))


def find_unit(session: Session, unit_id: str, fetch_unit: Callable[[str], dict | None]) -> BillingUnit | None:
    """The unit from the projection; on a miss ask residents (it may have been created a moment ago)."""
    unit = session.get(BillingUnit, unit_id)
    if unit is not None:
        return unit
    fetched = fetch_unit(unit_id)
    if fetched is None:
        return None
    try:
        data = UnitChanged().load({**fetched, "unit_id": fetched["id"]})
    except (KeyError, ma.ValidationError) as exc:
        raise UpstreamUnavailable(f"residents answered an unexpected unit: {exc}") from None
    upsert_unit(session, data, parse_time(fetched.get("updated_at") or OLDEST))
    return session.get(BillingUnit, unit_id)


def get_unit(session: Session, principal: Principal, unit_id: str, fetch_unit) -> BillingUnit:
    unit = find_unit(session, unit_id, fetch_unit) if _may_see_some_unit(principal, unit_id) else None
    if unit is None or not sees_unit(principal, unit.community_id, unit.unit_id):
        raise NotFound(f"unit {unit_id} not found")
    return unit


def list_units(principal: Principal, filters: dict):
    query = select(BillingUnit).order_by(BillingUnit.community_id, BillingUnit.number, BillingUnit.unit_id)
    if principal.role == "resident":
        query = query.where(BillingUnit.unit_id.in_(principal.units))
    elif principal.role in BILLING_STAFF:
        query = query.where(BillingUnit.community_id.in_(principal.communities))
    elif not principal.instance_wide:
        query = query.where(false())
    for name in ("community_id", "building_id"):
        if filters.get(name):
            query = query.where(getattr(BillingUnit, name) == filters[name])
    return query
