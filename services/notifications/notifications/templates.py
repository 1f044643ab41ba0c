"""SMS templates per key and locale (zh-CN default, en): their variables, rendering, validation and segment count."""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

from guanjia.errors import Invalid

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")
SINGLE_PART = 70  # characters in a one-part SMS (UCS-2, as carriers count Chinese text)
PART = 67  # characters per part once a message is split (the rest carries the concatenation header)


@dataclass(frozen=True)
class Template:
    key: str
    variables: tuple  # the names a text may use besides {signature}, in the order of Tencent's positional params
    texts: dict  # locale → text with {signature} and {variable} placeholders


def _t(key, variables, zh, en):
    return Template(key, tuple(variables), {"zh-CN": zh, "en": en})


# Fee reminders use the neutral 缴费提醒 wording: Chinese template review rejects dunning words (催款, 催缴).
TEMPLATES = {
    t.key: t
    for t in [
        _t(
            "ticket.created",
            ["kind", "number"],
            "【{signature}】您的{kind}已受理，工单号{number}，我们将尽快处理。",
            "[{signature}] Your {kind} has been received (ticket {number}). We will handle it shortly.",
        ),
        _t(
            "ticket.assigned",
            ["number", "department"],
            "【{signature}】您有新的派工单{number}（{department}），请及时处理。",
            "[{signature}] Work order {number} ({department}) is assigned to you. Please handle it promptly.",
        ),
        _t(
            "ticket.resolved",
            ["number"],
            "【{signature}】您的工单{number}已处理完毕，欢迎对本次服务进行评价。",
            "[{signature}] Your ticket {number} has been resolved. We would welcome your feedback.",
        ),
        _t(
            "ticket.sla_breached",
            ["number", "clock"],
            "【{signature}】工单{number}已超出{clock}时限并升级至您，请尽快跟进。",
            "[{signature}] Ticket {number} missed its {clock} deadline and is escalated to you. Please follow up.",
        ),
        _t(
            "fee.overdue.first",
            ["period", "amount", "due_date"],
            "【{signature}】缴费提醒：您的{period}物业费{amount}元已于{due_date}到期，请及时缴纳，如已缴纳请忽略。",
            "[{signature}] Payment reminder: your {period} property fee of {amount} yuan was due on {due_date}. "
            "Please ignore this if you have paid.",
        ),
        _t(
            "fee.overdue.second",
            ["period", "amount", "due_date"],
            "【{signature}】缴费提醒：您的{period}物业费{amount}元尚未缴纳，请尽快办理，如有疑问请联系您的管家。",
            "[{signature}] Payment reminder: your {period} property fee of {amount} yuan is still open. "
            "Please contact your butler with any questions.",
        ),
        _t(
            "fee.overdue.final",
            ["period", "amount", "due_date"],
            "【{signature}】缴费提醒：您的{period}物业费{amount}元仍未缴纳，如有困难请联系物业服务中心协商办理。",
            "[{signature}] Payment reminder: your {period} property fee of {amount} yuan is still open. "
            "If this is difficult, please talk to the service centre.",
        ),
        _t(
            "payment.received",
            ["amount", "receipt_number"],
            "【{signature}】已收到您缴纳的费用{amount}元，收据号{receipt_number}，感谢您的支持。",
            "[{signature}] We received your payment of {amount} yuan, receipt {receipt_number}. Thank you.",
        ),
        _t(
            "renovation.violation",
            ["violation", "rectify_by"],
            "【{signature}】您房屋的装修存在{violation}问题，请于{rectify_by}前整改，详情请联系您的管家。",
            "[{signature}] The renovation of your home has a problem ({violation}). "
            "Please put it right by {rectify_by}; your butler has the details.",
        ),
        _t(
            "resident.moved_in",
            [],
            "【{signature}】欢迎入住！报修、咨询请联系您的管家，我们随时为您服务。",
            "[{signature}] Welcome home! Contact your butler for repairs or questions.",
        ),
        _t(
            "patrol.zone_overdue",
            ["zone", "overdue_days"],
            "【{signature}】片区{zone}已{overdue_days}天未巡查，请尽快安排巡查。",
            "[{signature}] Zone {zone} has not been patrolled for {overdue_days} days. Please arrange a round.",
        ),
        _t(
            "task.due_soon",
            ["due_at"],
            "【{signature}】您有一项交办任务将于{due_at}到期，请按时完成。",
            "[{signature}] A task handed to you is due at {due_at}. Please complete it in time.",
        ),
        _t(
            "task.overdue",
            ["due_at"],
            "【{signature}】您交办的一项任务已逾期（截止{due_at}）仍未完成，请跟进。",
            "[{signature}] A task you handed down is overdue (due {due_at}) and still open. Please follow it up.",
        ),
        _t(
            "incident.opened",
            ["incident"],
            "【{signature}】紧急通知：您所在区域发生{incident}，物业正在全力处置，请注意安全，详情请联系您的管家。",
            "[{signature}] Urgent: {incident} in your area. The property team is handling it; please stay safe "
            "and contact your butler for details.",
        ),
        _t(
            "greeting.due",
            [],
            "【{signature}】生日快乐！值此生日之际，物业服务中心全体同仁祝您身体健康、阖家幸福。",
            "[{signature}] Happy birthday! Everyone at the service centre wishes you good health and happiness.",
        ),
        _t(
            "activity.published",
            ["kind", "starts_at", "signup_closes_at"],
            "【{signature}】社区活动：{kind}将于{starts_at}举行，{signup_closes_at}前可报名，详见住户页面。",
            "[{signature}] Community event ({kind}) on {starts_at}. Sign up by {signup_closes_at}; details on the "
            "residents' pages.",
        ),
        _t(
            "activity.reminder_due",
            ["kind", "starts_at"],
            "【{signature}】活动提醒：您报名的{kind}将于{starts_at}开始，欢迎准时参加。",
            "[{signature}] Reminder: the {kind} you signed up for starts at {starts_at}. See you there.",
        ),
        _t(
            "survey.reminder_due",
            [],
            "【{signature}】满意度调查：您家尚未填写本期满意度调查，您的意见对我们很重要，请在住户页面填写或告诉您的管家。",
            "[{signature}] Satisfaction survey: your household has not answered yet. Your views matter to us; please "
            "answer on the residents' pages or tell your butler.",
        ),
        _t(
            "reminder.due",
            ["matter", "due_date"],
            "【{signature}】事务提醒：您家的{matter}安排在{due_date}，如需改期请联系您的管家。",
            "[{signature}] Reminder: your household's {matter} is due on {due_date}. "
            "Please contact your butler to change it.",
        ),
        _t("notice", ["title", "body"], "【{signature}】{title}：{body}", "[{signature}] {title}: {body}"),
        _t(
            "login_code",
            ["code"],
            "【{signature}】您的登录验证码为{code}，5分钟内有效，请勿泄露给他人。",
            "[{signature}] Your sign-in code is {code}. It expires in 5 minutes; do not share it.",
        ),
    ]
}

TICKET_KINDS = {
    "zh-CN": {
        "repair": "报修",
        "complaint": "投诉",
        "inquiry": "咨询",
        "suggestion": "建议",
        "praise": "表扬",
        "service_request": "服务请求",
        "dispute": "纠纷调解",
    },
    "en": {"repair": "repair request", "complaint": "complaint", "inquiry": "inquiry", "suggestion": "suggestion"},
}
TICKET_KIND_FALLBACK = {"zh-CN": "工单", "en": "request"}
DEPARTMENTS = {
    "zh-CN": {
        "engineering": "工程部",
        "security": "秩序部",
        "cleaning": "保洁部",
        "landscaping": "绿化部",
        "customer_service": "客服部",
    },
}
CLOCKS = {
    "zh-CN": {"response": "响应", "resolution": "处理"},
    "en": {"response": "response", "resolution": "resolution"},
}
VIOLATIONS = {
    "zh-CN": {
        "unapproved_structural_change": "擅自改动结构",
        "outside_permitted_hours": "非许可时段施工",
        "debris": "建筑垃圾堆放",
        "fire_safety": "消防安全隐患",
        "noise": "噪音扰民",
        "other": "违规施工",
    },
}

ACTIVITY_KINDS = {
    "zh-CN": {
        "festival": "节庆活动",
        "sport": "体育活动",
        "culture": "文化活动",
        "volunteer": "志愿活动",
        "owner_meeting": "业主见面会",
    },
    "en": {"owner_meeting": "owner meeting", "festival": "festival", "sport": "sports event"},
}
REMINDER_MATTERS = {
    "zh-CN": {
        "gas_safety_check": "燃气安全检查",
        "key_collection": "钥匙领取",
        "document_expiry": "证件到期办理",
        "water_meter_reading": "水表抄表",
        "other": "预约事项",
    },
    "en": {
        "gas_safety_check": "gas safety check",
        "key_collection": "key collection",
        "document_expiry": "document renewal",
        "water_meter_reading": "water meter reading",
        "other": "appointment",
    },
}


# The inbox shows a title above each message (a notice brings its own).
INBOX_TITLES = {
    "ticket.created": ("工单已受理", "Request received"),
    "ticket.assigned": ("新的派工单", "New work order"),
    "ticket.resolved": ("工单已处理", "Ticket resolved"),
    "ticket.sla_breached": ("工单超时升级", "Ticket escalated"),
    "fee.overdue.first": ("缴费提醒", "Payment reminder"),
    "fee.overdue.second": ("缴费提醒", "Payment reminder"),
    "fee.overdue.final": ("缴费提醒", "Payment reminder"),
    "payment.received": ("缴费成功", "Payment received"),
    "renovation.violation": ("装修整改通知", "Renovation notice"),
    "resident.moved_in": ("欢迎入住", "Welcome home"),
    "patrol.zone_overdue": ("巡查提醒", "Patrol reminder"),
    "incident.opened": ("紧急通知", "Urgent notice"),
    "greeting.due": ("生日祝福", "Birthday greetings"),
    "reminder.due": ("事务提醒", "Reminder"),
    "survey.reminder_due": ("满意度调查", "Satisfaction survey"),
    "activity.published": ("社区活动", "Community event"),
    "activity.reminder_due": ("活动提醒", "Event reminder"),
    "task.due_soon": ("交办任务提醒", "Task reminder"),
    "task.overdue": ("交办任务逾期", "Task overdue"),
    "notice": ("社区公告", "Community notice"),
}


def inbox_title(key: str, locale: str) -> str:
    zh, en = INBOX_TITLES.get(key, ("通知", "Notification"))
    return en if pick_locale(locale) == "en" else zh


def pick_locale(requested: str | None) -> str:
    return requested if requested in LOCALES else DEFAULT_LOCALE


def _word(table: dict, locale: str, value, fallback=None) -> str:
    return table.get(locale, {}).get(value) or fallback or str(value).replace("_", " ")


def localized(key: str, variables: dict, locale: str) -> dict:
    """The template's variables in `locale`: codes stored with the delivery become words here."""
    values = dict(variables)
    if key == "ticket.created":
        kinds = TICKET_KINDS.get(locale, TICKET_KINDS["zh-CN"])
        values["kind"] = kinds.get(values.get("category"), TICKET_KIND_FALLBACK.get(locale, "工单"))
    elif key == "ticket.assigned":
        values["department"] = _word(DEPARTMENTS, locale, values.get("department"))
    elif key == "ticket.sla_breached":
        values["clock"] = _word(CLOCKS, locale, values.get("clock"))
    elif key == "renovation.violation":
        values["violation"] = _word(VIOLATIONS, locale, values.get("violation"))
    elif key in ("activity.published", "activity.reminder_due"):
        values["kind"] = _word(ACTIVITY_KINDS, locale, values.get("kind"))
    elif key == "reminder.due":
        values["matter"] = _word(REMINDER_MATTERS, locale, values.get("matter"), REMINDER_MATTERS[locale]["other"])
    return {name: values.get(name, "") for name in TEMPLATES[key].variables}


def placeholders(text: str) -> list[str]:
    """The {names} a text uses; Invalid('text') when its braces do not parse."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise Invalid("text", f"not a valid template: {exc}") from None


def validate_text(key: str, text: str) -> None:
    """A text may use {signature} and the template's own variables, nothing else (checked before saving)."""
    template = TEMPLATES[key]
    allowed = {"signature", *template.variables}
    for name in placeholders(text):
        if not name.isidentifier():
            raise Invalid("text", f"placeholder {{{name}}} is not a variable name")
        if name not in allowed:
            known = ", ".join(sorted(allowed))
            raise Invalid("text", f"unknown variable {{{name}}}; {key} knows {known}")


def render(key: str, variables: dict, locale: str, signature: str, overrides: dict | None = None) -> str:
    """The text of template `key` in `locale` (an operator's override first) with its variables filled in."""
    locale = pick_locale(locale)
    text = (overrides or {}).get((key, locale)) or TEMPLATES[key].texts[locale]
    return text.format(signature=signature, **localized(key, variables, locale))


def segments(text: str) -> int:
    """Billed parts: one up to 70 characters, else 67 characters per part."""
    length = len(text)
    return 1 if length <= SINGLE_PART else math.ceil(length / PART)
