"""Events the notifications service publishes: their type names and payload schemas (the contract)."""

import marshmallow as ma

NOTIFICATION_SENT = "notification.sent"


class NotificationSentV1(ma.Schema):
    """notification.sent v1 — which delivery went out because of which event; the recipient by id, never the phone."""

    delivery_id = ma.fields.String(required=True)
    event_id = ma.fields.String(required=True)
    event_type = ma.fields.String(required=True)
    subject = ma.fields.String(required=True)
    channel = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    recipient_id = ma.fields.String(required=True)


PUBLISHED = {NOTIFICATION_SENT: NotificationSentV1}
