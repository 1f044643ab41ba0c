"""SMS providers behind one interface: send(phone, text) -> provider message id (console now; Aliyun, Tencent, Twilio later)."""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from guanjia.pii import mask_phone

log = logging.getLogger("notifications.sms")


class SmsRejected(Exception):
    """The provider refused this message for good (bad number, template rejected): do not retry it."""


class SmsProvider(Protocol):
    name: str

    def send(self, phone: str, text: str) -> str:
        """Send `text` to `phone` (E.164); return the provider's message id.

        Raise SmsRejected for a permanent refusal; any other exception is treated as transient and retried.
        """


class ConsoleSms:
    """Development provider: one log line per message with the phone masked; nothing is sent or kept."""

    name = "console"

    def send(self, phone: str, text: str) -> str:
        message_id = f"console-{uuid.uuid4()}"
        log.info(
            "sms (console) to %s: %s",
            mask_phone(phone),
            text,
            extra={"provider": self.name, "provider_message_id": message_id},
        )
        return message_id


PROVIDERS = {"console": ConsoleSms}


def provider_from_settings(settings) -> SmsProvider:
    """The provider named by settings.sms_provider (GUANJIA_SMS_PROVIDER, default console)."""
    name = settings.sms_provider
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise RuntimeError(f"unknown SMS provider {name!r}; known: {', '.join(sorted(PROVIDERS))}") from None
