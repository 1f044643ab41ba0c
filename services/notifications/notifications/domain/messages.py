"""Direct messages to a bare number (the gateway's sign-in codes): the number sealed until the outcome is known."""

from __future__ import annotations

import json
import re
from datetime import datetime

from sqlalchemy.orm import Session

from guanjia.db import new_id
from guanjia.errors import Invalid
from guanjia.pii import decrypt_pii, encrypt_pii, mask_phone, normalize_phone, pii_lookup_hash

from ..models import Delivery
from ..templates import TEMPLATES
from .deliveries import Plan, Recipient, plan_deliveries

DIRECT_TEMPLATES = ("login_code",)
PHONE_KEY_LENGTH = 32


def seal(settings, value: dict) -> str:
    """A direct message's number and variables, encrypted at rest by the library's scheme (AES-GCM, HKDF key)."""
    return encrypt_pii(settings.pii_key, json.dumps(value))


def unseal(settings, token: str) -> dict:
    return json.loads(decrypt_pii(settings.pii_key, token))


def phone_key(settings, phone: str) -> str:
    """The library's lookup hash of a bare number, standing for it as the recipient (caps per number without
    keeping it); 32 hex digits (128 bits) fit the recipient id columns."""
    return pii_lookup_hash(settings.pii_key, phone)[:PHONE_KEY_LENGTH]


def queue_message(session: Session, settings, now: datetime, body: dict) -> Delivery:
    """A direct message (a sign-in code) to a bare number: queued, urgent by default, the number kept sealed."""
    template = body["template"]
    if template not in DIRECT_TEMPLATES:
        raise Invalid("template", f"not a direct-message template; known: {', '.join(DIRECT_TEMPLATES)}")
    phone = normalize_phone(body["phone"], "phone")
    variables = {str(k): str(v) for k, v in (body.get("variables") or {}).items()}
    wanted = TEMPLATES[template].variables
    for name in variables:
        if name not in wanted:
            raise Invalid(f"variables.{name}", f"unknown variable; {template} takes {', '.join(wanted)}")
    for name in wanted:
        if not variables.get(name):
            raise Invalid(f"variables.{name}", "required")
    if template == "login_code" and not re.fullmatch(r"[0-9A-Za-z]{4,10}", variables["code"]):
        raise Invalid("variables.code", "4 to 10 letters or digits")
    delivery_id = new_id()
    plan = Plan(
        template=template,
        variables={},  # the code lives only in the encrypted secret
        recipients=[Recipient(phone_key(settings, phone), "phone")],
        community_id=None,
        urgent=bool(body.get("urgent", True)),
        essential=True,
        kind="message",
        extra={"secret": seal(settings, {"phone": phone, "variables": variables})},
    )
    [delivery] = plan_deliveries(
        session, key=delivery_id, event_type=f"message.{template}", subject=f"message/{delivery_id}", plan=plan, now=now
    )
    delivery.recipient_masked = mask_phone(phone)
    delivery.subject = f"message/{delivery.id}"
    return delivery
