"""户务 — household affairs of a unit at the desk: registering a resident, handover, move-in and move-out, resident
cards, release passes, keys in custody (deposit, lend, return; overdue ones), vacancy checks, and the contact log
(visit / call) with the resident's tags. Each form is one API call; the API's refusal shows next to the field."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from .. import client
from .common import items
from .forms import attempt, communities, local_instant, q
from .tickets import file_response, posted_photo, required_photo

bp = Blueprint("household", __name__, url_prefix="/household")

ROLES = ("owner", "tenant", "family")
TAGS = ("living_alone", "hardship", "key_customer", "disabled", "elderly")
CONTACT_KINDS = ("visit", "call")


def _context(unit_id: str) -> dict:
    base = f"/api/v1/units/{q(unit_id)}"
    unit = client.get(base)
    residents = items(client.get_or_none("/api/v1/residents", {"unit_id": unit_id, "page_size": 50}))
    return {
        "unit": unit,
        "residents": residents,
        "keys": items(client.get_or_none(f"{base}/keys")),
        "passes": items(client.get_or_none(f"{base}/passes")),
        "checks": items(client.get_or_none(f"{base}/vacancy-checks")),
        "roles": ROLES,
        "tags": TAGS,
        "contact_kinds": CONTACT_KINDS,
    }


def _page(unit_id: str, form: str | None = None, errors=None, status=200):
    context = _context(unit_id)
    return render_template("household.html", form=form, errors=errors or {}, values=request.form, **context), status


@bp.get("")
def index():
    """Keys overdue in the person's communities: the butler's chase list."""
    overdue = []
    for community in communities():
        overdue += items(client.get_or_none(f"/api/v1/communities/{q(community['id'])}/overdue-keys"))
    return render_template("household_index.html", overdue=overdue)


@bp.get("/<unit_id>")
def unit(unit_id):
    return _page(unit_id)


def _resident_call(unit_id: str, form: dict):
    """(path, body) of the form `name` posted for this unit, or (None, errors) when the form itself is incomplete."""
    name, errors = form.get("form", ""), {}
    unit_path, resident = f"/api/v1/units/{q(unit_id)}", q(form.get("resident_id", ""))
    if name == "register":
        body = {
            "unit_id": unit_id,
            "name": form.get("name", ""),
            "phone": form.get("phone", ""),
            "role": form.get("role", ""),
        }
        return "/api/v1/residents", body, errors
    if name == "handover":
        return (
            f"{unit_path}/handover",
            {"owner_id": form.get("resident_id", ""), "notes": form.get("notes") or None},
            errors,
        )
    if name == "move_in":
        return f"{unit_path}/move-in", {"resident_id": form.get("resident_id", "")}, errors
    if name == "move_out":
        return f"{unit_path}/move-out", {}, errors
    if name == "card":
        return f"/api/v1/residents/{resident}/cards", {"card_number": form.get("card_number", "")}, errors
    if name == "pass":
        body = {k: form.get(k, "") for k in ("resident_id", "carrier_name", "items", "valid_on")}
        return f"{unit_path}/passes", body, errors
    if name == "key":
        body = {"label": form.get("label", ""), "authorized": [{"resident_id": form.get("resident_id", "")}]}
        return f"{unit_path}/keys", body, errors
    if name == "lend":
        due = local_instant(form.get("due_back_at", ""), "due_back_at", errors)
        body = {
            "borrower": {"resident_id": form.get("resident_id", "")},
            "reason": form.get("reason", ""),
            "due_back_at": due,
        }
        return f"{unit_path}/keys/{q(form.get('key_id', ''))}/lend", body, errors
    if name == "return":
        return f"{unit_path}/keys/{q(form.get('key_id', ''))}/return", {}, errors
    if name == "vacancy":
        body = {"issues_found": form.get("issues_found") == "on", "findings": form.get("findings", "")}
        return f"{unit_path}/vacancy-checks", body, errors
    if name == "contact":
        body = {
            "kind": form.get("kind", ""),
            "effective": form.get("effective") == "on",
            "notes": form.get("notes") or None,
        }
        return f"/api/v1/residents/{resident}/contacts", body, errors
    abort(404)


@bp.post("/<unit_id>")
def act(unit_id):
    form = request.form
    path, body, errors = _resident_call(unit_id, form)
    if not errors:
        done, errors = attempt(client.post, path, body)
        if not errors and form.get("form") == "vacancy":  # a photo taken in the unit goes with the check
            errors = posted_photo(_check_photos(unit_id, done["id"]))
    if not errors and form.get("form") == "contact" and form.get("resident_id"):
        # The contact's tags (living alone, hardship …) are the resident's: saved with the entry.
        tags = [t for t in TAGS if form.get(f"tag_{t}") == "on"]
        _, errors = attempt(client.patch, f"/api/v1/residents/{q(form['resident_id'])}", {"tags": tags})
    if errors:
        return _page(unit_id, form.get("form"), errors, 422)
    return redirect(url_for("household.unit", unit_id=unit_id, done=form.get("form")), code=303)


def _check_photos(unit_id: str, check_id: str) -> str:
    return f"/api/v1/units/{q(unit_id)}/vacancy-checks/{q(check_id)}/photos"


@bp.post("/<unit_id>/vacancy-checks/<check_id>/photos")
def add_check_photo(unit_id, check_id):
    """One more photo of a vacancy check already recorded."""
    errors = required_photo(_check_photos(unit_id, check_id))
    if errors:
        return _page(unit_id, f"photo-{check_id}", errors, 422)
    return redirect(url_for("household.unit", unit_id=unit_id) + "#vacancy-checks", code=303)


@bp.get("/<unit_id>/vacancy-checks/<check_id>/photos/<photo_id>")
def check_photo(unit_id, check_id, photo_id):
    return file_response(f"{_check_photos(unit_id, check_id)}/{q(photo_id)}/content")
