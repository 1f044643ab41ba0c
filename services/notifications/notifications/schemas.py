"""Request and response schemas of the notifications API."""

import marshmallow as ma

from guanjia.web import PageArgs, UtcDateTime, page_schema

from .domain import STATUSES


class NotificationOut(ma.Schema):
    """One delivery; the recipient only as a masked number plus the resident id."""

    id = ma.fields.String()
    event_type = ma.fields.String()
    event_id = ma.fields.String()
    subject = ma.fields.String()
    community_id = ma.fields.String(allow_none=True)
    recipient = ma.fields.String(attribute="recipient_masked", allow_none=True)
    recipient_id = ma.fields.String()
    channel = ma.fields.String()
    locale = ma.fields.String()
    text = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    created_at = UtcDateTime()
    sent_at = UtcDateTime(allow_none=True)


class NotificationListArgs(PageArgs):
    event_type = ma.fields.String(validate=ma.validate.Length(max=100))
    event_id = ma.fields.String(validate=ma.validate.Length(max=64))
    subject = ma.fields.String(validate=ma.validate.Length(max=200))
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    recipient_id = ma.fields.String(validate=ma.validate.Length(max=36))


NotificationPage = page_schema(NotificationOut, "NotificationPage")
