"""事务提醒 and 生日祝福: the reminders a butler schedules for the households of their zones (gas safety check, key
collection, document expiry; one-off or monthly, quarterly, yearly), cancelled while active; and who opted in to a
birthday greeting, as staff see it (the date masked `**-**`). From the unit page (one household) or `/reminders`."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from .. import client
from .common import items
from .forms import attempt, chosen_community, form_values, q
from .households import households_of, labels

bp = Blueprint("reminders", __name__, url_prefix="/reminders")
KINDS = ("gas_safety_check", "key_collection", "document_expiry", "water_meter_reading", "other")
REPEATS = ("none", "monthly", "quarterly", "yearly")
STATUSES = ("active", "done", "cancelled")


def _resident_names(greetings: list) -> dict:
    """resident id → the name as the API shows it to this person (masked for most staff)."""
    names = {}
    for greeting in greetings:
        resident = client.get_or_none(f"/api/v1/residents/{q(greeting['resident_id'])}")
        names[greeting["resident_id"]] = resident["name"] if resident else "—"
    return names


def _page(errors=None, status=200):
    places, community = chosen_community()
    unit_id = request.values.get("unit_id", "")
    show = request.args.get("status", "active")
    reminders, greetings, households = [], [], []
    if community:
        households = households_of(community["id"])
        params = {"community_id": community["id"], "page_size": 100}
        listed = {
            **params,
            **({"unit_id": unit_id} if unit_id else {}),
            **({"status": show} if show in STATUSES else {}),
        }
        reminders = items(client.get_or_none("/api/v1/reminders", listed))
        greetings = items(client.get_or_none("/api/v1/greetings", params))
        if unit_id:
            greetings = [g for g in greetings if g["unit_id"] == unit_id]
    return (
        render_template(
            "reminders.html",
            places=places,
            community=community,
            unit_id=unit_id,
            show=show,
            statuses=STATUSES,
            reminders=reminders,
            greetings=greetings,
            households=households,
            unit_labels=labels(households),
            resident_names=_resident_names(greetings),
            kinds=KINDS,
            repeats=REPEATS,
            errors=errors or {},
            values=request.form,
        ),
        status,
    )


@bp.get("")
def index():
    return _page()


@bp.post("")
def create():
    body = form_values("unit_id", "kind", "due_on", "repeat", "note")
    _, errors = attempt(client.post, "/api/v1/reminders", body)
    if errors:
        return _page(errors, 422)
    community_id = request.form.get("community_id", "")
    back = url_for("reminders.index", community_id=community_id, unit_id=request.form.get("back_unit_id") or None)
    return redirect(back, code=303)


@bp.post("/<reminder_id>/cancel")
def cancel(reminder_id: str):
    _, errors = attempt(client.post, f"/api/v1/reminders/{q(reminder_id)}/cancel")
    if errors:
        return _page({"cancel": next(iter(errors.values()))}, 409)
    community_id = request.form.get("community_id", "")
    back = url_for("reminders.index", community_id=community_id, unit_id=request.form.get("back_unit_id") or None)
    return redirect(back, code=303)
