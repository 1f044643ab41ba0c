"""Events the notifications service handles: tolerant payload schemas, the handlers' context and HANDLERS."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from urllib.parse import quote

import marshmallow as ma
from sqlalchemy.orm import Session

from guanjia.bus import RetryLater
from guanjia.errors import UpstreamUnavailable
from guanjia.http import ServiceClient

from . import domain
from .sms import SmsProvider, provider_from_settings


@dataclass
class Context:
    """What every handler receives: settings, the residents client (contacts) and the SMS provider."""

    settings: object
    residents: ServiceClient
    sms: SmsProvider


def make_context(settings, upstreams: dict) -> Context:
    return Context(
        settings=settings,
        residents=ServiceClient(settings, upstreams, "residents"),
        sms=provider_from_settings(settings),
    )


def fetch_contact(client: ServiceClient, resident_id: str) -> dict | None:
    """The resident's contact from residents; None when it has none (404); RetryLater when residents is down."""
    try:
        response = client.get(f"/api/v1/internal/residents/{quote(resident_id, safe='')}/contact")
    except UpstreamUnavailable as exc:
        raise RetryLater(f"residents unavailable: {exc}") from None
    if response.status == 404:
        return None
    if response.status != 200:
        # 5xx, or 401/403 from a credential mismatch: retry, then keep it in the dead-letter queue for replay.
        raise RetryLater(f"residents answered {response.status} for a contact")
    return response.json()


class TicketCreated(ma.Schema):
    """ticket.created as notifications needs it; unknown fields are ignored (additive changes)."""

    class Meta:
        unknown = ma.EXCLUDE

    ticket_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1))
    number = ma.fields.String(required=True, validate=ma.validate.Length(min=1))
    reporter_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=36))
    category = ma.fields.String(required=True)
    community_id = ma.fields.String(load_default=None)


def on_ticket_created(context: Context, session: Session, event: dict) -> None:
    """SMS the reporter that their ticket was received (a missing field is a poison message)."""
    data = TicketCreated().load(event["data"])
    domain.send_sms(
        session,
        context.settings,
        context.sms,
        partial(fetch_contact, context.residents),
        event=event,
        recipient_id=data["reporter_id"],
        community_id=data["community_id"] or event.get("community"),
        render=partial(_render_ticket_created, context.settings.sms_signature, data),
    )


def _render_ticket_created(signature: str, data: dict, locale: str) -> str:
    return domain.render_ticket_created(signature, data["category"], data["number"], locale)


# The payload schema of every consumed type (checked against the producers' documents in tests/contract).
SCHEMAS = {"ticket.created": TicketCreated}

HANDLERS = {
    "ticket.created": on_ticket_created,
}
