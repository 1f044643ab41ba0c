"""Events the tickets service publishes: their type names and payload schemas (the contract)."""

import marshmallow as ma

TICKET_CREATED = "ticket.created"


class TicketCreatedV1(ma.Schema):
    """ticket.created v1 — ids and facts only: no description text, no names, no phone numbers."""

    ticket_id = ma.fields.String(required=True)
    number = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    reporter_id = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    created_at = ma.fields.String(required=True)


PUBLISHED = {TICKET_CREATED: TicketCreatedV1}
