"""SMS providers behind one interface (console, Aliyun, Tencent Cloud, Twilio): their documented signed HTTP APIs,
error classification, and the failover chain. Phone numbers never reach a log line unmasked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urlparse

import urllib3

from guanjia.logging import mask_text
from guanjia.pii import mask_phone

from .config import SmsSettings
from .templates import TEMPLATES

log = logging.getLogger("notifications.sms")

# Request signatures carry a timestamp that the provider checks against its own clock (Aliyun within 15 minutes,
# Tencent within 5): it is the wall clock on purpose, not the app's business clock (which tests move), and
# injected here so a signed request can be reproduced exactly.
SigningClock = Callable[[], float]

# What a provider's refusal means for the message.
REJECTED = "rejected"  # this message/number can never go (bad number, blocked): fail, no failover
PROVIDER = "provider"  # this provider cannot send it (credentials, template, balance): try the next, else fail
TRANSIENT = "transient"  # try the next provider, else retry later with back-off
THROTTLED = "throttled"  # the provider's rate limit: try the next provider, else wait out the window


class SmsError(Exception):
    def __init__(self, code: str, message: str, kind: str, retry_after: float | None = None, provider: str = ""):
        super().__init__(mask_text(f"{code}: {message}"))
        self.code = code
        self.kind = kind
        self.retry_after = retry_after
        self.provider = provider


class SmsRejected(SmsError):
    """Kept for callers that only know 'refused for good'."""

    def __init__(self, message: str, code: str = "rejected"):
        super().__init__(code, message, REJECTED)


@dataclass
class Message:
    phone: str  # E.164
    text: str  # the whole text, signature included (console, Twilio, the delivery log)
    template: str  # template key, e.g. "fee.overdue.first"
    params: dict = field(default_factory=dict)  # the template's variables, already in the recipient's locale
    reference: str = ""  # our delivery id (Aliyun OutId, Tencent SessionContext)


class ConsoleSms:
    """Development provider: one log line per message with the phone masked; nothing is sent."""

    name = "console"

    def __init__(self, settings: SmsSettings | None = None):
        self.settings = settings

    def send(self, message: Message | str, text: str | None = None) -> str:
        phone, body = (message.phone, message.text) if isinstance(message, Message) else (message, text)
        message_id = f"console-{uuid.uuid4()}"
        log.info(
            "sms (console) to %s: %s",
            mask_phone(phone),
            body,
            extra={"provider": self.name, "provider_message_id": message_id},
        )
        return message_id


def _http() -> urllib3.PoolManager:
    """The providers' keep-alive pool, urllib3 directly: requests.Session cost about twice the CPU per call (hooks,
    cookies, environment look-ups). No proxy from the environment (the endpoint is configured explicitly), no
    redirects, no retries (a retry is the dispatcher's, with back-off)."""
    return urllib3.PoolManager(num_pools=2, maxsize=32, block=False, retries=False)


def _post(
    provider: str,
    pool: urllib3.PoolManager,
    url: str,
    timeout: float,
    *,
    form: dict | None = None,
    body: bytes = b"",
    headers: dict | None = None,
    auth: tuple[str, str] | None = None,
) -> urllib3.BaseHTTPResponse:
    """POST a form (`form`) or a body; the provider's answer, or SmsError(network) when there is none."""
    headers = dict(headers or {})
    if form is not None:
        body = urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if auth is not None:
        headers.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
    try:
        return pool.request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=False,
            redirect=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        raise SmsError("network", f"{exc.__class__.__name__}", TRANSIENT, provider=provider) from None


def _json_body(provider: str, response: urllib3.BaseHTTPResponse) -> dict:
    try:
        return json.loads(response.data)
    except ValueError:
        kind = TRANSIENT if response.status >= 500 else PROVIDER
        raise SmsError(f"http_{response.status}", "answer is not JSON", kind, provider=provider) from None


# -- Aliyun SMS (dysmsapi, RPC style, signature v1 HMAC-SHA1) ---------------------------------------------------------
def aliyun_percent(value: str) -> str:
    """Aliyun's percent-encoding: RFC 3986 unreserved kept, space → %20, * → %2A, ~ kept."""
    return quote(str(value), safe="~")


def aliyun_signature(params: dict, secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{aliyun_percent(k)}={aliyun_percent(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{aliyun_percent('/')}&{aliyun_percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def aliyun_phone(phone: str) -> str:
    """Mainland numbers as 11 digits; others as country code + number without '+'."""
    return phone[3:] if phone.startswith("+86") else phone.lstrip("+")


ALIYUN_THROTTLED = {"isv.BUSINESS_LIMIT_CONTROL": 60.0, "Throttling.User": 1.0, "Throttling": 1.0}
ALIYUN_REJECTED = {
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.TEMPLATE_PARAMS_ILLEGAL",
    "isv.INVALID_PARAMETERS",
    "isv.DAY_LIMIT_CONTROL",
}


# SendBatchSms takes at most this many numbers per call (PhoneNumberJson).
ALIYUN_BATCH_MAX = 100


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class AliyunSms:
    name = "aliyun"
    batch_max = ALIYUN_BATCH_MAX

    def __init__(self, settings: SmsSettings, clock: SigningClock = time.time):
        self.settings, self.clock = settings, clock
        self.config = settings.aliyun
        self.session = _http()

    def template_code(self, message: Message) -> str:
        code = self.config.templates.get(message.template)
        if not code:
            raise SmsError("template_not_configured", f"no Aliyun template code for {message.template}", PROVIDER)
        return code

    def _signed(self, action: str, params: dict) -> dict:
        params = {
            "AccessKeyId": self.config.access_key_id,
            "Action": action,
            "Format": "JSON",
            "RegionId": self.config.region,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "Timestamp": datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
            **params,
        }
        params["Signature"] = aliyun_signature(params, self.config.access_key_secret)
        return params

    def request_params(self, message: Message) -> dict:
        return self._signed(
            "SendSms",
            {
                "OutId": message.reference,
                "PhoneNumbers": aliyun_phone(message.phone),
                "SignName": self.settings.signature,
                "TemplateCode": self.template_code(message),
                "TemplateParam": _compact(message.params),
            },
        )

    def batch_params(self, messages: list[Message]) -> dict:
        """SendBatchSms of messages with one template: the numbers, signatures and variables as JSON arrays in one
        order (no OutId: one call's id cannot name each delivery; the receipts name the number)."""
        codes = {self.template_code(m) for m in messages}
        if len(codes) != 1 or not 1 <= len(messages) <= self.batch_max:
            raise ValueError(f"a batch is 1 to {self.batch_max} messages of one template")
        return self._signed(
            "SendBatchSms",
            {
                "PhoneNumberJson": _compact([aliyun_phone(m.phone) for m in messages]),
                "SignNameJson": _compact([self.settings.signature] * len(messages)),
                "TemplateCode": codes.pop(),
                "TemplateParamJson": _compact([m.params for m in messages]),
            },
        )

    def _call(self, params: dict) -> str:
        """POST a signed call; its BizId, or SmsError classified by Aliyun's code."""
        response = _post(self.name, self.session, self.config.endpoint, self.settings.timeout_seconds, form=params)
        body = _json_body(self.name, response)
        code = str(body.get("Code", f"http_{response.status}"))
        if code == "OK":
            return str(body["BizId"])
        text = str(body.get("Message", ""))
        if code in ALIYUN_THROTTLED:
            raise SmsError(code, text, THROTTLED, ALIYUN_THROTTLED[code], provider=self.name)
        if code in ALIYUN_REJECTED:
            raise SmsError(code, text, REJECTED, provider=self.name)
        if code.startswith("isp.") or response.status >= 500:
            raise SmsError(code, text, TRANSIENT, provider=self.name)
        raise SmsError(code, text, PROVIDER, provider=self.name)

    def send(self, message: Message) -> str:
        return self._call(self.request_params(message))

    def send_batch(self, messages: list[Message]) -> str:
        """One SendBatchSms call for messages of one template; the call's BizId (one for all its numbers)."""
        return self._call(self.batch_params(messages))


# -- Tencent Cloud SMS (API 3.0, TC3-HMAC-SHA256) --------------------------------------------------------------------
def tc3_signature(secret_key: str, host: str, timestamp: int, payload: str, service: str = "sms") -> tuple[str, str]:
    """(credential scope, hex signature) of a POST / with content-type and host signed, as the API 3.0 guide says."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:application/json; charset=utf-8\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload.encode()).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )

    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    secret_date = sign(f"TC3{secret_key}".encode(), date)
    secret_signing = sign(sign(secret_date, service), "tc3_request")
    return scope, hmac.new(secret_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


TENCENT_THROTTLED = {
    "RequestLimitExceeded": 1.0,
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30.0,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600.0,
    "LimitExceeded.PhoneNumberDailyLimit": 6 * 3600.0,
    "LimitExceeded.DailyLimit": 6 * 3600.0,
}
TENCENT_REJECTED_PREFIXES = (
    "InvalidParameterValue.IncorrectPhoneNumber",
    "InvalidParameterValue.ContentLengthLimit",
    "FailedOperation.ContainSensitiveWord",
    "FailedOperation.PhoneNumberInBlacklist",
    "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
)


class TencentSms:
    name = "tencent"

    def __init__(self, settings: SmsSettings, clock: SigningClock = time.time):
        self.settings, self.clock = settings, clock
        self.config = settings.tencent
        self.session = _http()

    def request(self, message: Message) -> tuple[dict, str]:
        template_id = self.config.templates.get(message.template)
        if not template_id:
            raise SmsError("template_not_configured", f"no Tencent template id for {message.template}", PROVIDER)
        variables = TEMPLATES[message.template].variables
        body = json.dumps(
            {
                "PhoneNumberSet": [message.phone],
                "SmsSdkAppId": self.config.sdk_app_id,
                "SignName": self.settings.signature,
                "TemplateId": template_id,
                # Tencent templates take positional parameters: the template's variables in declared order.
                "TemplateParamSet": [str(message.params.get(name, "")) for name in variables],
                "SessionContext": message.reference,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        host = urlparse(self.config.endpoint).netloc
        timestamp = int(self.clock())
        scope, signature = tc3_signature(self.config.secret_key, host, timestamp, body)
        headers = {
            "Authorization": (
                f"TC3-HMAC-SHA256 Credential={self.config.secret_id}/{scope}, "
                f"SignedHeaders=content-type;host, Signature={signature}"
            ),
            "Content-Type": "application/json; charset=utf-8",
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": self.config.region,
        }
        return headers, body

    def _raise(self, code: str, text: str) -> None:
        if code in TENCENT_THROTTLED:
            raise SmsError(code, text, THROTTLED, TENCENT_THROTTLED[code], provider=self.name)
        if code.startswith(TENCENT_REJECTED_PREFIXES):
            raise SmsError(code, text, REJECTED, provider=self.name)
        if code.startswith(("InternalError", "RequestTimeout")):
            raise SmsError(code, text, TRANSIENT, provider=self.name)
        raise SmsError(code, text, PROVIDER, provider=self.name)

    def send(self, message: Message) -> str:
        headers, body = self.request(message)
        response = _post(
            self.name,
            self.session,
            self.config.endpoint,
            self.settings.timeout_seconds,
            body=body.encode(),
            headers=headers,
        )
        answer = _json_body(self.name, response).get("Response", {})
        if "Error" in answer:
            self._raise(str(answer["Error"].get("Code")), str(answer["Error"].get("Message", "")))
        statuses = answer.get("SendStatusSet") or []
        if not statuses:
            raise SmsError("no_status", "no SendStatusSet in the answer", TRANSIENT, provider=self.name)
        status = statuses[0]
        if status.get("Code") != "Ok":
            self._raise(str(status.get("Code")), str(status.get("Message", "")))
        return str(status["SerialNo"])


# -- Twilio (REST Messages, basic auth; status callbacks signed with X-Twilio-Signature) ----------------------------
def twilio_signature(auth_token: str, url: str, params: dict) -> str:
    """Twilio's request signature: HMAC-SHA1 over the URL followed by every POST parameter name+value, sorted."""
    data = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


TWILIO_REJECTED = {21211, 21214, 21408, 21610, 21612, 21614, 30003, 30004, 30005, 30006}


class TwilioSms:
    name = "twilio"

    def __init__(self, settings: SmsSettings):
        self.settings = settings
        self.config = settings.twilio
        self.session = _http()

    def send(self, message: Message) -> str:
        url = f"{self.config.endpoint.rstrip('/')}/2010-04-01/Accounts/{self.config.account_sid}/Messages.json"
        data = {"To": message.phone, "Body": message.text}
        if self.config.messaging_service_sid:
            data["MessagingServiceSid"] = self.config.messaging_service_sid
        else:
            data["From"] = self.config.from_number
        if self.config.status_callback_url:
            data["StatusCallback"] = self.config.status_callback_url
        response = _post(
            self.name,
            self.session,
            url,
            self.settings.timeout_seconds,
            form=data,
            auth=(self.config.account_sid, self.config.auth_token),
        )
        if response.status in (200, 201):
            return str(_json_body(self.name, response)["sid"])
        body = _json_body(self.name, response) if response.data else {}
        code, text = body.get("code"), str(body.get("message", ""))
        label = f"twilio_{code or response.status}"
        if response.status == 429 or code == 20429:
            retry_after = float(response.headers.get("Retry-After") or 1)
            raise SmsError(label, text, THROTTLED, retry_after, provider=self.name)
        if response.status >= 500:
            raise SmsError(label, text, TRANSIENT, provider=self.name)
        if code in TWILIO_REJECTED:
            raise SmsError(label, text, REJECTED, provider=self.name)
        raise SmsError(label, text, PROVIDER, provider=self.name)


PROVIDERS = {"console": ConsoleSms, "aliyun": AliyunSms, "tencent": TencentSms, "twilio": TwilioSms}


@dataclass(frozen=True)
class Sent:
    """A message a provider accepted: `batched` when it went in a batch call whose `message_id` it shares."""

    provider: str
    message_id: str
    batched: bool = False


class ProviderChain:
    """The instance's providers in failover order; send() returns (provider name, provider message id)."""

    def __init__(self, providers: list):
        self.providers = providers
        self.name = providers[0].name
        # How many messages one call of the first provider takes (1: it has no batch API).
        self.batch_max = getattr(providers[0], "batch_max", 1)

    def batch_key(self, message: Message) -> str | None:
        """What messages must share to go in one call of the first provider (its template), or None when that
        provider has no batch API or cannot send this template (the message goes alone, and fails over as ever)."""
        if self.batch_max < 2:
            return None
        try:
            return self.providers[0].template_code(message)
        except SmsError:
            return None

    def send(self, message: Message) -> tuple[str, str]:
        return self._send_from(message, 0, [], None)

    def send_batch(self, messages: list[Message]) -> list[Sent | SmsError]:
        """Messages of one batch key in one call of the first provider; a result per message, in order. Refused
        as a whole: a rejected code (one bad number refuses the call) sends them one by one, so that only the bad
        one fails; otherwise each message fails over to the next providers as send() does, and without any it
        gets the first provider's error (throttled: waits out the window; transient: backs off)."""
        first = self.providers[0]
        try:
            message_id = first.send_batch(messages)
            return [Sent(first.name, message_id, batched=True) for _ in messages]
        except SmsError as exc:
            exc.provider = first.name
            if exc.kind == REJECTED:
                return [self._result(lambda m=m: self.send(m)) for m in messages]
            self._refused(first, exc)
            refusal = exc
        except Exception as exc:  # a bug or an unexpected answer: an outage of this provider, as in send()
            refusal = SmsError("error", mask_text(repr(exc))[:200], TRANSIENT, provider=first.name)
        retryable = [refusal] if refusal.kind in (TRANSIENT, THROTTLED) else []
        return [self._result(lambda m=m: self._send_from(m, 1, list(retryable), refusal)) for m in messages]

    @staticmethod
    def _result(send: Callable[[], tuple[str, str]]) -> Sent | SmsError:
        try:
            return Sent(*send())
        except SmsError as exc:
            return exc

    @staticmethod
    def _refused(provider, exc: SmsError) -> None:
        log.warning(
            "sms provider refused, trying the next one",
            extra={"provider": provider.name, "code": exc.code, "kind": exc.kind},
        )

    def _send_from(
        self, message: Message, start: int, retryable: list[SmsError], last: SmsError | None
    ) -> tuple[str, str]:
        """Try the providers from `start` on, after the refusals already met (`retryable`, `last`)."""
        for provider in self.providers[start:]:
            try:
                return provider.name, provider.send(message)
            except SmsError as exc:
                exc.provider = provider.name
                if exc.kind == REJECTED:
                    raise
                last = exc
                if exc.kind in (TRANSIENT, THROTTLED):
                    retryable.append(exc)
                self._refused(provider, exc)
            except Exception as exc:  # a bug or an unexpected answer: treat as an outage of this provider
                last = SmsError("error", mask_text(repr(exc))[:200], TRANSIENT, provider=provider.name)
                retryable.append(last)
        if retryable:
            throttled = [e for e in retryable if e.kind == THROTTLED]
            if throttled and len(throttled) == len(retryable):
                raise min(throttled, key=lambda e: e.retry_after or 0)
            raise next(e for e in reversed(retryable) if e.kind == TRANSIENT)
        raise last


def provider_chain(settings: SmsSettings) -> ProviderChain:
    return ProviderChain([PROVIDERS[name](settings) for name in settings.chain])
