"""社区公告: compose a notice for a community, a zone or a building — the recipient count and the SMS text with its
length shown before sending — and the delivery of the notices sent."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import client
from .common import items, me
from .forms import attempt, communities, zones

bp = Blueprint("notices", __name__, url_prefix="/notices")


def _targets() -> list[tuple[str, str, str]]:
    """(value, label, community id) for every audience the person may address: communities, zones, buildings."""
    person = me()
    found = []
    for community in communities():
        if person.get("role") != "butler":  # a butler sends to their own zones only (the API says so too)
            found.append((f"community:{community['id']}", community["name"], community["id"]))
        for zone in zones():
            if zone["community_id"] == community["id"]:
                found.append((f"zone:{zone['id']}", f"{community['name']} › {zone['name']}", community["id"]))
        if person.get("role") != "butler":
            buildings = items(
                client.get_or_none("/api/v1/buildings", {"community_id": community["id"], "page_size": 100})
            )
            for building in buildings:
                found.append(
                    (f"building:{building['id']}", f"{community['name']} › {building['name']}", community["id"])
                )
    return found


def _body(form, targets) -> dict:
    scope, _, target_id = form.get("audience", "").partition(":")
    community_id = next((c for value, _, c in targets if value == form.get("audience")), "")
    body = {
        "community_id": community_id,
        "scope": scope or "community",
        "title": form.get("title", "").strip(),
        "body": form.get("body", "").strip(),
        "urgent": form.get("urgent") == "on",
        "essential": form.get("essential") == "on",
    }
    if scope != "community":
        body["target_id"] = target_id or None
    return body


def _page(targets, values=None, errors=None, status=200):
    sent = items(client.get_or_none("/api/v1/notifications/notices", {"page_size": 50}))
    mine = [n for n in sent if n.get("created_by") == me().get("id")]
    return (
        render_template(
            "notices.html", targets=targets, values=values or {"essential": "on"}, errors=errors or {}, notices=mine
        ),
        status,
    )


@bp.get("")
def index():
    return _page(_targets())


@bp.post("/preview")
def preview():
    """htmx: who the notice would reach and the SMS as it would be sent, before anything is sent."""
    targets = _targets()
    body = _body(request.form, targets)
    found, errors = (None, {"audience": ""}) if not body["community_id"] else ({}, {})
    if body["community_id"] and body["title"] and body["body"]:
        found, errors = attempt(client.post, "/api/v1/notifications/notices/preview", body)
    return render_template("notice_preview.html", preview=found, errors=errors)


@bp.post("")
def send():
    targets = _targets()
    body = _body(request.form, targets)
    values = request.form.to_dict()
    if not body["community_id"]:
        return _page(targets, values, {"audience": _("Choose who the notice is for.")}, 422)
    sent, errors = attempt(client.post, "/api/v1/notifications/notices", body)
    if sent is None:
        renamed = {"target_id": "audience", "community_id": "audience", "scope": "audience"}
        return _page(targets, values, {renamed.get(k, k): v for k, v in errors.items()}, 422)
    return redirect(url_for("notices.index", sent=sent["id"]), code=303)
