"""Request and response schemas of the notifications API."""

import json

import marshmallow as ma

from guanjia.web import PageArgs, UtcDateTime, enum_out, page_schema

from .domain.deliveries import CHANNELS, STATUSES
from .templates import LOCALES

NOTICE_SCOPES = ("community", "building", "zone")


class NotificationOut(ma.Schema):
    """One delivery; the recipient only as a masked number plus the resident or user id."""

    id = ma.fields.String()
    kind = enum_out(
        ("event", "notice", "message"), metadata={"description": "event, notice or message (a sign-in code)"}
    )
    event_type = ma.fields.String()
    event_id = ma.fields.String()
    subject = ma.fields.String()
    community_id = ma.fields.String(allow_none=True)
    notice_id = ma.fields.String(allow_none=True)
    recipient = ma.fields.String(attribute="recipient_masked", allow_none=True)
    recipient_id = ma.fields.String()
    recipient_kind = enum_out(
        ("resident", "user", "phone"), metadata={"description": "resident, user (staff) or phone"}
    )
    channel = enum_out(CHANNELS, metadata={"description": "sms or wechat (the inbox is GET /api/v1/inbox)"})
    template = ma.fields.String(allow_none=True)
    locale = ma.fields.String()
    text = ma.fields.String(allow_none=True)
    status = enum_out(STATUSES)
    reason = ma.fields.String(allow_none=True)
    error_code = ma.fields.String(allow_none=True)
    urgent = ma.fields.Boolean()
    essential = ma.fields.Boolean()
    provider = ma.fields.String(allow_none=True)
    attempts = ma.fields.Integer()
    duplicate_risk = ma.fields.Boolean(
        metadata={"description": "a worker stopped between sending and recording; this one may have arrived twice"}
    )
    segments = ma.fields.Integer(allow_none=True)
    resent_count = ma.fields.Integer()
    next_attempt_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    sent_at = UtcDateTime(allow_none=True)
    delivered_at = UtcDateTime(allow_none=True)
    failed_at = UtcDateTime(allow_none=True)


class NotificationListArgs(PageArgs):
    channel = ma.fields.String(validate=ma.validate.OneOf(CHANNELS))
    event_type = ma.fields.String(validate=ma.validate.Length(max=100))
    event_id = ma.fields.String(validate=ma.validate.Length(max=64))
    subject = ma.fields.String(validate=ma.validate.Length(max=200))
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    recipient_id = ma.fields.String(validate=ma.validate.Length(max=36))
    community_id = ma.fields.String(validate=ma.validate.Length(max=36))
    notice_id = ma.fields.String(validate=ma.validate.Length(max=36))
    phone = ma.fields.String(
        validate=ma.validate.Length(max=20), metadata={"description": "matches the masked number (138****8000)"}
    )
    created_from = ma.fields.AwareDateTime()
    created_to = ma.fields.AwareDateTime()


NotificationPage = page_schema(NotificationOut, "NotificationPage")


class StatsArgs(ma.Schema):
    date_from = ma.fields.Date(metadata={"description": "first local day (default today)"})
    date_to = ma.fields.Date(metadata={"description": "last local day (default date_from)"})
    community_id = ma.fields.String(validate=ma.validate.Length(max=36))
    channel = ma.fields.String(
        load_default="sms",
        validate=ma.validate.OneOf((*CHANNELS, "inbox")),
        metadata={"description": "sms (default), wechat or inbox"},
    )


class DayStats(ma.Schema):
    date = ma.fields.String()
    sent = ma.fields.Integer(metadata={"description": "accepted by a provider (delivered included)"})
    delivered = ma.fields.Integer()
    failed = ma.fields.Integer()
    skipped = ma.fields.Integer()
    pending = ma.fields.Integer()
    segments = ma.fields.Integer(metadata={"description": "billed parts: 70 characters for one, else 67 per part"})
    estimated_cost = ma.fields.String(metadata={"description": "yuan, decimal string"})
    read = ma.fields.Integer(metadata={"description": "inbox only: messages read"})


class StatsOut(ma.Schema):
    timezone = ma.fields.String()
    channel = enum_out((*CHANNELS, "inbox"))
    items = ma.fields.List(ma.fields.Nested(DayStats))


class MessageIn(ma.Schema):
    phone = ma.fields.String(required=True, validate=ma.validate.Length(min=5, max=20))
    template = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))
    variables = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(), load_default=dict)
    urgent = ma.fields.Boolean(load_default=True)


class MessageOut(ma.Schema):
    delivery_id = ma.fields.String()


class LinkOut(ma.Schema):
    title = ma.fields.String()
    url = ma.fields.String()


def _https(value: str) -> None:
    if not value.startswith("https://") or len(value) <= len("https://") or any(c.isspace() for c in value):
        raise ma.ValidationError("an https:// address")


class LinkIn(ma.Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))
    url = ma.fields.String(required=True, validate=[ma.validate.Length(max=500), _https])


class ImageOut(ma.Schema):
    url = ma.fields.String()
    alt = ma.fields.String()


class ImageIn(ma.Schema):
    """An image of a long notice: an https address like a link's (the residents' pages load it), with its text."""

    url = ma.fields.String(required=True, validate=[ma.validate.Length(max=500), _https])
    alt = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))


class LongNoticeIn(ma.Schema):
    """The long form for the inbox and WeChat: no SMS limits, links allowed."""

    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    body = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=20000),
        metadata={"description": "the full text (no SMS cap; 20,000 characters at most)"},
    )
    links = ma.fields.List(ma.fields.Nested(LinkIn), load_default=list, validate=ma.validate.Length(max=10))
    images = ma.fields.List(ma.fields.Nested(ImageIn), load_default=list, validate=ma.validate.Length(max=9))


class LongNoticeOut(ma.Schema):
    title = ma.fields.String()
    body = ma.fields.String()
    links = ma.fields.List(ma.fields.Nested(LinkOut))
    images = ma.fields.List(ma.fields.Nested(ImageOut))


class NoticeIn(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=36))
    scope = ma.fields.String(required=True, validate=ma.validate.OneOf(NOTICE_SCOPES))
    target_id = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(min=1, max=36))
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20))
    body = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    urgent = ma.fields.Boolean(load_default=False)
    essential = ma.fields.Boolean(
        load_default=True, metadata={"description": "false: residents who opted out of non-essential messages skip it"}
    )
    long = ma.fields.Nested(
        LongNoticeIn,
        load_default=None,
        allow_none=True,
        metadata={"description": "the long form (inbox, WeChat); title and body above are the SMS form"},
    )


class NoticePreviewOut(ma.Schema):
    recipients = ma.fields.Integer(metadata={"description": "residents the SMS would be sent to"})
    opted_out = ma.fields.Integer(
        metadata={"description": "of the audience, residents who opted out of non-essential SMS"}
    )
    text = ma.fields.String(metadata={"description": "the SMS as sent (zh-CN template, with the signature)"})
    length = ma.fields.Integer(metadata={"description": "characters of the SMS"})
    segments = ma.fields.Integer(metadata={"description": "billed parts: 1 up to 70 characters, else 67 per part"})


class NoticeOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    scope = enum_out(NOTICE_SCOPES)
    target_id = ma.fields.String(allow_none=True)
    title = ma.fields.String()
    body = ma.fields.String()
    urgent = ma.fields.Boolean()
    essential = ma.fields.Boolean()
    long = ma.fields.Nested(LongNoticeOut, allow_none=True)
    recipients = ma.fields.Integer()
    deliveries = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), dump_default=dict)
    created_by = ma.fields.String()
    created_at = UtcDateTime()


class NoticeListArgs(PageArgs):
    community_id = ma.fields.String(validate=ma.validate.Length(max=36))


NoticePage = page_schema(NoticeOut, "NoticePage")


class TemplateOut(ma.Schema):
    key = ma.fields.String()
    variables = ma.fields.List(ma.fields.String())
    texts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    overridden = ma.fields.List(ma.fields.String())


class TemplateIn(ma.Schema):
    text = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))


class TemplateLocaleArgs(ma.Schema):
    locale = ma.fields.String(validate=ma.validate.OneOf(LOCALES))


class PreferenceIn(ma.Schema):
    opted_out = ma.fields.Boolean(
        load_default=None, metadata={"description": "of non-essential messages; left as it is when absent"}
    )
    opted_out_channels = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(("sms", "wechat"))),
        load_default=None,
        validate=ma.validate.Length(max=2),
        metadata={"description": "the pushed channels to get nothing on (the inbox always receives); absent: as is"},
    )


class PreferenceOut(ma.Schema):
    resident_id = ma.fields.String()
    opted_out = ma.fields.Boolean()
    opted_out_channels = ma.fields.List(ma.fields.String())


class QuietHoursIn(ma.Schema):
    wechat_at_night = ma.fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": "non-urgent WeChat messages go during quiet hours; null: the instance's default"},
    )


class QuietHoursOut(ma.Schema):
    """Which channels carry non-urgent messages during the quiet hours, in one community."""

    community_id = ma.fields.String()
    quiet_hours = ma.fields.String(allow_none=True)
    sms_at_night = ma.fields.Boolean()
    wechat_at_night = ma.fields.Boolean()
    wechat_at_night_default = ma.fields.Boolean()
    inbox_at_night = ma.fields.Boolean()
    updated_by = ma.fields.String(allow_none=True)
    updated_at = UtcDateTime(allow_none=True)


class AliyunReceipt(ma.Schema):
    """One entry of Aliyun's SmsReport push (unknown keys ignored)."""

    class Meta:
        unknown = ma.EXCLUDE

    biz_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    phone_number = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=32))
    success = ma.fields.Boolean(required=True)
    err_code = ma.fields.String(load_default=None, allow_none=True)


class TencentReceipt(ma.Schema):
    """One entry of Tencent's delivery-report callback (unknown keys ignored)."""

    class Meta:
        unknown = ma.EXCLUDE

    sid = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    report_status = ma.fields.String(required=True, validate=ma.validate.OneOf(["SUCCESS", "FAIL"]))
    errmsg = ma.fields.String(load_default=None, allow_none=True)


class InboxMessageOut(ma.Schema):
    """One message of the caller's own inbox: the full text (no SMS length cap) and its links."""

    id = ma.fields.String()
    kind = enum_out(("event", "notice"))
    event_type = ma.fields.String()
    subject = ma.fields.String()
    community_id = ma.fields.String(allow_none=True)
    notice_id = ma.fields.String(allow_none=True)
    title = ma.fields.String()
    body = ma.fields.String()
    links = ma.fields.Method("_links")
    images = ma.fields.Method("_images", metadata={"description": "a long notice's images: [{url, alt}]"})
    urgent = ma.fields.Boolean()
    read = ma.fields.Method("_read", metadata={"type": "boolean"})
    read_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()

    def _links(self, message):
        return json.loads(message.links or "[]")

    def _images(self, message):
        return json.loads(message.images or "[]")

    def _read(self, message):
        return message.read_at is not None


class InboxListArgs(PageArgs):
    unread = ma.fields.Boolean(load_default=False, metadata={"description": "only messages not read yet"})
    kind = ma.fields.String(validate=ma.validate.OneOf(("event", "notice")))


class InboxPage(page_schema(InboxMessageOut, "InboxPageBase")):
    unread = ma.fields.Integer(metadata={"description": "unread messages in the whole inbox"})


class BindingCodeIn(ma.Schema):
    unit_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=36))


class BindingCodeOut(ma.Schema):
    code = ma.fields.String(metadata={"description": "shown once: give it to the household"})
    unit_id = ma.fields.String()
    expires_at = UtcDateTime()


class BindingIn(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=4, max=20))
    oauth_code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "the code WeChat's snsapi_base redirect gave the residents' page"},
    )


class BindingOut(ma.Schema):
    """A resident's WeChat binding; the openid only masked."""

    resident_id = ma.fields.String()
    unit_id = ma.fields.String()
    openid = ma.fields.String(attribute="openid_masked", metadata={"description": "masked (oAbc****wxyz)"})
    created_at = UtcDateTime()


class WechatCheckArgs(ma.Schema):
    """WeChat's server-URL check (GET): its signature over the configured Token, and the string to echo."""

    signature = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))
    timestamp = ma.fields.String(load_default="", validate=ma.validate.Length(max=20))
    nonce = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))
    echostr = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))


class ProviderField(ma.Schema):
    name = ma.fields.String()
    set = ma.fields.Boolean()
    value = ma.fields.String(allow_none=True, metadata={"description": "None for a secret; an identifier's ends only"})


class ProviderOut(ma.Schema):
    name = ma.fields.String()
    in_chain = ma.fields.Boolean(metadata={"description": "the provider or one of its failovers"})
    fields = ma.fields.List(ma.fields.Nested(ProviderField))
    templates = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(), metadata={"description": "template key → provider id"}
    )


class ProviderSettingsOut(ma.Schema):
    provider = ma.fields.String()
    chain = ma.fields.List(ma.fields.String())
    signature = ma.fields.String()
    quiet_hours = ma.fields.String(allow_none=True)
    recipient_per_minute = ma.fields.Integer()
    recipient_per_day = ma.fields.Integer()
    community_daily_budget = ma.fields.Integer()
    price_fen_per_segment = ma.fields.String()
    providers = ma.fields.List(ma.fields.Nested(ProviderOut))
