"""What the screens of patrols, household affairs, renovations, notices and the roster share: one API write whose
problem+json becomes the form's field errors, and the zones/communities a person works in."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import abort, current_app, request
from flask_babel import gettext as _

from .. import client
from .common import items, me


def q(value: str) -> str:
    return quote(value or "", safe="")


def attempt(call, *args, **kwargs) -> tuple[object, dict]:
    """(the API's answer, {}) — or (None, {field: message}) when the API refuses (a 5xx still raises: 503 page)."""
    try:
        return call(*args, **kwargs), {}
    except client.ApiError as exc:
        if isinstance(exc, client.Unavailable):
            raise
        return None, (exc.field_errors or {"_": exc.message})


def form_values(*names: str) -> dict:
    """The non-empty fields of the posted form, stripped."""
    return {n: request.form.get(n, "").strip() for n in names if request.form.get(n, "").strip()}


def communities() -> list:
    """The communities the person works in, with their names (the API answers only those)."""
    return items(client.get_or_none("/api/v1/communities", {"page_size": 100}))


def chosen_community() -> tuple[list, dict | None]:
    """(the person's communities, the one the request names by `community_id` or else the first); 404 for one
    they do not work in."""
    known = communities()
    chosen = request.values.get("community_id") or (known[0]["id"] if known else "")
    community = next((c for c in known if c["id"] == chosen), None)
    if chosen and community is None:
        abort(404)
    return known, community


def zones() -> list:
    """The zones the person may see (a butler their own, managers every zone of their communities)."""
    person = me()
    found = []
    for community in communities():
        found += items(client.get_or_none("/api/v1/zones", {"community_id": community["id"], "page_size": 100}))
    if person.get("role") == "butler" and person.get("zones"):
        found = [z for z in found if z["id"] in person["zones"]]
    return found


def local_instant(text: str, field: str, errors: dict) -> str | None:
    """`2026-12-02T18:00` from a datetime-local input, as an aware ISO instant in the instance's timezone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors[field] = _("Use the form 2026-12-02 18:00.")
        return None
    tz = ZoneInfo(current_app.extensions["guanjia.settings"].timezone)
    return moment.replace(tzinfo=tz).astimezone(UTC).isoformat()


def household_matches(search: str) -> list:
    """Households found by unit number, phone or name (two characters at least), one row per home: the forms that
    act for a household (a sign-up, an order) pick it from here; the API still decides which are the person's."""
    if len(search) < 2:
        return []
    found, seen = [], set()
    for row in items(client.get_or_none("/api/v1/residents", {"q": search, "page_size": 20})):
        if row.get("unit_id") and row["unit_id"] not in seen:
            seen.add(row["unit_id"])
            found.append(row)
    return found


def household_form(errors=None, form_name=None) -> dict:
    """What a page that acts for a household shows around its forms: the search (`q`), the households it found,
    and the API's refusal of the form named `form_name` (with the values posted, to fill it in again)."""
    search = request.values.get("q", "").strip()[:50]
    return {
        "q": search,
        "matches": household_matches(search),
        "errors": errors or {},
        "form_name": form_name,
        "values": request.form,
    }
