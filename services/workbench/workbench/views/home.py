"""工作台: the home page of each role, built from the API's lists (nothing is counted here that the API did not say)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template

from guanjia import web

from .. import client
from .common import items, me, sort_by_sla

bp = Blueprint("home", __name__)
CENTRE_ROLES = ("cs_manager", "senior_butler", "admin")
PAGE = 100


@bp.get("/")
def index():
    person = me()
    role = person["role"]
    if role == "butler":
        return render_template("home_butler.html", person=person, **butler_home(person))
    if role in CENTRE_ROLES:
        return render_template("home_centre.html", person=person, **centre_home(person))
    if role == "engineer":
        return render_template("home_engineer.html", person=person, **engineer_home(person))
    return render_template("home_other.html", person=person)


def _timezone():
    return ZoneInfo(current_app.extensions["guanjia.settings"].timezone)


def _today_bounds():
    """Midnight to midnight of today in the instance's timezone, as UTC ISO strings."""
    now_local = web.now().astimezone(_timezone())
    start = now_local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def butler_home(person: dict) -> dict:
    now = web.now()
    start, end = _today_bounds()
    mine = client.get("/api/v1/tickets", {"assignee_id": person["id"], "open": True, "page_size": PAGE})
    follow_ups = client.get("/api/v1/tickets/follow-ups", {"page_size": PAGE})
    visits = client.get(
        "/api/v1/tickets",
        {"status": "resolved", "visit_due_before": (now + timedelta(days=1)).isoformat(), "page_size": PAGE},
    )
    zones = []
    for zone_id in person.get("zones") or []:
        zone = client.get_or_none(f"/api/v1/zones/{zone_id}") or {"id": zone_id, "name": zone_id}
        zone["familiarity"] = client.get_or_none(f"/api/v1/zones/{zone_id}/familiarity")
        zone["unreached"] = items(client.get_or_none(f"/api/v1/zones/{zone_id}/unreached"))
        vacant = items(client.get_or_none(f"/api/v1/zones/{zone_id}/vacant-units"))
        zone["vacant_due"] = [v for v in vacant if v.get("check_due")]
        zones.append(zone)
    communities = person.get("communities") or []
    plans, coverage, keys, renovations, violations = [], [], [], [], []
    for community_id in communities:
        found = client.get_or_none("/api/v1/tickets/patrols/plans", {"community_id": community_id}) or {}
        plans += [p for p in found.get("items", []) if _plan_due_today(p, now)]
        cov = client.get_or_none("/api/v1/tickets/patrols/coverage", {"community_id": community_id}) or {}
        mine_zones = set(person.get("zones") or [])
        coverage += [z for z in cov.get("zones", []) if not mine_zones or z.get("zone_id") in mine_zones]
        keys += items(client.get_or_none(f"/api/v1/communities/{community_id}/overdue-keys"))
    for zone_id in person.get("zones") or []:
        approved = client.get_or_none(
            "/api/v1/renovations", {"zone_id": zone_id, "status": "approved", "page_size": PAGE}
        )
        for renovation in (approved or {}).get("items", []):
            renovations.append(renovation)
            for inspection in items(client.get_or_none(f"/api/v1/renovations/{renovation['id']}/inspections")):
                for violation in inspection.get("violations", []):
                    if violation.get("status") == "open" and (violation.get("rectify_by") or "") < now.isoformat():
                        violations.append({**violation, "unit_id": renovation["unit_id"]})
    moving = _moving_today(person, start, end)
    return {
        "mine": sort_by_sla(mine["items"], now),
        "mine_total": mine["total"],
        "follow_ups": follow_ups["items"],
        "visits": visits["items"],
        "zones": zones,
        "plans": plans,
        "coverage": coverage,
        "keys": keys,
        "renovations": renovations,
        "violations": violations,
        "moving": moving,
        "now": now.isoformat(),
    }


def _plan_due_today(plan: dict, now) -> bool:
    # Daily plans are due every day; the API's round list says which were walked (screen 6 shows them).
    return plan.get("frequency") in ("daily", "weekly", "every_n_days")


def _moving_today(person: dict, start, end) -> list:
    """Today's moving appointments of the units I see (one call: the API scopes them to my zones)."""
    return items(
        client.get_or_none("/api/v1/units/moving-appointments", {"start": start.isoformat(), "end": end.isoformat()})
    )


def centre_home(person: dict) -> dict:
    now = web.now()
    week_start = (
        web.now().astimezone(_timezone()) - timedelta(days=web.now().astimezone(_timezone()).weekday())
    ).replace(hour=0, minute=0, second=0, microsecond=0)
    scope = {"page_size": PAGE}
    new = client.get("/api/v1/tickets", {**scope, "status": "new"})
    breached = client.get("/api/v1/tickets", {**scope, "sla": "breached"})
    escalated = client.get("/api/v1/tickets", {**scope, "escalated": True, "open": True})
    complaints = client.get(
        "/api/v1/tickets", {**scope, "category": "complaint", "created_from": week_start.isoformat()}
    )
    visits = client.get("/api/v1/tickets", {**scope, "status": "resolved", "visit_due_before": now.isoformat()})
    return {
        "new": new,
        "breached": breached,
        "escalated": escalated,
        "complaints": complaints,
        "visits": visits,
        "now": now.isoformat(),
    }


def engineer_home(person: dict) -> dict:
    now = web.now()
    mine = client.get("/api/v1/tickets", {"assignee_id": person["id"], "open": True, "page_size": PAGE})
    return {"mine": sort_by_sla(mine["items"], now), "mine_total": mine["total"], "now": now.isoformat()}
