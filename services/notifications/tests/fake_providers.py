"""Fake Aliyun, Tencent Cloud and Twilio SMS APIs as one real local HTTP server, and a fake WeChat official account
as another (the outside world, for tests and the bench). Each checks the request as the real API does (signature,
access token, parameters, body shape) and answers like it, errors included; a script of error codes lets a test make
the next answers fail or throttle."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlencode, urlparse

ALIYUN_KEY_ID, ALIYUN_SECRET = "LTAI5tFakeKeyId", "fake-aliyun-secret"
TENCENT_ID, TENCENT_KEY, TENCENT_APP = "AKIDfakeSecretId", "fake-tencent-key", "1400000001"
TWILIO_SID, TWILIO_TOKEN, TWILIO_FROM = "AC" + "0" * 32, "fake-twilio-token", "+15005550006"


def _aliyun_percent(value: str) -> str:
    return quote(str(value), safe="~")


def aliyun_expected_signature(params: dict, secret: str) -> str:
    canonical = "&".join(
        f"{_aliyun_percent(k)}={_aliyun_percent(v)}" for k, v in sorted(params.items()) if k != "Signature"
    )
    to_sign = f"POST&{_aliyun_percent('/')}&{_aliyun_percent(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


def tc3_expected(secret_key: str, headers: dict, body: bytes, host: str) -> str:
    timestamp = int(headers["x-tc-timestamp"])
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = (
        f"POST\n/\n\ncontent-type:{headers['content-type']}\nhost:{host}\n\ncontent-type;host\n"
        + hashlib.sha256(body).hexdigest()
    )
    scope = f"{date}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    signing = h(h(h(f"TC3{secret_key}".encode(), date), "sms"), "tc3_request")
    return hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()


class FakeSms:
    """State shared by the handler threads: what was accepted, scripted failures, an optional hold."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent: list[dict] = []  # accepted messages, in order
        self.requests: dict[str, int] = defaultdict(int)
        self.script: dict[str, list] = defaultdict(list)  # provider → codes to answer next (one per request)
        self.templates = {"aliyun": {}, "tencent": {}}  # provider template id → variable names it expects
        self.nonces: set[str] = set()
        self.hold = threading.Event()
        self.hold.set()  # cleared: accepted requests wait before answering (a worker can be killed meanwhile)
        self.received = threading.Event()

    def next_code(self, provider: str):
        with self.lock:
            self.requests[provider] += 1
            return self.script[provider].pop(0) if self.script[provider] else None

    def accept(self, provider: str, phone: str, message_id: str | None = None, **details) -> str:
        message_id = (
            message_id
            or {
                "aliyun": f"{int(time.time() * 1000)}^{uuid.uuid4().int % 10**10}",
                "tencent": f"2433:{uuid.uuid4().int % 10**20}",
                "twilio": "SM" + uuid.uuid4().hex,
            }[provider]
        )
        with self.lock:
            self.sent.append({"provider": provider, "phone": phone, "id": message_id, "at": time.time(), **details})
        self.received.set()
        return message_id

    def of(self, provider: str | None = None, phone: str | None = None) -> list[dict]:
        with self.lock:
            return [m for m in self.sent if (provider in (None, m["provider"])) and (phone in (None, m["phone"]))]


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeSms/1.0"
    fake: FakeSms
    # The headers and the body go out in two writes: with Nagle on, the body waits for the client's delayed ACK
    # (≈ 40 ms a call on a keep-alive connection, as the benches use it), a stall no real provider adds.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def _reply(self, status: int, body, headers: dict | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        """GET /_sent: what was accepted (for a bench running this server in another process)."""
        if urlparse(self.path).path != "/_sent":
            return self._reply(404, {"message": "not found"})
        return self._reply(200, self.fake.of())

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlparse(self.path).path
        if path.startswith("/aliyun"):
            return self._aliyun(body)
        if path.startswith("/tencent"):
            return self._tencent(body)
        if path.startswith("/twilio/2010-04-01/Accounts/"):
            return self._twilio(path, body)
        return self._reply(404, {"message": "not found"})

    # Aliyun dysmsapi SendSms and SendBatchSms (RPC, signature v1)
    def _aliyun(self, body: bytes):
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        request_id = str(uuid.uuid4()).upper()

        def error(status, code, message):
            return self._reply(status, {"RequestId": request_id, "Code": code, "Message": message})

        if params.get("AccessKeyId") != ALIYUN_KEY_ID:
            return error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if params.get("Signature") != aliyun_expected_signature(params, ALIYUN_SECRET):
            return error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        if params.get("Action") not in ("SendSms", "SendBatchSms"):
            return error(400, "MissingParameter" if "Action" not in params else "InvalidParameter", "Action")
        for name, value in [
            ("Version", "2017-05-25"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("Format", "JSON"),
        ]:
            if params.get(name) != value:
                return error(400, "MissingParameter" if name not in params else "InvalidParameter", f"{name}")
        stamp = datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs((datetime.now(UTC) - stamp).total_seconds()) > 900:
            return error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        with self.fake.lock:
            if params["SignatureNonce"] in self.fake.nonces:
                return error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self.fake.nonces.add(params["SignatureNonce"])
        code = self.fake.next_code("aliyun")
        if code:
            return error(200, code, f"scripted {code}")
        batch = params["Action"] == "SendBatchSms"
        if batch:
            try:
                phones, signs, variables = (
                    json.loads(params.get(name) or "null")
                    for name in ("PhoneNumberJson", "SignNameJson", "TemplateParamJson")
                )
            except ValueError:
                return error(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法")
            lists = (phones, signs, variables)
            if not all(isinstance(v, list) for v in lists) or not phones or len({len(v) for v in lists}) != 1:
                return error(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法")
            if len(phones) > 100:
                return error(200, "isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
        else:
            phones, signs = [params.get("PhoneNumbers", "")], [params.get("SignName")]
            variables = [json.loads(params.get("TemplateParam") or "{}")]
        if not all(signs):
            return error(200, "isv.SMS_SIGNATURE_ILLEGAL", "签名不合法")
        expected = self.fake.templates["aliyun"].get(params.get("TemplateCode"))
        if expected is None:
            return error(200, "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法(不存在或被拉黑)")
        if any(not isinstance(v, dict) or set(v) != set(expected) for v in variables):
            return error(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")
        # One bad number refuses the whole call (a batch as a single send).
        if not all(isinstance(p, str) and p.isdigit() and len(p) == 11 and p.startswith("1") for p in phones):
            return error(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        biz_id = None
        for phone, sign, values in zip(phones, signs, variables, strict=True):
            details = {"template": params["TemplateCode"], "params": values, "sign": sign, "batch": batch}
            # A batch's numbers share the call's BizId (its reports name biz_id and phone_number).
            biz_id = self.fake.accept(
                "aliyun", "+86" + phone, message_id=biz_id, reference=params.get("OutId"), **details
            )
        self._hold()  # accepted; the answer may be held back (a worker can be killed meanwhile)
        return self._reply(200, {"RequestId": request_id, "Code": "OK", "Message": "OK", "BizId": biz_id})

    # Tencent Cloud SMS SendSms (API 3.0, TC3-HMAC-SHA256)
    def _tencent(self, body: bytes):
        request_id = str(uuid.uuid4())
        headers = {k.lower(): v for k, v in self.headers.items()}

        def error(code, message):
            return self._reply(
                200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}
            )

        auth = headers.get("authorization", "")
        if not auth.startswith("TC3-HMAC-SHA256 ") or f"Credential={TENCENT_ID}/" not in auth:
            return error("AuthFailure.SecretIdNotFound", "The SecretId is not found")
        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return error("InvalidAction", "action or version")
        if abs(time.time() - int(headers.get("x-tc-timestamp", "0"))) > 300:
            return error("AuthFailure.SignatureExpire", "Signature expired")
        signature = auth.rsplit("Signature=", 1)[-1]
        if signature != tc3_expected(TENCENT_KEY, headers, body, headers.get("host", "")):
            return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        code = self.fake.next_code("tencent")
        if code in ("RequestLimitExceeded", "InternalError.Timeout"):
            return error(code, f"scripted {code}")
        payload = json.loads(body)
        if payload.get("SmsSdkAppId") != TENCENT_APP:
            return error("FailedOperation.SmsSdkAppIdVerifyFail", "SdkAppId verify fail")
        expected = self.fake.templates["tencent"].get(payload.get("TemplateId"))
        if expected is None:
            return error("FailedOperation.TemplateIncorrectOrUnapproved", "template unapproved or not exist")
        params = payload.get("TemplateParamSet") or []
        if len(params) != len(expected):
            return error("InvalidParameterValue.TemplateParameterFormatError", "template parameter count")
        if any("http" in p or "www." in p for p in params):
            return error("InvalidParameterValue.ProhibitedUseUrlInTemplateParameter", "url in parameter")
        [phone] = payload.get("PhoneNumberSet") or [""]
        status = {"SerialNo": "", "PhoneNumber": phone, "Fee": 0, "SessionContext": payload.get("SessionContext", "")}
        if code:
            status.update(Code=code, Message=f"scripted {code}")
        elif not (phone.startswith("+861") and len(phone) == 14):
            status.update(Code="InvalidParameterValue.IncorrectPhoneNumber", Message="incorrect number")
        else:
            serial = self.fake.accept(
                "tencent",
                phone,
                template=payload["TemplateId"],
                params=params,
                sign=payload.get("SignName"),
                reference=payload.get("SessionContext"),
            )
            status.update(SerialNo=serial, Fee=1, Code="Ok", Message="send success", IsoCode="CN")
        if status["Code"] == "Ok":
            self._hold()
        return self._reply(200, {"Response": {"SendStatusSet": [status], "RequestId": request_id}})

    # Twilio REST Messages
    def _twilio(self, path: str, body: bytes):
        sid = path.split("/")[4]
        auth = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if sid != TWILIO_SID or auth != expected:
            return self._reply(
                401,
                {
                    "code": 20003,
                    "message": "Authenticate",
                    "more_info": "https://www.twilio.com/docs/errors/20003",
                    "status": 401,
                },
            )
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        code = self.fake.next_code("twilio")
        if code == 20429:
            return self._reply(
                429, {"code": 20429, "message": "Too Many Requests", "status": 429}, {"Retry-After": "2"}
            )
        if code == 500:
            return self._reply(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
        if not form.get("Body") or not (form.get("From") or form.get("MessagingServiceSid")):
            return self._reply(
                400, {"code": 21604 if not form.get("From") else 21602, "message": "missing", "status": 400}
            )
        to = form.get("To", "")
        if code or not (to.startswith("+") and to[1:].isdigit() and 8 <= len(to) <= 16):
            err = code or 21211
            return self._reply(400, {"code": err, "message": f"The 'To' number {to} is not valid.", "status": 400})
        message_sid = self.fake.accept("twilio", to, body=form["Body"], callback=form.get("StatusCallback"))
        self._hold()
        return self._reply(
            201,
            {
                "sid": message_sid,
                "status": "queued",
                "to": to,
                "from": form.get("From"),
                "body": form["Body"],
                "num_segments": "1",
                "account_sid": TWILIO_SID,
            },
        )

    def _hold(self):
        self.fake.received.set()
        self.fake.hold.wait(60)


class _FakeServer:
    """A fake provider on a real local HTTP server: `with <Subclass>() as server:` → server.url, server.fake."""

    fake_class: type
    handler_class: type
    name: str

    def __init__(self):
        self.fake = self.fake_class()
        handler = type(f"{self.handler_class.__name__}Bound", (self.handler_class,), {"fake": self.fake})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name=self.name, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.fake.hold.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeSmsServer(_FakeServer):
    """`with FakeSmsServer() as server:` → server.url, server.fake (a fresh FakeSms)."""

    fake_class, handler_class, name = FakeSms, _Handler, "fake-sms"


# -- WeChat official account (公众号): stable_token, template/send, OAuth snsapi_base ----------------------------------
WECHAT_APP_ID, WECHAT_SECRET = "wx0123456789abcdef", "fake-wechat-secret"


class FakeWechat:
    """State of the fake official account: followers, templates, tokens issued, messages accepted, scripted codes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.followers: set[str] = set()  # openids following the account
        self.unsubscribed: set[str] = set()  # openids that once followed and left (43004)
        self.templates: dict[str, tuple] = {}  # template_id → the data keys it expects
        self.oauth_codes: dict[str, str] = {}  # one-time OAuth code → openid
        self.browser_user: str | None = None  # who is signed in to WeChat in the browser at the authorize page
        self.authorized: list[dict] = []  # the authorize requests (appid, redirect_uri, scope, state)
        self.tokens: dict[str, bool] = {}  # access token → still valid
        self.token_requests = 0
        self.sent: list[dict] = []
        self.script: list[int] = []  # errcodes answered to the next template sends (one each)
        self.slow_token = 0.0  # seconds the token endpoint takes (to show one renewal at a time)
        self.hold = threading.Event()
        self.hold.set()  # cleared: accepted messages wait before the answer (a worker can be killed meanwhile)
        self.received = threading.Event()

    def follower(self) -> str:
        openid = "o" + uuid.uuid4().hex[:27]  # 28 characters, like WeChat's
        with self.lock:
            self.followers.add(openid)
        return openid

    def oauth_code(self, openid: str) -> str:
        code = uuid.uuid4().hex
        with self.lock:
            self.oauth_codes[code] = openid
        return code

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, False)

    def of(self, openid: str | None = None) -> list[dict]:
        with self.lock:
            return [m for m in self.sent if openid in (None, m["touser"])]


class _WechatHandler(BaseHTTPRequestHandler):
    server_version = "FakeWechat/1.0"
    fake: FakeWechat
    disable_nagle_algorithm = True  # as _Handler: no delayed-ACK stall between the headers and the body

    def log_message(self, *args):  # quiet
        pass

    def _reply(self, body: dict) -> None:
        # WeChat answers 200 with an errcode, errors included.
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; encoding=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, code: int, message: str) -> None:
        self._reply({"errcode": code, "errmsg": f"{message} rid: {uuid.uuid4().hex[:24]}"})

    def do_GET(self):  # noqa: N802 (http.server's naming)
        url = urlparse(self.path)
        query = dict(parse_qsl(url.query))
        if url.path == "/_sent":  # what was accepted (for a bench running this server in another process)
            return self._reply(self.fake.of())
        if url.path == "/connect/oauth2/authorize":
            return self._authorize(query)
        if url.path != "/sns/oauth2/access_token":
            return self._error(404, "not found")
        if query.get("appid") != WECHAT_APP_ID:
            return self._error(40013, "invalid appid")
        if query.get("secret") != WECHAT_SECRET:
            return self._error(40125, "invalid appsecret")
        if query.get("grant_type") != "authorization_code":
            return self._error(40002, "invalid grant_type")
        with self.fake.lock:
            openid = self.fake.oauth_codes.pop(query.get("code", ""), None)
        if openid is None:
            return self._error(40029, "invalid code")
        return self._reply(
            {
                "access_token": uuid.uuid4().hex,
                "expires_in": 7200,
                "refresh_token": uuid.uuid4().hex,
                "openid": openid,
                "scope": "snsapi_base",
            }
        )

    def _authorize(self, query: dict):
        """WeChat's web OAuth page (open.weixin.qq.com/connect/oauth2/authorize): for snsapi_base no consent screen,
        straight back to redirect_uri with a one-time code (for `browser_user`, else a new follower) and the state."""
        if query.get("appid") != WECHAT_APP_ID:
            return self._error(40013, "invalid appid")
        if query.get("response_type") != "code" or query.get("scope") not in ("snsapi_base", "snsapi_userinfo"):
            return self._error(40117, "invalid response_type or scope")
        target = urlparse(query.get("redirect_uri", ""))
        if target.scheme not in ("http", "https") or not target.netloc:
            return self._error(10003, "redirect_uri domain mismatch")
        if len(query.get("state", "")) > 128:
            return self._error(10016, "state too long")
        with self.fake.lock:
            self.fake.authorized.append(dict(query))
        code = self.fake.oauth_code(self.fake.browser_user or self.fake.follower())
        back = urlencode([("code", code), ("state", query.get("state", ""))])
        separator = "&" if target.query else "?"
        self.send_response(302)
        self.send_header("Location", f"{query['redirect_uri']}{separator}{back}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):  # noqa: N802 (http.server's naming)
        url = urlparse(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._error(47001, "data format error")
        if url.path == "/cgi-bin/stable_token":
            return self._stable_token(body)
        if url.path == "/cgi-bin/message/template/send":
            return self._template_send(dict(parse_qsl(url.query)), body)
        return self._error(404, "not found")

    def _stable_token(self, body: dict):
        if body.get("grant_type") != "client_credential":
            return self._error(40002, "invalid grant_type")
        if body.get("appid") != WECHAT_APP_ID:
            return self._error(40013, "invalid appid")
        if body.get("secret") != WECHAT_SECRET:
            return self._error(40125, "invalid appsecret")
        time.sleep(self.fake.slow_token)
        with self.fake.lock:
            self.fake.token_requests += 1
            valid = [t for t, ok in self.fake.tokens.items() if ok]
            if valid and not body.get("force_refresh"):
                token = valid[-1]  # the stable token: the same one while it is valid
            else:
                token = "ACCESS_" + uuid.uuid4().hex
                self.fake.tokens[token] = True
        return self._reply({"access_token": token, "expires_in": 7200})

    def _template_send(self, query: dict, body: dict):
        token = query.get("access_token")
        with self.fake.lock:
            state = self.fake.tokens.get(token)
            scripted = self.fake.script.pop(0) if self.fake.script else None
        if not token:
            return self._error(41001, "access_token missing")
        if state is None:
            return self._error(40014, "invalid access_token")
        if state is False:
            return self._error(42001, "access_token expired")
        if scripted is not None:
            return self._error(scripted, f"scripted {scripted}")
        openid, template_id, data = body.get("touser"), body.get("template_id"), body.get("data")
        if not isinstance(openid, str) or not openid:
            return self._error(40003, "invalid openid")
        with self.fake.lock:
            if openid in self.fake.unsubscribed:
                return self._error(43004, "require subscribe")
            if openid not in self.fake.followers:
                return self._error(40003, "invalid openid")
            expected = self.fake.templates.get(template_id)
        if expected is None:
            return self._error(40037, "invalid template_id")
        if (
            not isinstance(data, dict)
            or set(data) != set(expected)
            or not all(isinstance(v, dict) and isinstance(v.get("value"), str) for v in data.values())
        ):
            return self._error(47003, "argument invalid! data.value invalid")
        if "url" in body and not (isinstance(body["url"], str) and body["url"].startswith(("http://", "https://"))):
            return self._error(40039, "invalid url size")
        msgid = uuid.uuid4().int % 10**16
        with self.fake.lock:
            self.fake.sent.append(
                {"touser": openid, "template_id": template_id, "data": data, "url": body.get("url"), "msgid": msgid}
            )
        self.fake.received.set()
        self.fake.hold.wait(60)  # accepted; the answer may be held back
        return self._reply({"errcode": 0, "errmsg": "ok", "msgid": msgid})


class FakeWechatServer(_FakeServer):
    """`with FakeWechatServer() as server:` → server.url, server.fake (a fresh FakeWechat)."""

    fake_class, handler_class, name = FakeWechat, _WechatHandler, "fake-wechat"


# -- an SMTP sink: a real local SMTP server that keeps what it accepts --------------------------------------------
class SmtpSink:
    """`with SmtpSink() as sink:` → sink.host, sink.port, sink.messages (raw bytes, envelope); addresses in
    `sink.refuse` get 550, and `sink.busy` answers 451 to every RCPT (a transient refusal); `sink.hold` cleared, an
    accepted message waits for its 250 (a worker can be killed meanwhile), `sink.received` set once one arrived."""

    def __init__(self):
        import socketserver

        self.messages: list[dict] = []
        self.refuse: set[str] = set()
        self.busy = False
        self.hold = threading.Event()
        self.hold.set()
        self.received = threading.Event()
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self):
                self.reply("220 sink.local ESMTP")
                sender, recipients = None, []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    command = line.decode(errors="replace").strip()
                    verb = command.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 sink.local")
                    elif verb == "MAIL":
                        sender, recipients = command.split(":", 1)[1].strip().strip("<>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        address = command.split(":", 1)[1].strip().strip("<>")
                        if sink.busy:
                            self.reply("451 4.3.0 try again later")
                        elif address in sink.refuse:
                            self.reply("550 5.1.1 no such mailbox")
                        else:
                            recipients.append(address)
                            self.reply("250 OK")
                    elif verb == "DATA":
                        if not recipients:
                            self.reply("503 5.5.1 no valid recipients")
                            continue
                        self.reply("354 end with <CRLF>.<CRLF>")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        with sink.lock:
                            sink.messages.append({"from": sender, "to": recipients, "data": data})
                        sink.received.set()
                        sink.hold.wait(60)  # accepted; the answer may be held back
                        self.reply("250 OK queued")
                    elif verb == "RSET":
                        sender, recipients = None, []
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 5.5.2 not implemented")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.host, self.port = "127.0.0.1", self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="smtp-sink", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()
