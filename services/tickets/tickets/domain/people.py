"""The people a ticket names (reporter, assignee): checked with their owners before anything is written.

Residents belong to the residents service, staff accounts to the gateway; both are asked with this service's own
credential. An id of another community (or of nobody) is refused as a 422 naming the field, never stored.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import current_app

from guanjia.errors import Invalid

# Who can work a ticket: the staff roles of the community (and instance-wide admins).
ASSIGNABLE_ROLES = ("admin", "butler", "senior_butler", "cs_manager", "engineer")


def _q(value: str) -> str:
    return quote(str(value), safe="")


class People:
    """Looked up at call time through the app's service clients (embedded apps join after this exists)."""

    def resident(self, resident_id: str) -> dict | None:
        return current_app.extensions["tickets.residents"].get_found(f"/api/v1/residents/{_q(resident_id)}")

    def zone(self, zone_id: str) -> dict | None:
        return current_app.extensions["tickets.residents"].get_found(f"/api/v1/internal/zones/{_q(zone_id)}")

    def unit(self, unit_id: str) -> dict | None:
        return current_app.extensions["tickets.residents"].get_found(f"/api/v1/units/{_q(unit_id)}")

    def building(self, building_id: str) -> dict | None:
        return current_app.extensions["tickets.residents"].get_found(f"/api/v1/buildings/{_q(building_id)}")

    def staff(self, user_id: str) -> dict | None:
        return current_app.extensions["tickets.gateway"].get_found(f"/api/v1/internal/users/{_q(user_id)}/contact")


def is_current(resident, community_id: str, unit_id: str | None) -> bool:
    """A current resident of the ticket's unit (a public-area ticket: of its community): residents' answer or the
    projection's row alike."""
    return (
        resident.get("community_id") == community_id
        and (unit_id is None or resident.get("unit_id") == unit_id)
        and resident.get("status") not in ("moved_out", "removed")
    )


def check_reporter(people: People, reporter_id: str, community_id: str, unit_id: str | None) -> dict:
    """The reporter as residents answers, when a current resident of the ticket's unit; else a 422."""
    resident = people.resident(reporter_id)
    if resident is None or not is_current(resident, community_id, unit_id):
        raise Invalid("reporter_id", "not a current resident of this ticket's unit")
    return resident


def zone_community(people: People, zone_id: str) -> str | None:
    """The community of a zone tickets has not heard of yet (zone.updated may still be on its way)."""
    zone = people.zone(zone_id)
    return zone.get("community_id") if zone else None


def check_assignee(people: People, assignee_id: str, community_id: str, field: str = "assignee_id") -> None:
    """The assignee is a staff member of the ticket's community (admins work everywhere)."""
    user = people.staff(assignee_id)
    if (
        user is None
        or user.get("role") not in ASSIGNABLE_ROLES
        or (user.get("role") != "admin" and community_id not in (user.get("communities") or []))
    ):
        raise Invalid(field, "no such staff member in this community")
