"""The zones and the households (by name: 1栋1-101) a person works with in one community, for the screens that act
for a household (a survey answer taken by phone, a household reminder): a butler their zones', managers all."""

from __future__ import annotations

from .. import client
from .common import items, me

MAX_PAGES = 10  # 1,000 households per screen: a butler's zones are far fewer


def zones_of(community_id: str, own_only: bool = False) -> list:
    """The community's zones by name; `own_only`: a butler's own zones only (what they may act for)."""
    found = items(client.get_or_none("/api/v1/zones", {"community_id": community_id, "page_size": 100}))
    person = me()
    if own_only and person.get("role") == "butler":
        found = [z for z in found if z["id"] in (person.get("zones") or [])]
    return sorted(found, key=lambda z: z.get("name") or "")


def buildings_of(community_id: str) -> list:
    """The community's buildings by name."""
    found = items(client.get_or_none("/api/v1/buildings", {"community_id": community_id, "page_size": 100}))
    return sorted(found, key=lambda b: b.get("name") or "")


def audience_names(community_id: str, zone_ids: list, building_ids: list) -> tuple[list, list]:
    """The names of an audience's zones and buildings (a survey's, an activity's), in their order; `—` for one
    no longer known."""
    zones = {z["id"]: z["name"] for z in zones_of(community_id)} if zone_ids else {}
    buildings = {b["id"]: b["name"] for b in buildings_of(community_id)} if building_ids else {}
    return [zones.get(z, "—") for z in zone_ids], [buildings.get(b, "—") for b in building_ids]


def households_of(community_id: str) -> list:
    """The households the person may act for, each with its label and zone's name, in label order."""
    person = me()
    if person.get("role") == "butler":
        scopes = [{"zone_id": z["id"]} for z in zones_of(community_id, own_only=True)]
    else:
        scopes = [{"community_id": community_id}]
    found: list = []
    for scope in scopes:
        for page in range(1, MAX_PAGES + 1):
            answer = client.get_or_none("/api/v1/units", {**scope, "page_size": 100, "page": page})
            rows = items(answer)
            found += rows
            if len(rows) < 100:
                break
    return sorted(found, key=lambda u: (u.get("zone_name") or "", u.get("unit_label") or u.get("number") or ""))


def labels(households: list) -> dict:
    """unit id → its label (1栋1-101), for lists that name households by id."""
    return {u["id"]: u.get("unit_label") or u.get("number") or "—" for u in households}
