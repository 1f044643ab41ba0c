"""HTTP API of the notifications service: delivery log, resend, statistics, notices, templates, preferences,
provider receipts and the internal direct-message endpoint; no rules here."""

from __future__ import annotations

import hashlib
import hmac
import xml.etree.ElementTree as ET

import marshmallow as ma
from flask import current_app, request

from guanjia import web
from guanjia.auth import require_role
from guanjia.errors import Forbidden, Invalid, NotFound
from guanjia.web import Blueprint

from . import examples
from .domain import channel_hours, deliveries, inbox_messages, messages, opt_outs, provider, wechat_bindings, wording
from .domain import notices as notice_rules
from .domain import receipts as receipt_rules
from .domain import stats as delivery_stats
from .domain.quiet_hours import today as local_today
from .models import Notice
from .schemas import (
    AliyunReceipt,
    BindingCodeIn,
    BindingCodeOut,
    BindingIn,
    BindingOut,
    InboxListArgs,
    InboxMessageOut,
    InboxPage,
    MessageIn,
    MessageOut,
    NoticeIn,
    NoticeListArgs,
    NoticeOut,
    NoticePage,
    NoticePreviewOut,
    NotificationListArgs,
    NotificationOut,
    NotificationPage,
    PreferenceIn,
    PreferenceOut,
    ProviderSettingsOut,
    QuietHoursIn,
    QuietHoursOut,
    StatsArgs,
    StatsOut,
    TemplateIn,
    TemplateOut,
    TencentReceipt,
    WechatCheckArgs,
)
from .sms import twilio_signature

RECEIPT_PATHS = {f"/api/v1/notifications/receipts/{p}" for p in ("aliyun", "tencent", "twilio", "wechat")}
WECHAT_EVENT_MAX_BYTES = 16 * 1024

blp = Blueprint(
    "notifications", __name__, url_prefix="/api/v1/notifications", description="Delivery log, resend, statistics"
)
notices = Blueprint(
    "notices", __name__, url_prefix="/api/v1/notifications/notices", description="Community notices (社区公告)"
)
templates = Blueprint(
    "notification-templates", __name__, url_prefix="/api/v1/notifications/templates", description="SMS templates"
)
wechat = Blueprint(
    "wechat", __name__, url_prefix="/api/v1/notifications/wechat", description="WeChat official-account bindings"
)
inbox = Blueprint("inbox", __name__, url_prefix="/api/v1/inbox", description="The caller's own in-app inbox")
internal = Blueprint("internal-messages", __name__, url_prefix="/api/v1/internal", description="Service-to-service")
receipts = Blueprint(
    "receipts", __name__, url_prefix="/api/v1/notifications/receipts", description="Provider delivery receipts"
)


def context():
    return current_app.extensions["notifications.context"]


# -- the delivery log ------------------------------------------------------------------------------------------------
@blp.route("", methods=["GET"])
@blp.arguments(NotificationListArgs, location="query")
@blp.response(200, NotificationPage)
def list_notifications(args):
    """Deliveries the caller may see, newest first; a resident sees only those sent to them. Phones are masked."""
    query = deliveries.list_deliveries(web.principal(), args)
    with web.database().transaction() as session:
        return web.paginate(session, query, args["page"], args["page_size"])


@blp.route("/stats", methods=["GET"])
@blp.arguments(StatsArgs, location="query")
@blp.response(200, StatsOut)
def stats(args):
    """Per local day: sent, delivered, failed, skipped, pending, billed segments and estimated cost."""
    settings = web.settings()
    today = local_today(web.now(), settings.timezone)
    args.setdefault("date_from", today)
    args.setdefault("date_to", args["date_from"])
    with web.database().transaction() as session:
        items = delivery_stats.daily_stats(session, web.principal(), settings, context().sms, args)
    return {"timezone": settings.timezone, "channel": args["channel"], "items": items}


@blp.route("/preferences/me", methods=["GET"])
@blp.response(200, PreferenceOut)
def get_preference():
    principal = web.principal()
    if principal.role != "resident" or not principal.resident_id:
        raise Forbidden("residents only")
    with web.database().transaction() as session:
        return opt_outs.preference(session, principal.resident_id)


@blp.route("/preferences/me", methods=["PUT"])
@blp.arguments(PreferenceIn)
@blp.response(200, PreferenceOut)
def set_preference(body):
    """A resident opts out of (or back into) non-essential messages: welcomes, feedback requests, notices
    marked non-essential. Receipts, fee reminders and warnings still arrive. `opted_out_channels`: nothing at all
    by SMS and/or WeChat (WeChat opted out → SMS; both → the inbox alone)."""
    with web.database().transaction() as session:
        return opt_outs.set_opt_out(session, web.principal(), web.now(), body["opted_out"], body["opted_out_channels"])


@blp.route("/communities/<community_id>/quiet-hours", methods=["GET"])
@blp.response(200, QuietHoursOut)
def get_quiet_hours(community_id):
    """Which channels carry non-urgent messages during quiet hours in this community (manager, admin)."""
    with web.database().transaction() as session:
        return channel_hours.get(session, web.principal(), community_id, context().sms, context().wechat)


@blp.route("/communities/<community_id>/quiet-hours", methods=["PUT"])
@blp.arguments(QuietHoursIn)
@blp.response(200, QuietHoursOut)
def set_quiet_hours(body, community_id):
    """The community's manager (or admin) lets non-urgent WeChat messages go at night, or not (null: the instance's
    default). SMS always keeps quiet hours; the inbox never holds a message."""
    with web.database().transaction() as session:
        return channel_hours.put(
            session, web.principal(), web.now(), community_id, body["wechat_at_night"], context().sms, context().wechat
        )


@blp.route("/<delivery_id>", methods=["GET"])
@blp.response(200, NotificationOut)
def get_notification(delivery_id):
    with web.database().transaction() as session:
        return deliveries.get_delivery(session, web.principal(), delivery_id)


@blp.route("/<delivery_id>/resend", methods=["POST"])
@blp.response(202, NotificationOut)
def resend_notification(delivery_id):
    """Send a failed message again (staff of its community); it goes through quiet hours and caps again."""
    with web.database().transaction() as session:
        return deliveries.resend(session, web.principal(), web.now(), delivery_id)


# -- notices ---------------------------------------------------------------------------------------------------------
def _notice_out(session, notice):
    out = {name: getattr(notice, name) for name in NoticeOut().fields if name not in ("deliveries", "long")}
    out["long"] = notice_rules.long_of(notice)
    out["deliveries"] = notice_rules.notice_counts(session, notice.id)
    return out


@notices.route("", methods=["POST"])
@notices.arguments(NoticeIn, example=examples.NOTICE_IN)
@notices.response(201, NoticeOut, example=examples.NOTICE_OUT)
def create_notice(body):
    """Fan a notice out to the residents of a community, a building or a zone (within caps and quiet hours
    unless urgent). Admin, cs_manager and senior_butler of the community; a butler to their own zones."""
    with web.database().transaction() as session:
        notice = notice_rules.create_notice(
            session, context().directory, web.principal(), web.now(), body, context().wechat
        )
        session.flush()
        return _notice_out(session, notice)


@notices.route("/preview", methods=["POST"])
@notices.arguments(NoticeIn)
@notices.response(200, NoticePreviewOut)
def preview_notice(body):
    """What sending this notice would do, without sending it: recipient count and the SMS text with its length."""
    with web.database().transaction() as session:
        return notice_rules.preview_notice(session, context(), web.principal(), body)


@notices.route("", methods=["GET"])
@notices.arguments(NoticeListArgs, location="query")
@notices.response(200, NoticePage, example=examples.NOTICE_PAGE)
def list_notices(args):
    query = notice_rules.visible_notices(web.principal())
    if args.get("community_id"):
        query = query.where(Notice.community_id == args["community_id"])
    with web.database().transaction() as session:
        page = web.paginate(session, query, args["page"], args["page_size"])
        page["items"] = [_notice_out(session, n) for n in page["items"]]
        return page


@notices.route("/<notice_id>", methods=["GET"])
@notices.response(200, NoticeOut)
def get_notice(notice_id):
    with web.database().transaction() as session:
        return _notice_out(session, notice_rules.get_notice(session, web.principal(), notice_id))


# -- templates -------------------------------------------------------------------------------------------------------
@templates.route("", methods=["GET"])
@templates.response(200, TemplateOut(many=True))
def list_templates():
    """Every template with its variables and current texts (the operator's wording where set)."""
    if web.principal().role == "resident":
        raise Forbidden("templates are for staff")
    with web.database().transaction() as session:
        return wording.list_templates(session)


@templates.route("/<key>/<locale>", methods=["PUT"])
@templates.arguments(TemplateIn)
@templates.response(200, TemplateOut)
def set_template(body, key, locale):
    """Admin: the instance's own wording; only the template's variables may be used (else 422 naming `text`).
    Aliyun and Tencent send their own approved templates by code/id; this text is what console and Twilio send."""
    with web.database().transaction() as session:
        return wording.set_template(session, web.principal(), web.now(), key, locale, body["text"])


# -- the in-app inbox -------------------------------------------------------------------------------------------
@inbox.route("", methods=["GET"])
@inbox.arguments(InboxListArgs, location="query")
@inbox.response(200, InboxPage)
def list_inbox(args):
    """The caller's own inbox, newest first (a resident their own, staff their own): full texts and links."""
    principal = web.principal()
    with web.database().transaction() as session:
        page = web.paginate(session, inbox_messages.list_inbox(principal, args), args["page"], args["page_size"])
        page["unread"] = inbox_messages.unread_count(session, principal)
        return page


@inbox.route("/<message_id>/read", methods=["POST"])
@inbox.response(200, InboxMessageOut)
def read_inbox_message(message_id):
    """Mark one of the caller's own messages read (again: harmless, the first reading's time stays)."""
    with web.database().transaction() as session:
        return inbox_messages.mark_read(session, web.principal(), web.now(), message_id)


# -- WeChat bindings ---------------------------------------------------------------------------------------------
@wechat.route("/binding-codes", methods=["POST"])
@wechat.arguments(BindingCodeIn)
@wechat.response(201, BindingCodeOut)
def issue_binding_code(body):
    """Staff of the unit's community: a one-time code (shown once) for a resident of the household to bind their
    WeChat with; valid GUANJIA_WECHAT_BINDING_CODE_HOURS (72 h)."""
    ctx = context()
    with web.database().transaction() as session:
        return wechat_bindings.issue_code(
            session,
            web.settings(),
            ctx.directory,
            web.principal(),
            web.now(),
            body["unit_id"],
            ctx.wechat.binding_code_hours,
        )


@wechat.route("/bindings", methods=["POST"])
@wechat.arguments(BindingIn)
@wechat.response(201, BindingOut)
def bind_wechat(body):
    """A resident redeems the code from the official account's page: WeChat's OAuth code is exchanged for their
    openid (kept sealed, shown masked); template messages go to their WeChat from now on, SMS as the fallback."""
    if not context().wechat.enabled:
        raise NotFound("WeChat is not configured on this instance")
    with web.database().transaction() as session:
        return wechat_bindings.redeem(
            session,
            web.settings(),
            context().wechat_client,
            web.principal(),
            web.now(),
            body["code"],
            body["oauth_code"],
        )


@wechat.route("/bindings/me", methods=["GET"])
@wechat.response(200, BindingOut)
def get_wechat_binding():
    with web.database().transaction() as session:
        return wechat_bindings.own_binding(session, web.principal())


@wechat.route("/bindings/me", methods=["DELETE"])
@wechat.response(204)
def unbind_wechat():
    """The resident unbinds (and so opts out of WeChat): messages go by SMS again."""
    with web.database().transaction() as session:
        wechat_bindings.unbind(session, web.principal())


@blp.route("/provider", methods=["GET"])
@blp.response(200, ProviderSettingsOut)
def provider_settings():
    """Admin: the SMS provider settings in force (chain, signature, quiet hours, caps, template ids); every secret
    only says whether it is set, an access key id shows its ends."""
    return provider.provider_settings(web.principal(), context().sms)


# -- direct messages (the gateway's sign-in codes) -----------------------------------------------------------------
@internal.route("/messages", methods=["POST"])
@internal.arguments(MessageIn)
@internal.response(202, MessageOut)
def send_message(body):
    """Service role only. Queued at once; urgent by default (quiet hours do not hold a sign-in code back).
    The number is kept encrypted until the outcome is known and shown masked; the code never appears in the log."""
    require_role(web.principal(), "service")
    with web.database().transaction() as session:
        delivery = messages.queue_message(session, web.settings(), web.now(), body)
        return {"delivery_id": delivery.id}


# -- provider receipts (public paths: authenticated by the provider's signature or the configured token) ----------
def _token_ok(configured: str) -> None:
    if not configured:
        raise Forbidden("receipts from this provider are not configured on this instance")
    given = request.args.get("token", "")
    if not hmac.compare_digest(given.encode(), configured.encode()):
        raise Forbidden("receipt token does not match")


def _json_list(schema):
    payload = request.get_json(silent=True)
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list):
        raise Invalid("body", "a JSON array of reports")
    try:
        return schema(many=True).load(payload)
    except ma.ValidationError as exc:
        raise Invalid("body", f"invalid report: {exc.messages}") from None


def _apply_all(provider: str, reports: list[tuple[str | list[str], bool, str | None]]) -> list[str]:
    settings, now = web.settings(), web.now()
    with web.database().transaction() as session:
        return [
            receipt_rules.apply_receipt(
                session, settings, now, provider=provider, message_id=mid, delivered=ok, error_code=code
            )
            for mid, ok, code in reports
        ]


@receipts.route("/aliyun", methods=["POST"])
def aliyun_receipt():
    """Aliyun SmsReport HTTP push at `?token=<GUANJIA_SMS_ALIYUN_CALLBACK_TOKEN>`; answers as Aliyun expects. A
    report of a SendBatchSms call names its delivery by biz_id and phone_number."""
    _token_ok(context().sms.aliyun.callback_token)
    reports = _json_list(AliyunReceipt)
    key = web.settings().pii_key
    ids = [receipt_rules.aliyun_message_ids(key, r["biz_id"], r["phone_number"]) for r in reports]
    outcomes = _apply_all("aliyun", [(i, r["success"], r["err_code"]) for i, r in zip(ids, reports, strict=True)])
    if "unknown" in outcomes:
        return {"code": 1, "msg": "unknown biz_id"}  # Aliyun pushes again later (we may not have recorded it yet)
    return {"code": 0, "msg": "成功"}


@receipts.route("/tencent", methods=["POST"])
def tencent_receipt():
    """Tencent delivery-report callback at `?token=<GUANJIA_SMS_TENCENT_CALLBACK_TOKEN>`."""
    _token_ok(context().sms.tencent.callback_token)
    reports = _json_list(TencentReceipt)
    outcomes = _apply_all("tencent", [(r["sid"], r["report_status"] == "SUCCESS", r["errmsg"]) for r in reports])
    if "unknown" in outcomes:
        return {"result": 1, "errmsg": "unknown sid"}
    return {"result": 0, "errmsg": "OK"}


TWILIO_FINAL = {"delivered": True, "undelivered": False, "failed": False}


@receipts.route("/twilio", methods=["POST"])
def twilio_receipt():
    """Twilio status callback; X-Twilio-Signature is verified over the configured callback URL."""
    config = context().sms.twilio
    if not config.auth_token:
        raise Forbidden("receipts from this provider are not configured on this instance")
    params = request.form.to_dict()
    url = config.status_callback_url or request.url
    expected = twilio_signature(config.auth_token, url, params)
    if not hmac.compare_digest(expected.encode(), request.headers.get("X-Twilio-Signature", "").encode()):
        raise Forbidden("X-Twilio-Signature does not match")
    sid, status = params.get("MessageSid"), params.get("MessageStatus")
    if not sid:
        raise Invalid("MessageSid", "required")
    if status not in TWILIO_FINAL:
        return "", 204  # queued/sending/sent: not an outcome yet
    [outcome] = _apply_all("twilio", [(sid, TWILIO_FINAL[status], params.get("ErrorCode") or status)])
    if outcome == "unknown":
        raise NotFound(f"no message {sid}")
    return "", 204


def _wechat_signed() -> None:
    """WeChat signs a push with sha1 of the sorted (Token, timestamp, nonce) in the query string."""
    token = context().wechat.callback_token
    if not token:
        raise Forbidden("receipts from this provider are not configured on this instance")
    args = request.args
    parts = sorted([token, args.get("timestamp", ""), args.get("nonce", "")])
    expected = hashlib.sha1("".join(parts).encode()).hexdigest()
    if not hmac.compare_digest(expected.encode(), args.get("signature", "").encode()):
        raise Forbidden("WeChat signature does not match")


@receipts.route("/wechat", methods=["GET"])
@receipts.arguments(WechatCheckArgs, location="query")
def wechat_verify(args):
    """WeChat's server-URL check: answers `echostr` when the signature matches GUANJIA_WECHAT_CALLBACK_TOKEN."""
    _wechat_signed()
    return args["echostr"], 200, {"Content-Type": "text/plain; charset=utf-8"}


@receipts.route("/wechat", methods=["POST"])
def wechat_push():
    """WeChat's event pushes (plaintext mode): template message outcomes (sent → delivered | failed, a failure
    falls back to SMS) and unsubscribes (the binding goes). Answers `success` as WeChat expects."""
    _wechat_signed()
    raw = request.get_data(cache=False)
    # No DTD, no entities (CDATA sections are WeChat's own): an event is a small flat element of text fields.
    upper = raw.upper()
    if len(raw) > WECHAT_EVENT_MAX_BYTES or b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise Invalid("body", "a WeChat event: flat XML without a DTD")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        raise Invalid("body", "a WeChat event: flat XML without a DTD") from None
    event = {child.tag: (child.text or "").strip() for child in root}
    settings, now = web.settings(), web.now()
    with web.database().transaction() as session:
        receipt_rules.apply_wechat_event(session, settings, context().wechat, now, event)
    return "success", 200, {"Content-Type": "text/plain; charset=utf-8"}
