"""巡查 on a phone: today's rounds and plans, starting a round, scanning checkpoints by code, findings with a
photo (kept on the finding; a finding that needs work becomes a ticket, and the photo goes onto it too), completing,
and per-zone coverage."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from .. import client
from .common import items, me
from .forms import attempt, communities, q
from .tickets import _upload, file_response, upload_file

bp = Blueprint("patrols", __name__, url_prefix="/patrols")

FINDING_KINDS = ("safety", "engineering", "environment")
SEVERITIES = ("minor", "major", "critical")


@bp.get("")
def index():
    person = me()
    plans = items(client.get_or_none("/api/v1/tickets/patrols/plans"))
    rounds = items(client.get_or_none("/api/v1/tickets/patrols/rounds", {"days": 1}))
    coverage = []
    if person.get("role") != "engineer":
        for community in communities():
            found = client.get_or_none("/api/v1/tickets/patrols/coverage", {"community_id": community["id"]})
            zones = (found or {}).get("zones") or []
            if person.get("role") == "butler" and person.get("zones"):
                zones = [z for z in zones if z["zone_id"] in person["zones"]]
            coverage += zones
    return render_template("patrols.html", plans=plans, rounds=rounds, coverage=coverage, errors={})


@bp.post("/rounds")
def start():
    started, errors = attempt(
        client.post, "/api/v1/tickets/patrols/rounds", {"plan_id": request.form.get("plan_id", "")}
    )
    if started is None:
        plans = items(client.get_or_none("/api/v1/tickets/patrols/plans"))
        rounds = items(client.get_or_none("/api/v1/tickets/patrols/rounds", {"days": 1}))
        return render_template("patrols.html", plans=plans, rounds=rounds, coverage=[], errors=errors), 422
    return redirect(url_for("patrols.round_page", round_id=started["id"]), code=303)


def _round_page(round_id: str, errors=None, values=None, status=200):
    round_ = client.get(f"/api/v1/tickets/patrols/rounds/{q(round_id)}")
    return (
        render_template(
            "patrol_round.html",
            round=round_,
            errors=errors or {},
            values=values or {},
            kinds=FINDING_KINDS,
            severities=SEVERITIES,
        ),
        status,
    )


@bp.get("/rounds/<round_id>")
def round_page(round_id):
    return _round_page(round_id)


@bp.post("/rounds/<round_id>/scan")
def scan(round_id):
    code = request.form.get("code", "").strip()
    _, errors = attempt(client.post, f"/api/v1/tickets/patrols/rounds/{q(round_id)}/scans", {"code": code})
    if errors:
        return _round_page(round_id, {f"scan_{k}": v for k, v in errors.items()}, {"code": code}, 422)
    return redirect(url_for("patrols.round_page", round_id=round_id), code=303)


@bp.post("/rounds/<round_id>/findings")
def finding(round_id):
    form = request.form
    body = {
        "kind": form.get("kind", ""),
        "severity": form.get("severity", ""),
        "description": form.get("description", "").strip(),
        "needs_work": form.get("needs_work") == "on",
    }
    if form.get("checkpoint_code"):
        body["checkpoint_code"] = form["checkpoint_code"]
    recorded, errors = attempt(client.post, f"/api/v1/tickets/patrols/rounds/{q(round_id)}/findings", body)
    if recorded is None:
        return _round_page(round_id, errors, {**body, "needs_work": body["needs_work"]}, 422)
    photo = request.files.get("photo")
    if photo and photo.filename:
        path = f"/api/v1/tickets/patrols/rounds/{q(round_id)}/findings/{q(recorded['id'])}/photos"
        _, errors = attempt(upload_file, path, photo)
        if errors:  # the finding is recorded; the photo was refused (not an image): say so on the round
            return _round_page(round_id, {"photo": errors.get("file") or next(iter(errors.values()))}, status=422)
        if recorded.get("ticket_id"):
            photo.stream.seek(0)
            _upload(recorded["ticket_id"], photo)  # and with the work: onto the ticket the finding opened
    return redirect(url_for("patrols.round_page", round_id=round_id), code=303)


@bp.get("/rounds/<round_id>/findings/<finding_id>/photos/<photo_id>")
def finding_photo(round_id, finding_id, photo_id):
    return file_response(
        f"/api/v1/tickets/patrols/rounds/{q(round_id)}/findings/{q(finding_id)}/photos/{q(photo_id)}/content"
    )


@bp.post("/rounds/<round_id>/complete")
def complete(round_id):
    _, errors = attempt(client.post, f"/api/v1/tickets/patrols/rounds/{q(round_id)}/complete")
    if errors:
        return _round_page(round_id, errors, status=422)
    return redirect(url_for("patrols.round_page", round_id=round_id), code=303)
