"""房屋档案 — the unit file: where it is, its status and history, household, cards, keys, passes, moves,
renovations, tickets and the contact log, all as the API shows them to this person (masked per role); a butler
issues the household's WeChat binding code here."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, current_app, render_template

from .. import client
from ..nav import REMINDER_ROLES
from .common import items

bp = Blueprint("units", __name__, url_prefix="/units")
# Who may issue a WeChat binding code for a household (the notifications API decides; the button is shown to them).
BINDING_CODE_ROLES = ("admin", "cs_manager", "senior_butler", "butler")


def _q(value: str) -> str:
    return quote(value, safe="")


@bp.get("/<unit_id>")
def detail(unit_id):
    base = f"/api/v1/units/{_q(unit_id)}"
    unit = client.get(base)
    building = client.get_or_none(f"/api/v1/buildings/{_q(unit['building_id'])}")
    zone = client.get_or_none(f"/api/v1/zones/{_q(unit['zone_id'])}") if unit.get("zone_id") else None
    community = client.get_or_none(f"/api/v1/communities/{_q(unit['community_id'])}")
    residents = items(client.get_or_none("/api/v1/residents", {"unit_id": unit_id, "page_size": 50}))
    cards, contacts = [], []
    for resident in residents:
        for card in items(client.get_or_none(f"/api/v1/residents/{_q(resident['id'])}/cards")):
            cards.append({**card, "resident": resident})
        for contact in items(client.get_or_none(f"/api/v1/residents/{_q(resident['id'])}/contacts")):
            contacts.append({**contact, "resident": resident})
    contacts.sort(key=lambda c: c.get("contacted_at") or "", reverse=True)
    return render_template(
        "unit.html",
        unit=unit,
        building=building,
        zone=zone,
        community=community,
        history=items(client.get_or_none(f"{base}/status-history")),
        residents=residents,
        cards=cards,
        keys=items(client.get_or_none(f"{base}/keys")),
        passes=items(client.get_or_none(f"{base}/passes")),
        moving=items(client.get_or_none(f"{base}/moving-appointments")),
        renovations=items(client.get_or_none("/api/v1/renovations", {"unit_id": unit_id, "page_size": 50})),
        tickets=items(client.get_or_none("/api/v1/tickets", {"unit_id": unit_id, "page_size": 50})),
        contacts=contacts,
        offers_binding=bool((current_app.extensions.get("workbench.wechat") or {}).get("app_id")),
        binding_code_roles=BINDING_CODE_ROLES,
        reminder_roles=REMINDER_ROLES,
    )


def _answer_or_refusal(call, *args) -> tuple[object, str | None]:
    """(the API's answer, None), or (None, its refusal) for an htmx fragment to show in place (a 5xx: the 503 page)."""
    try:
        return call(*args), None
    except client.ApiError as exc:
        if isinstance(exc, client.Unavailable):
            raise
        return None, exc.message


@bp.post("/<unit_id>/wechat-binding-code")
def wechat_binding_code(unit_id):
    """htmx: a one-time code for a resident of this household to bind their WeChat with, shown once (only its hash
    is kept), with the time it expires."""
    issued, error = _answer_or_refusal(client.post, "/api/v1/notifications/wechat/binding-codes", {"unit_id": unit_id})
    return render_template("binding_code.html", issued=issued, error=error, unit_id=unit_id)


@bp.get("/<unit_id>/residents/<resident_id>/personal-data")
def personal_data(unit_id, resident_id):
    """htmx: a resident's details in clear, from the audited personal-data endpoint (the API decides who may)."""
    revealed, error = _answer_or_refusal(client.get, f"/api/v1/residents/{_q(resident_id)}/personal-data")
    return render_template("personal_data.html", revealed=revealed, error=error, resident_id=resident_id)
