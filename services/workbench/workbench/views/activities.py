"""社区活动与业主见面会: the community's activities, a new one (time, place, capacity, sign-up deadline, the audience
of zones and/or buildings), publishing
or cancelling it, sign-ups taken by the butler for a household (confirmed or on the waiting list), check-in on the
day, photos; for an owner meeting the minutes, attendance by household and the issues raised, each handed on as a
ticket or answered on the spot. Every rule is the API's; its refusals stand under the fields."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import client
from .common import items
from .forms import attempt, chosen_community, household_form, local_instant, q
from .households import audience_names, buildings_of, zones_of
from .tickets import file_response, upload_file

bp = Blueprint("activities", __name__, url_prefix="/activities")

KINDS = ("festival", "sport", "culture", "volunteer", "owner_meeting")
TOPICS = ("lift", "parking", "cleaning", "greening", "security", "repairs", "fees", "noise", "facilities", "other")
TICKET_CATEGORIES = ("repair", "complaint", "inquiry", "suggestion", "service_request")
TIMES = ("starts_at", "ends_at", "signup_closes_at")


def _base(activity_id: str) -> str:
    return f"/api/v1/activities/{q(activity_id)}"


@bp.get("")
def index():
    places, community = chosen_community()
    kind = request.args.get("kind", "")
    found = []
    if community:
        params = {"community_id": community["id"], "page_size": 50, **({"kind": kind} if kind in KINDS else {})}
        found = items(client.get_or_none("/api/v1/activities", params))
    return render_template(
        "activities.html", places=places, community=community, activities=found, kinds=KINDS, kind=kind
    )


def _new_page(community, places, errors=None, status=200):
    return (
        render_template(
            "activity_new.html",
            places=places,
            community=community,
            kinds=KINDS,
            zones=zones_of(community["id"]) if community else [],
            buildings=buildings_of(community["id"]) if community else [],
            chosen_zones=request.form.getlist("zone_ids"),
            chosen_buildings=request.form.getlist("building_ids"),
            errors=errors or {},
            values=request.form,
        ),
        status,
    )


@bp.get("/new")
def new():
    places, community = chosen_community()
    return _new_page(community, places)


@bp.post("/new")
def create():
    places, community = chosen_community()
    form, errors = request.form, {}
    body = {
        "community_id": community["id"] if community else "",
        "title": form.get("title", "").strip(),
        "kind": form.get("kind", ""),
        "place": form.get("place", "").strip(),
        "waiting_list": form.get("waiting_list") == "on",
        "zone_ids": form.getlist("zone_ids"),
        "building_ids": form.getlist("building_ids"),
    }
    for name in TIMES:
        body[name] = local_instant(form.get(name, ""), name, errors)
    body["capacity"] = form.get("capacity", "").strip()  # the API reads the number or names the field
    if not errors:
        created, errors = attempt(client.post, "/api/v1/activities", body)
        if created is not None:
            return redirect(url_for("activities.detail", activity_id=created["id"]), code=303)
        errors = {name.split(".")[0]: message for name, message in errors.items()}  # zone_ids.0 → zone_ids
    return _new_page(community, places, errors, 422)


def _detail(activity_id: str, errors=None, form_name=None, status=200):
    base = _base(activity_id)
    activity = client.get(base)
    signups = items(client.get_or_none(f"{base}/signups", {"page_size": 100}))
    photos = items(client.get_or_none(f"{base}/photos", {"page_size": 100}))
    meeting = activity["kind"] == "owner_meeting"
    issues = items(client.get_or_none(f"{base}/issues", {"page_size": 100})) if meeting else []
    attended = [s for s in signups if s.get("checked_in_at")]
    zone_names, building_names = audience_names(
        activity["community_id"], activity.get("zone_ids") or [], activity.get("building_ids") or []
    )
    return (
        render_template(
            "activity_detail.html",
            activity=activity,
            signups=signups,
            attended=attended,
            zone_names=zone_names,
            building_names=building_names,
            photos=photos,
            meeting=meeting,
            issues=issues,
            topics=TOPICS,
            categories=TICKET_CATEGORIES,
            **household_form(errors, form_name),
        ),
        status,
    )


@bp.get("/<activity_id>")
def detail(activity_id):
    return _detail(activity_id)


def _done(activity_id: str, form_name: str, errors: dict):
    """Back to the activity (303), or the page again with the API's refusal under the form's fields (422)."""
    if errors:
        return _detail(activity_id, errors, form_name, 422)
    return redirect(url_for("activities.detail", activity_id=activity_id), code=303)


@bp.post("/<activity_id>/status")
def change_status(activity_id):
    _, errors = attempt(client.patch, _base(activity_id), {"status": request.form.get("status", "")})
    return _done(activity_id, "status", errors)


@bp.post("/<activity_id>/minutes")
def minutes(activity_id):
    _, errors = attempt(client.patch, _base(activity_id), {"minutes": request.form.get("minutes", "").strip()})
    return _done(activity_id, "minutes", errors)


@bp.post("/<activity_id>/signups")
def sign_up(activity_id):
    body = {"unit_id": request.form.get("unit_id", "")}
    people = request.form.get("people", "").strip()
    if people:
        body["people"] = people
    _, errors = attempt(client.post, f"{_base(activity_id)}/signups", body)
    return _done(activity_id, "signup", errors)


@bp.post("/<activity_id>/signups/<signup_id>/<action>")
def signup_action(activity_id, signup_id, action):
    if action not in ("check-in", "cancel"):
        return _done(activity_id, "signups", {"_": "unknown action"})
    _, errors = attempt(client.post, f"{_base(activity_id)}/signups/{q(signup_id)}/{action}")
    return _done(activity_id, "signups", errors)


@bp.post("/<activity_id>/photos")
def add_photo(activity_id):
    photo = request.files.get("file")
    if photo is None or not photo.filename:
        return _done(activity_id, "photo", {"file": _("Choose a photo.")})
    _added, errors = attempt(upload_file, f"{_base(activity_id)}/photos", photo)
    return _done(activity_id, "photo", errors)


@bp.get("/<activity_id>/photos/<photo_id>")
def photo(activity_id, photo_id):
    return file_response(f"{_base(activity_id)}/photos/{q(photo_id)}/content")


@bp.post("/<activity_id>/issues")
def raise_issue(activity_id):
    form = request.form
    body = {"topic": form.get("topic", ""), "description": form.get("description", "").strip()}
    if form.get("unit_id"):
        body["unit_id"] = form["unit_id"]
    _, errors = attempt(client.post, f"{_base(activity_id)}/issues", body)
    return _done(activity_id, "issue", errors)


@bp.post("/<activity_id>/issues/<issue_id>/<action>")
def issue_action(activity_id, issue_id, action):
    if action == "ticket":
        body = {"category": request.form.get("category", "")}
    elif action == "close":
        body = {}
    else:
        return _done(activity_id, "issues", {"_": "unknown action"})
    _, errors = attempt(client.post, f"{_base(activity_id)}/issues/{q(issue_id)}/{action}", body)
    return _done(activity_id, f"issue-{issue_id}", errors)
