"""Problem types and their zh-CN texts: a stable `type` per kind of error, titles and messages in the caller's language.

The catalogue is docs/errors.md in code. English is the source language; a request with `Accept-Language: zh-CN`
(or any zh first) gets title, detail and field messages in Chinese. A message the catalogue does not know stays
English (never an empty string). The services' own messages live in problem_texts.py (exact sentences and
f-string templates); tests/unit/test_problem_catalogue_coverage.py fails for a message raised without a zh-CN text.
"""

from __future__ import annotations

import contextvars
import re

from .problem_texts import DOMAIN_MESSAGES_ZH, DOMAIN_PATTERNS_ZH, VALUE_GROUPS, value_zh

# The Accept-Language of the request being answered, where no Flask request is at hand (the gateway's router).
accept_language_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("accept_language", default=None)
TYPE_PREFIX = "urn:guanjia:problem:"

# status → (kind, English title, Chinese title). The kind is the stable, machine-readable part of `type`.
KINDS = {
    400: ("bad-request", "Bad request", "请求有误"),
    401: ("unauthorized", "Unauthorized", "未登录或登录已失效"),
    403: ("forbidden", "Forbidden", "无权操作"),
    404: ("not-found", "Not found", "未找到"),
    405: ("method-not-allowed", "Method not allowed", "不支持该请求方法"),
    409: ("conflict", "Conflict", "与当前状态冲突"),
    410: ("gone", "Gone", "已不存在"),
    412: ("precondition-failed", "Precondition failed", "前提条件不满足"),
    413: ("payload-too-large", "Payload too large", "请求内容过大"),
    415: ("unsupported-media-type", "Unsupported media type", "不支持的内容类型"),
    422: ("invalid-input", "Invalid input", "输入有误"),
    429: ("too-many-requests", "Too many requests", "请求过于频繁"),
    500: ("internal-error", "Internal server error", "服务器内部错误"),
    502: ("bad-gateway", "Bad gateway", "上游服务出错"),
    503: ("service-unavailable", "Service unavailable", "服务暂时不可用"),
    504: ("gateway-timeout", "Gateway timeout", "上游服务超时"),
}

# Exact English messages (marshmallow's defaults and the most frequent ones of the services) → Chinese.
MESSAGES_ZH = {
    "Missing data for required field.": "必填字段。",
    "Unknown field.": "不认识的字段。",
    "Field may not be null.": "不能为空值。",
    "Invalid input type.": "类型不正确。",
    "Invalid value.": "值无效。",
    "Not a valid string.": "不是有效的文本。",
    "Not a valid integer.": "不是有效的整数。",
    "Not a valid number.": "不是有效的数字。",
    "Not a valid boolean.": "不是有效的布尔值。",
    "Not a valid datetime.": "不是有效的日期时间。",
    "Not a valid date.": "不是有效的日期。",
    "Not a valid time.": "不是有效的时间。",
    "Not a valid UUID.": "不是有效的 UUID。",
    "Not a valid email address.": "不是有效的电子邮件地址。",
    "Not a valid URL.": "不是有效的网址。",
    "Not a valid list.": "不是有效的列表。",
    "Not a valid mapping type.": "不是有效的对象。",
    "Not a valid tuple.": "不是有效的元组。",
    "String does not match expected pattern.": "格式不正确。",
    "Special numeric values (nan or infinity) are not permitted.": "不允许 NaN 或无穷大。",
    "Invalid input.": "输入有误。",
    "required": "必填",
    "not JSON": "不是 JSON",
    "already taken": "已被占用",
    "must be in the future": "必须是将来的时间",
    "must not be in the past": "不能是过去的时间",
    "has moved out": "已迁出",
    "must be a current owner of this unit": "必须是该房屋的现任业主",
    "no such unit in your communities": "您管理的小区中没有该房屋",
    "no such unit in your zones": "您负责的片区中没有该房屋",
    "not one of your units": "不是您的房屋",
    "required for the resident role": "住户角色必填",
    "an unexpected error; see the logs with this request_id": "意外错误；请凭此 request_id 查阅日志",
    "too many requests; slow down": "请求过于频繁，请稍后再试",
    "this account has been disabled": "该账号已停用",
    "missing or malformed Authorization header": "缺少或格式错误的 Authorization 请求头",
    "a bearer token is required": "需要登录（Bearer 令牌）",
    "token expired": "登录已过期，请重新登录",
    "wrong, expired or used code": "验证码错误、已过期或已使用",
    "unknown, expired or revoked API key": "API 密钥无效、已过期或已吊销",
    "no current resident record for this phone": "该手机号没有在住的住户记录",
    "residents only": "仅限住户",
    "API keys are read-only": "API 密钥只能读取",
    "invalid username or password": "用户名或密码错误",
    "The requested URL was not found on the server. If you entered the URL manually please check your spelling "
    "and try again.": "服务器上没有该地址，请检查拼写。",
    "The method is not allowed for the requested URL.": "该地址不支持此请求方法。",
}

# Nouns of the "<thing> <id> not found" / "no such <thing>" messages.
NOUNS_ZH = {
    "community": "小区",
    "zone": "片区",
    "building": "楼栋",
    "unit": "房屋",
    "resident": "住户",
    "user": "用户",
    "ticket": "工单",
    "bill": "账单",
    "payment": "缴费记录",
    "fee item": "收费项目",
    "patrol round": "巡检轮次",
    "patrol plan": "巡检计划",
    "checkpoint": "巡检点",
    "violation": "违规记录",
    "renovation": "装修申请",
    "template": "模板",
    "routing rule": "派单规则",
    "notification": "通知",
    "api key": "API 密钥",
    "key": "钥匙",
    "pass": "放行条",
}

# (English pattern, Chinese template): templated marshmallow messages and the common domain phrasings.
PATTERNS_ZH = [
    (re.compile(r"^invalid token: (?P<why>.+)$"), "令牌无效（{why}）"),
    (re.compile(r"^invalid (?P<fields>[\w.]+(?:, [\w.]+)*)$"), "以下字段有误：{fields}"),
    (re.compile(r"^Must be one of: (?P<choices>.+)\.$"), "必须是以下之一：{choices}。"),
    (re.compile(r"^Length must be between (?P<a>\d+) and (?P<b>\d+)\.$"), "长度必须在 {a} 到 {b} 之间。"),
    (re.compile(r"^Shorter than minimum length (?P<a>\d+)\.$"), "长度不能少于 {a}。"),
    (re.compile(r"^Longer than maximum length (?P<a>\d+)\.$"), "长度不能超过 {a}。"),
    (re.compile(r"^Length must be (?P<a>\d+)\.$"), "长度必须为 {a}。"),
    (
        re.compile(r"^Must be greater than or equal to (?P<a>\S+) and less than or equal to (?P<b>\S+)\.$"),
        "必须在 {a} 到 {b} 之间。",
    ),
    (re.compile(r"^Must be greater than or equal to (?P<a>\S+)\.$"), "必须大于或等于 {a}。"),
    (re.compile(r"^Must be less than or equal to (?P<a>\S+)\.$"), "必须小于或等于 {a}。"),
    (re.compile(r"^Must be greater than (?P<a>\S+)\.$"), "必须大于 {a}。"),
    (re.compile(r"^Must be less than (?P<a>\S+)\.$"), "必须小于 {a}。"),
    (re.compile(r"^larger than (?P<a>\d+) bytes$"), "超过 {a} 字节"),
    (re.compile(r"^(?P<noun>[a-z][a-z ]*?) (?P<id>\S+) not found$"), "{noun}{id}不存在"),
    (re.compile(r"^(?P<noun>[a-z][a-z ]*?) not found$"), "{noun}不存在"),
    (re.compile(r"^no such (?P<noun>[a-z][a-z ]*?) in this community$"), "本小区没有该{noun}"),
    (re.compile(r"^no such (?P<noun>[a-z][a-z ]*?)(?P<rest> .*)?$"), "没有该{noun}{rest}"),
    (re.compile(r"^username (?P<id>\S+) is taken$"), "用户名 {id} 已被占用"),
    (re.compile(r"^(?P<field>[a-z_][\w.]*): (?P<message>.+)$"), "{field}：{message}"),
]


def problem_type(status: int) -> str:
    """The stable `type` URI of a status's kind of problem (documented in docs/errors.md)."""
    return TYPE_PREFIX + KINDS.get(status, ("error",))[0]


def wants_chinese(accept_language: str | None) -> bool:
    """True when the caller's most preferred language (RFC 9110 q-values; the first listed wins a tie) is Chinese."""
    entries = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            entries.append((q, -position, tag.strip().lower()))
    if not entries:
        return False
    best = max(entries)[2]
    return best == "zh" or best.startswith("zh-")


def translate(text: str) -> str:
    """The Chinese text of an English message; the English message when the catalogue does not know it."""
    if text in MESSAGES_ZH:
        return MESSAGES_ZH[text]
    if text in DOMAIN_MESSAGES_ZH:
        return DOMAIN_MESSAGES_ZH[text]
    # The services' templates first: they are specific, the generic ones ("<field>: <message>") catch the rest.
    for pattern, template in (*DOMAIN_PATTERNS_ZH, *PATTERNS_ZH):
        match = pattern.match(text)
        if not match:
            continue
        parts = match.groupdict()
        if "noun" in parts:
            noun = parts["noun"]
            if noun not in NOUNS_ZH:
                continue
            parts["noun"] = NOUNS_ZH[noun]
            parts["id"] = f" {parts['id']} " if parts.get("id") else ""
            parts["rest"] = translate(parts["rest"].strip()) if parts.get("rest") else ""
        if "message" in parts:
            parts["message"] = translate(parts["message"])
        for group in VALUE_GROUPS & parts.keys():
            parts[group] = value_zh(parts[group], group)
        return template.format(**parts).replace("  ", " ").strip()
    return text


def localize(body: dict, chinese: bool) -> dict:
    """The problem body with `type` set and, for a Chinese-speaking caller, title, detail and messages in zh-CN."""
    status = body.get("status") or 500
    if body.get("type") in (None, "about:blank"):
        body["type"] = problem_type(status)
    if not chinese:
        return body
    kind = KINDS.get(status)
    title = body.get("title")
    if kind and (title is None or title.lower() in (kind[1].lower(), _phrase(status).lower())):
        body["title"] = kind[2]
    elif title:
        body["title"] = translate(title)
    if body.get("detail"):
        body["detail"] = translate(body["detail"])
    if isinstance(body.get("errors"), dict):
        body["errors"] = {field: _messages(value) for field, value in body["errors"].items()}
    # Extension members listing rows (a roster import's `rows`): each row's `message` is a field message too.
    for key, value in body.items():
        if key != "errors" and isinstance(value, list):
            body[key] = [_row(item) for item in value]
    return body


def _row(item):
    if isinstance(item, dict) and isinstance(item.get("message"), str):
        return {**item, "message": translate(item["message"])}
    return item


def _messages(value):
    if isinstance(value, list):
        return [_messages(item) for item in value]
    if isinstance(value, dict):
        return {key: _messages(inner) for key, inner in value.items()}
    return translate(value) if isinstance(value, str) else value


def _phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
