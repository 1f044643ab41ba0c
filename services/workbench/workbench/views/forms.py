"""What the screens of patrols, household affairs, renovations, notices and the roster share: one API write whose
problem+json becomes the form's field errors, and the zones/communities a person works in."""

from __future__ import annotations

from urllib.parse import quote

from flask import request

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


def zones() -> list:
    """The zones the person may see (a butler their own, managers every zone of their communities)."""
    person = me()
    found = []
    for community in communities():
        found += items(client.get_or_none("/api/v1/zones", {"community_id": community["id"], "page_size": 100}))
    if person.get("role") == "butler" and person.get("zones"):
        found = [z for z in found if z["id"] in person["zones"]]
    return found
