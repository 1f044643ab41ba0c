"""HTTP API of the tickets service: load → call domain → dump; no rules here."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from guanjia import idempotency, web

from . import domain
from .models import idempotency_keys
from .schemas import TicketCreate, TicketListArgs, TicketOut, TicketPage

blp = Blueprint("tickets", __name__, url_prefix="/api/v1/tickets", description="Repair, complaint and enquiry tickets")


def _fetch_unit_from_residents(unit_id: str):
    client = current_app.extensions["tickets.residents"]
    response = client.get(f"/api/v1/units/{unit_id}")
    if response.status == 404:
        return None
    if response.status != 200:
        from guanjia.errors import UpstreamUnavailable

        raise UpstreamUnavailable(f"residents answered {response.status} when checking the unit")
    return response.json()


@blp.route("", methods=["POST"])
@blp.arguments(TicketCreate)
@blp.response(201, TicketOut)
@blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}, "required": False}])
def create_ticket(data):
    """File a ticket. With Idempotency-Key a retried request returns the first response."""
    principal = web.principal()
    key = request.headers.get("Idempotency-Key")
    payload_hash = idempotency.request_hash(data)
    try:
        with web.database().transaction() as session:
            if key:
                prior = idempotency.lookup(session, idempotency_keys, principal.subject, key, payload_hash)
                if prior:
                    return _replay(prior)
            ticket = domain.create_ticket(session, web.settings(), principal, data, _fetch_unit_from_residents)
            body = TicketOut().dump(ticket)
            if key:
                idempotency.remember(session, idempotency_keys, principal.subject, key, payload_hash, 201, body)
    except IntegrityError:
        if not key:
            raise
        # The same key raced in from a concurrent retry: answer with what the winner stored.
        with web.database().transaction() as session:
            prior = idempotency.lookup(session, idempotency_keys, principal.subject, key, payload_hash)
        return _replay(prior)
    return ticket


def _replay(prior):
    status, body = prior
    response = jsonify(body)
    response.status_code = status
    return response


@blp.route("", methods=["GET"])
@blp.arguments(TicketListArgs, location="query")
@blp.response(200, TicketPage)
def list_tickets(args):
    """Tickets the caller may see, newest first; residents see only their own."""
    query = domain.list_tickets(web.principal(), args)
    with web.database().transaction() as session:
        return web.paginate(session, query, args["page"], args["page_size"])


@blp.route("/<ticket_id>", methods=["GET"])
@blp.response(200, TicketOut)
def get_ticket(ticket_id):
    with web.database().transaction() as session:
        return domain.get_ticket(session, web.principal(), ticket_id)
