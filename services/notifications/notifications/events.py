"""Events the notifications service publishes: their type names and payload schemas (the contract)."""

import marshmallow as ma

NOTIFICATION_SENT = "notification.sent"
NOTIFICATION_DELIVERED = "notification.delivered"
NOTIFICATION_FAILED = "notification.failed"


class NotificationSentV1(ma.Schema):
    """notification.sent v1 — a provider accepted the message; the recipient by id, never the phone.

    event_id/event_type are null for community notices and direct messages; recipient_id is null for a
    direct message to a bare number (a sign-in code)."""

    delivery_id = ma.fields.String(required=True)
    event_id = ma.fields.String(required=True, allow_none=True)
    event_type = ma.fields.String(required=True, allow_none=True)
    subject = ma.fields.String(required=True)
    channel = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    recipient_id = ma.fields.String(required=True, allow_none=True)


class NotificationDeliveredV1(NotificationSentV1):
    """notification.delivered v1 — the provider's receipt says the handset has it."""


class NotificationFailedV1(NotificationSentV1):
    """notification.failed v1 — it will not arrive: refused, undelivered per receipt, or retries exhausted."""

    error_code = ma.fields.String(required=True)


PUBLISHED = {
    NOTIFICATION_SENT: NotificationSentV1,
    NOTIFICATION_DELIVERED: NotificationDeliveredV1,
    NOTIFICATION_FAILED: NotificationFailedV1,
}
