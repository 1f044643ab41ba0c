"""HTTP API of the notifications service: delivery log, resend, statistics, notices, templates, preferences,
provider receipts and the internal direct-message endpoint; no rules here."""

from __future__ import annotations

import hmac

import marshmallow as ma
from flask import current_app, request

from guanjia import web
from guanjia.auth import require_role
from guanjia.errors import Forbidden, Invalid, NotFound
from guanjia.web import Blueprint

from . import examples
from .domain import deliveries, messages, opt_outs, provider, wording
from .domain import notices as notice_rules
from .domain import receipts as receipt_rules
from .domain import stats as delivery_stats
from .domain.quiet_hours import today as local_today
from .models import Notice
from .schemas import (
    AliyunReceipt,
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
    StatsArgs,
    StatsOut,
    TemplateIn,
    TemplateOut,
    TencentReceipt,
)
from .sms import twilio_signature

RECEIPT_PATHS = {f"/api/v1/notifications/receipts/{p}" for p in ("aliyun", "tencent", "twilio")}

blp = Blueprint(
    "notifications", __name__, url_prefix="/api/v1/notifications", description="Delivery log, resend, statistics"
)
notices = Blueprint(
    "notices", __name__, url_prefix="/api/v1/notifications/notices", description="Community notices (社区公告)"
)
templates = Blueprint(
    "notification-templates", __name__, url_prefix="/api/v1/notifications/templates", description="SMS templates"
)
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
    return {"timezone": settings.timezone, "items": items}


@blp.route("/preferences/me", methods=["GET"])
@blp.response(200, PreferenceOut)
def get_preference():
    principal = web.principal()
    if principal.role != "resident" or not principal.resident_id:
        raise Forbidden("residents only")
    with web.database().transaction() as session:
        return {
            "resident_id": principal.resident_id,
            "opted_out": opt_outs.is_opted_out(session, principal.resident_id),
        }


@blp.route("/preferences/me", methods=["PUT"])
@blp.arguments(PreferenceIn)
@blp.response(200, PreferenceOut)
def set_preference(body):
    """A resident opts out of (or back into) non-essential messages: welcomes, feedback requests, notices
    marked non-essential. Receipts, fee reminders and warnings still arrive."""
    with web.database().transaction() as session:
        return opt_outs.set_opt_out(session, web.principal(), web.now(), body["opted_out"])


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
    out = {name: getattr(notice, name) for name in NoticeOut().fields if name != "deliveries"}
    out["deliveries"] = notice_rules.notice_counts(session, notice.id)
    return out


@notices.route("", methods=["POST"])
@notices.arguments(NoticeIn, example=examples.NOTICE_IN)
@notices.response(201, NoticeOut, example=examples.NOTICE_OUT)
def create_notice(body):
    """Fan a notice out to the residents of a community, a building or a zone (within caps and quiet hours
    unless urgent). Admin, cs_manager and senior_butler of the community; a butler to their own zones."""
    with web.database().transaction() as session:
        notice = notice_rules.create_notice(session, context().directory, web.principal(), web.now(), body)
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


def _apply_all(provider: str, reports: list[tuple[str, bool, str | None]]) -> list[str]:
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
    """Aliyun SmsReport HTTP push at `?token=<GUANJIA_SMS_ALIYUN_CALLBACK_TOKEN>`; answers as Aliyun expects."""
    _token_ok(context().sms.aliyun.callback_token)
    reports = _json_list(AliyunReceipt)
    outcomes = _apply_all("aliyun", [(r["biz_id"], r["success"], r["err_code"]) for r in reports])
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
