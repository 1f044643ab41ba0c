"""装修管理: applications by state, an application taken at the desk on an owner's behalf, review and approval (the
API decides which role may), site inspection with a violation form, re-inspection of a violation, acceptance."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from .. import client
from .common import items
from .forms import attempt, local_instant, q
from .tickets import file_response, posted_photo, required_photo

bp = Blueprint("renovations", __name__, url_prefix="/renovations")

STATUSES = ("submitted", "reviewed", "approved", "rejected", "completed", "failed")
VIOLATION_CATEGORIES = (
    "unapproved_structural_change",
    "outside_permitted_hours",
    "debris",
    "fire_safety",
    "noise",
    "other",
)
SEVERITIES = ("minor", "serious")


@bp.get("")
def index():
    status = request.args.get("status", "")
    params = {"page_size": 50, **({"status": status} if status in STATUSES else {})}
    found = client.get("/api/v1/renovations", params)
    return render_template("renovations.html", found=found, statuses=STATUSES, status=status)


def _new_page(unit_id: str, errors=None, status=200):
    unit = client.get_or_none(f"/api/v1/units/{q(unit_id)}") if unit_id else None
    owners = []
    if unit:
        residents = items(client.get_or_none("/api/v1/residents", {"unit_id": unit_id, "page_size": 50}))
        owners = [r for r in residents if r.get("role") == "owner"]
    search = request.args.get("q", "").strip()
    matches = items(client.get_or_none("/api/v1/residents", {"q": search, "page_size": 10})) if len(search) >= 2 else []
    context = {"unit": unit, "owners": owners, "matches": matches, "q": search, "errors": errors or {}}
    return render_template("renovation_new.html", values=request.form, **context), status


@bp.get("/new")
def new():
    return _new_page(request.args.get("unit_id", ""))


@bp.post("/new")
def apply():
    form = request.form
    body = {
        "unit_id": form.get("unit_id", ""),
        "applicant_id": form.get("applicant_id", ""),
        "contractor": {"name": form.get("contractor_name", ""), "phone": form.get("contractor_phone", "")},
        "items": [{"description": form.get("item", ""), "structural": form.get("structural") == "on"}],
        "planned_start": form.get("planned_start", ""),
        "planned_end": form.get("planned_end", ""),
    }
    created, errors = attempt(client.post, "/api/v1/renovations", body)
    if created is None:
        flat = {
            k.replace("contractor.", "contractor_").replace("items.0.description", "item"): v for k, v in errors.items()
        }
        return _new_page(body["unit_id"], flat, 422)
    return redirect(url_for("renovations.detail", renovation_id=created["id"]), code=303)


def _detail(renovation_id: str, action=None, errors=None, status=200):
    base = f"/api/v1/renovations/{q(renovation_id)}"
    renovation = client.get(base)
    inspections = items(client.get_or_none(f"{base}/inspections"))
    return (
        render_template(
            "renovation_detail.html",
            renovation=renovation,
            inspections=inspections,
            action=action,
            errors=errors or {},
            values=request.form,
            categories=VIOLATION_CATEGORIES,
            severities=SEVERITIES,
        ),
        status,
    )


@bp.get("/<renovation_id>")
def detail(renovation_id):
    return _detail(renovation_id)


def _action_body(name: str, form) -> tuple[str, dict | None, dict]:
    errors: dict = {}
    if name == "review":
        return "review", {"passed": form.get("passed") == "on", "notes": form.get("notes", "")}, errors
    if name == "approve":
        return "approve", {}, errors
    if name == "permit":
        reason = form.get("waive_deposit_reason", "").strip()
        return "permit", ({"waive_deposit_reason": reason} if reason else {}), errors
    if name == "reject":
        return "reject", {"reason": form.get("reason", "")}, errors
    if name == "inspect":
        body = {"findings": form.get("findings", "")}
        if form.get("violation") == "on":
            rectify_by = local_instant(form.get("rectify_by", ""), "violation.rectify_by", errors)
            body["violation"] = {
                "category": form.get("category", ""),
                "severity": form.get("severity", ""),
                "evidence": form.get("evidence", ""),
                "rectify_by": rectify_by,
            }
        return "inspections", body, errors
    if name == "reinspect":
        path = f"violations/{q(form.get('violation_id', ''))}/reinspection"
        return path, {"rectified": form.get("rectified") == "on", "notes": form.get("notes", "")}, errors
    if name == "accept":
        body = {
            "passed": form.get("passed") == "on",
            "notes": form.get("notes", ""),
            "close": form.get("close") == "on",
        }
        return "acceptance", body, errors
    return "", None, {"_": "unknown action"}


@bp.post("/<renovation_id>/<name>")
def act(renovation_id, name):
    path, body, errors = _action_body(name, request.form)
    if body is not None and not errors:
        done, errors = attempt(client.post, f"/api/v1/renovations/{q(renovation_id)}/{path}", body)
        if not errors and name == "inspect":  # a photo taken on the site goes with the inspection just recorded
            errors = posted_photo(_photos_path(renovation_id, done["id"]))
    if errors:
        flat = {k.removeprefix("violation."): v for k, v in errors.items()}
        return _detail(renovation_id, name, flat, 422)
    return redirect(url_for("renovations.detail", renovation_id=renovation_id), code=303)


def _photos_path(renovation_id: str, inspection_id: str) -> str:
    return f"/api/v1/renovations/{q(renovation_id)}/inspections/{q(inspection_id)}/photos"


@bp.post("/<renovation_id>/inspections/<inspection_id>/photos")
def add_inspection_photo(renovation_id, inspection_id):
    """One more photo of an inspection already recorded."""
    errors = required_photo(_photos_path(renovation_id, inspection_id))
    if errors:
        return _detail(renovation_id, f"photo-{inspection_id}", errors, 422)
    return redirect(url_for("renovations.detail", renovation_id=renovation_id) + "#inspections", code=303)


@bp.get("/<renovation_id>/inspections/<inspection_id>/photos/<photo_id>")
def inspection_photo(renovation_id, inspection_id, photo_id):
    return file_response(f"{_photos_path(renovation_id, inspection_id)}/{q(photo_id)}/content")
