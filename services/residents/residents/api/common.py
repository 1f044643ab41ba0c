"""What every blueprint of the residents API shares: idempotent creation and the display fields of a row."""

from __future__ import annotations

from guanjia import web
from guanjia.display import annotate

from ..domain import display, people
from ..models import idempotency_keys

IDEMPOTENCY_HEADER = {"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}, "required": False}


def create_idempotently(data: dict, create) -> object:
    """Run `create(session, principal) -> body` once per Idempotency-Key; a retry gets the first response."""
    return web.idempotent(idempotency_keys, data, 201, lambda session: create(session, web.principal()))


def resident_view(resident):
    return people.resident_view(web.settings(), web.principal(), resident)


def with_units(session, result):
    """Unit label, building and zone names on each row (one query per response, not per row)."""
    return annotate(result, [display.units(session)])


def with_unit_rows(session, result):
    """The same display fields on units themselves (their id is `id`)."""
    return annotate(result, [display.units(session, "id")])


def with_household(session, result, staff_field: str | None = None):
    """Unit label and the masked resident name (and the staff member's name) on each row."""
    fields = [display.units(session), display.residents(session, web.principal(), "resident_id", "resident_name")]
    if staff_field:
        fields.append(display.staff(staff_field, staff_field.removesuffix("_id").removesuffix("_by") + "_name"))
    return annotate(result, fields)
