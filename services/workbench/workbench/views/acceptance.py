"""新楼验收 / 承接查验: a building's acceptance plan with its progress, each unit's checklist on a phone (pass or defect,
with a photo, the responsible party and the rectification deadline), re-inspection, and the defect list for the
developer with its XLSX download. Every rule is the tickets API's; these screens only carry the forms."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from urllib3 import encode_multipart_formdata

from .. import client
from .common import items
from .forms import attempt, communities, form_values, q

bp = Blueprint("acceptance", __name__, url_prefix="/acceptance")

AC = "/api/v1/tickets/acceptance"
PARTIES = ("contractor", "developer")
STATUSES = ("open", "closed")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _buildings() -> list[tuple[str, str, str]]:
    """(building id, community › building, community id) of the person's communities."""
    found = []
    for community in communities():
        params = {"community_id": community["id"], "page_size": 100}
        for building in items(client.get_or_none("/api/v1/buildings", params)):
            found.append((building["id"], f"{community['name']} › {building['name']}", community["id"]))
    return found


def _staff() -> list[dict]:
    found, seen = [], set()
    for community in communities():
        for person in items(client.get_or_none("/api/v1/users/staff", {"community_id": community["id"]})):
            if person["id"] not in seen:
                seen.add(person["id"])
                found.append(person)
    return found


def _templates() -> list[tuple[str, str]]:
    """(template id, name) — the default checklist, then each community's own, named with its community."""
    found = []
    for community in communities():
        for template in items(client.get_or_none(f"{AC}/templates", {"community_id": community["id"]})):
            if template["community_id"] is None and found:
                continue  # the default once
            name = template["name"] if template["community_id"] is None else f"{community['name']} › {template['name']}"
            found.append((template["id"], name))
    return found


def _index(values=None, errors=None, status=200):
    plans = client.get(f"{AC}/plans", {"page_size": 50, **({"status": "open"} if not request.args.get("all") else {})})
    context = {"plans": plans, "buildings": _buildings(), "staff": _staff(), "templates": _templates()}
    return render_template("acceptance.html", values=values or {}, errors=errors or {}, **context), status


@bp.get("")
def index():
    return _index()


@bp.post("")
def create():
    buildings = _buildings()
    building_id = request.form.get("building_id", "")
    body = {
        **form_values("name", "starts_on", "ends_on", "template_id"),
        "building_id": building_id,
        "community_id": next((c for b, _, c in buildings if b == building_id), ""),
        "inspector_ids": request.form.getlist("inspector_ids"),
    }
    created, errors = attempt(client.post, f"{AC}/plans", body)
    if errors:
        values = {**request.form.to_dict(), "inspector_ids": request.form.getlist("inspector_ids")}
        return _index(values, errors, 422)
    return redirect(url_for("acceptance.plan", plan_id=created["id"]), code=303)


@bp.get("/<plan_id>")
def plan(plan_id, errors=None, status=200):
    found = client.get(f"{AC}/plans/{q(plan_id)}")
    return render_template("acceptance_plan.html", plan=found, errors=errors or {}), status


@bp.post("/<plan_id>/close")
def close(plan_id):
    _, errors = attempt(client.post, f"{AC}/plans/{q(plan_id)}/close", {})
    if errors:
        return plan(plan_id, errors=errors, status=409)
    return redirect(url_for("acceptance.plan", plan_id=plan_id), code=303)


# ---------------------------------------------------------------- a unit's checklist (phone)


def _item_errors(errors: dict) -> dict:
    """`results.3.rectify_by` → {3: {"rectify_by": message}}; what names no item stays under "_"."""
    by_item: dict = {}
    for key, message in errors.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "results" and parts[1].isdigit():
            by_item.setdefault(int(parts[1]), {})[parts[2]] = message
    return by_item


def _checklist(plan_id, unit_id, values=None, errors=None, status=200):
    found = client.get(f"{AC}/plans/{q(plan_id)}/units/{q(unit_id)}")
    errors = errors or {}
    return (
        render_template(
            "acceptance_unit.html",
            checklist=found,
            parties=PARTIES,
            values=values or {},
            errors=errors,
            item_errors=_item_errors(errors),
        ),
        status,
    )


@bp.get("/<plan_id>/units/<unit_id>")
def unit(plan_id, unit_id):
    return _checklist(plan_id, unit_id)


def _results(count: int) -> list[dict]:
    """One result per checklist item from the form: pass unless marked a defect (then its fields)."""
    results = []
    for position in range(count):
        result = {"position": position, "result": request.form.get(f"result-{position}", "pass")}
        note = request.form.get(f"note-{position}", "").strip()
        if note:
            result["note"] = note
        if result["result"] == "defect":
            for field in ("description", "responsible_party", "rectify_by"):
                value = request.form.get(f"{field}-{position}", "").strip()
                if value:
                    result[field] = value
        results.append(result)
    return results


@bp.post("/<plan_id>/units/<unit_id>")
def inspect(plan_id, unit_id):
    count = len(client.get(f"{AC}/plans/{q(plan_id)}/units/{q(unit_id)}")["checklist"])
    path = f"{AC}/plans/{q(plan_id)}/units/{q(unit_id)}/inspection"
    done, errors = attempt(client.post, path, {"results": _results(count)})
    if errors:
        return _checklist(plan_id, unit_id, request.form.to_dict(), errors, 422)
    photo_errors = {}
    for defect in done["defects"]:
        photo = request.files.get(f"photo-{defect['position']}")
        if photo and photo.filename:
            _, failed = attempt(_upload, defect["id"], photo)
            if failed:
                photo_errors[f"results.{defect['position']}.photo"] = failed.get("file") or failed.get("_")
    if photo_errors:
        return _checklist(plan_id, unit_id, errors=photo_errors, status=422)
    return redirect(url_for("acceptance.unit", plan_id=plan_id, unit_id=unit_id), code=303)


def _upload(defect_id: str, upload) -> None:
    body, content_type = encode_multipart_formdata(
        {"file": (upload.filename, upload.read(), upload.mimetype or "application/octet-stream")}
    )
    client.decode(client.raw("POST", f"{AC}/defects/{q(defect_id)}/photos", body=body, content_type=content_type))


def _back(defect: dict):
    target = request.form.get("next")
    if target == "list":
        return redirect(url_for("acceptance.defects", plan_id=defect["plan_id"]), code=303)
    return redirect(url_for("acceptance.unit", plan_id=defect["plan_id"], unit_id=defect["unit_id"]), code=303)


@bp.post("/defects/<defect_id>/reinspect")
def reinspect(defect_id):
    defect = client.get(f"{AC}/defects/{q(defect_id)}")
    _, errors = attempt(
        client.post, f"{AC}/defects/{q(defect_id)}/reinspect", form_values("outcome", "note", "rectify_by")
    )
    if errors:
        scoped = {f"results.{defect['position']}.{k}": v for k, v in errors.items()}
        return _checklist(defect["plan_id"], defect["unit_id"], errors={**errors, **scoped}, status=422)
    return _back(defect)


@bp.post("/defects/<defect_id>/photos")
def photo(defect_id):
    defect = client.get(f"{AC}/defects/{q(defect_id)}")
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        errors = {f"results.{defect['position']}.photo": "请选择照片"}
        return _checklist(defect["plan_id"], defect["unit_id"], errors=errors, status=422)
    _, errors = attempt(_upload, defect_id, upload)
    if errors:
        message = errors.get("file") or errors.get("_")
        scoped = {f"results.{defect['position']}.photo": message}
        return _checklist(defect["plan_id"], defect["unit_id"], errors=scoped, status=422)
    return _back(defect)


@bp.get("/defects/<defect_id>/photos/<photo_id>")
def photo_content(defect_id, photo_id):
    """A defect's photo through the person's own token, shown as an image."""
    response = client.raw("GET", f"{AC}/defects/{q(defect_id)}/photos/{q(photo_id)}/content")
    if response.status != 200:
        abort(404)
    content_type = response.headers.get("Content-Type", "application/octet-stream")
    if not content_type.startswith("image/"):
        abort(404)
    headers = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"}
    return Response(response.body, content_type=content_type, headers=headers)


# ---------------------------------------------------------------- the defect list


def _filters(plan_id: str) -> dict:
    chosen = {"plan_id": plan_id}
    for name, allowed in (("status", STATUSES), ("responsible_party", PARTIES)):
        if request.args.get(name) in allowed:
            chosen[name] = request.args[name]
    return chosen


@bp.get("/<plan_id>/defects")
def defects(plan_id):
    found = client.get(f"{AC}/plans/{q(plan_id)}")
    filters = _filters(plan_id)
    listed = client.get(f"{AC}/defects", {**filters, "page_size": 100})
    return render_template(
        "acceptance_defects.html",
        plan=found,
        defects=listed,
        filters=filters,
        chosen={k: v for k, v in filters.items() if k != "plan_id"},
        parties=PARTIES,
        statuses=STATUSES,
    )


@bp.get("/<plan_id>/defects.xlsx")
def export(plan_id):
    filters = "&".join(f"{k}={q(v)}" for k, v in _filters(plan_id).items())
    response = client.raw("GET", f"{AC}/defects?{filters}&format=xlsx")
    if response.status != 200:
        abort(404)
    disposition = response.headers.get("Content-Disposition") or "attachment"
    return Response(response.body, content_type=XLSX, headers={"Content-Disposition": disposition})
