"""Display fields of the tickets service's responses: unit labels and zone names from its projections, staff names."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.display import Shown, annotate
from guanjia.errors import UpstreamUnavailable
from guanjia.names import staff_names

from .domain.community import DEFAULT_CONFIG, stored_kinds
from .models import CommunityConfig, Equipment, Ticket, Unit, Zone


def units(session: Session) -> Shown:
    def values(ids):
        rows = session.execute(select(Unit.id, Unit.label, Unit.number).where(Unit.id.in_(ids))).all()
        return {uid: label or number for uid, label, number in rows}  # a bulk-imported unit has no label: its number

    return Shown("unit_id", "unit_label", values)


def zones(session: Session) -> Shown:
    def values(ids):
        return dict(session.execute(select(Zone.id, Zone.name).where(Zone.id.in_(ids))).all())

    return Shown("zone_id", "zone_name", values)


def closable(session: Session) -> Shown:
    """The community's direct-close kinds on each ticket, so allowed_actions lists `close` only where it applies."""

    def values(ids):
        rows = session.execute(
            select(CommunityConfig.community_id, CommunityConfig.direct_close_categories).where(
                CommunityConfig.community_id.in_(ids)
            )
        ).all()
        stored = {cid: stored_kinds(kinds) for cid, kinds in rows}
        return {cid: stored.get(cid, DEFAULT_CONFIG["direct_close_categories"]) for cid in ids}

    return Shown("community_id", "closable_kinds", values)


def staff(source: str, target: str) -> Shown:
    return Shown(source, target, staff_names)


def tickets(session: Session, result):
    """Unit label, zone name, assignee's and first responder's names on every ticket of `result`."""
    fields = [
        units(session),
        zones(session),
        staff("assignee_id", "assignee_name"),
        staff("first_responder", "first_responder_name"),
        closable(session),
    ]
    return annotate(result, fields)


def filed(session: Session, ticket):
    """A ticket just filed: the two-statement create read its unit label, zone name and the community's
    direct-close kinds already, so only the staff names are added; else as `tickets`."""
    if getattr(ticket, "display_read", False):
        return annotate(
            ticket, [staff("assignee_id", "assignee_name"), staff("first_responder", "first_responder_name")]
        )
    return tickets(session, ticket)


def complaints(session: Session, result):
    """Unit label, zone name and assignee's name on the rows of a report's complaint list."""
    return annotate(result, [units(session), zones(session), staff("assignee_id", "assignee_name")])


def timeline(result):
    return annotate(result, [staff("actor", "actor_name")])


def plans(session: Session, result):
    return annotate(result, [zones(session), staff("staff_ids", "staff_names")])


def rounds(session: Session, result):
    return annotate(result, [zones(session), staff("started_by", "started_by_name")])


def notes(result):
    return annotate(result, [staff("author", "author_name")])


def photos(result):
    return annotate(result, [staff("uploaded_by", "uploaded_by_name")])


def incidents(result):
    """Staff names on an incident (reporter, people on site) and on its tasks, log and photos."""
    nested = {
        "tasks": [staff("owner_id", "owner_name")],
        "log": [staff("actor", "actor_name")],
        "photos": [staff("uploaded_by", "uploaded_by_name")],
    }
    fields = [staff("reported_by", "reported_by_name"), staff("on_site", "on_site_names")]
    return annotate(result, fields, nested)


def equipment_names(session: Session) -> Shown:
    def values(ids):
        return dict(session.execute(select(Equipment.id, Equipment.name).where(Equipment.id.in_(ids))).all())

    return Shown("equipment_id", "equipment_name", values)


def ticket_numbers(session: Session, source: str = "ticket_ids", target: str = "ticket_numbers") -> Shown:
    def values(ids):
        return dict(session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids))).all())

    return Shown(source, target, values)


def equipment(session: Session, result):
    """The zone's name on each piece of equipment."""
    return annotate(result, [zones(session)])


def maintenance_plans(session: Session, result):
    return annotate(result, [equipment_names(session), staff("assignee_id", "assignee_name")])


def maintenance_orders(session: Session, result):
    fields = [
        equipment_names(session),
        staff("assignee_id", "assignee_name"),
        staff("completed_by", "completed_by_name"),
        ticket_numbers(session, "fault_ticket_ids", "fault_ticket_numbers"),
    ]
    return annotate(result, fields)


def equipment_history(session: Session, result: dict) -> dict:
    annotate(result["tickets"], [staff("assignee_id", "assignee_name")])
    maintenance_orders(session, result["maintenance"])
    return result


def quality_case_list(result):
    return annotate(result, [staff("owner_id", "owner_name")])


def quality_case(session: Session, result):
    """The owner's and opener's names, the linked tickets' numbers, the feedback authors' names."""
    fields = [staff("owner_id", "owner_name"), staff("opened_by", "opened_by_name"), ticket_numbers(session)]
    return annotate(result, fields, {"feedback": [staff("author", "author_name")]})


def buildings(directory) -> Shown:
    """Building names from residents (a page of acceptance plans names a few buildings); its id if residents is away."""

    def values(ids):
        found = {}
        for building_id in ids:
            try:
                found[building_id] = (directory.building(building_id) or {}).get("name")
            except UpstreamUnavailable:
                found[building_id] = None
        return found

    return Shown("building_id", "building_name", values)


def acceptance_plans(session: Session, result, directory):
    """Inspectors' names and the building's name on plans; unit labels on a plan's units."""
    fields = [staff("inspector_ids", "inspector_names"), buildings(directory)]
    return annotate(result, fields, {"units": [units(session)]})


def acceptance_defects(session: Session, result):
    return annotate(result, [units(session)])


def acceptance_checklist(session: Session, result):
    return annotate(result, [units(session), staff("inspected_by", "inspected_by_name")], {"defects": [units(session)]})
