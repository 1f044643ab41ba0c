"""Fixtures of the notifications service tests: its app, the real residents app, and event helpers."""

import functools
import random
import uuid

import pytest

from guanjia import events
from guanjia.http import WsgiUpstream
from guanjia.testing import auth_header, installed_app, publish_as


@pytest.fixture(scope="session")
def notifications_settings(infra):
    return infra.settings("notifications")


@pytest.fixture(scope="session")
def notifications_app(notifications_settings):
    from notifications.app import create_app

    return create_app(notifications_settings, upstreams={})


@pytest.fixture
def client(notifications_app):
    return notifications_app.test_client()


@pytest.fixture(scope="session")
def residents_app(infra):
    """The real residents service (its contact endpoint); the tests that need it skip until it is installed."""
    return installed_app(infra, "residents", {})


@pytest.fixture(scope="session")
def residents_upstream(residents_app):
    return WsgiUpstream("residents", residents_app)


@pytest.fixture
def resident(residents_app, notifications_settings):
    """A resident with a phone in the real residents service (its own community, building and unit)."""
    return _register_resident(residents_app, notifications_settings)


@pytest.fixture
def ticket_created():
    """Build a ticket.created event exactly as the tickets service does."""
    return _ticket_created


@pytest.fixture
def publish(notifications_settings):
    """Publish events on the session's exchange as the tickets service's relay would."""
    return functools.partial(publish_as, notifications_settings, "tickets")


def _random_mobile() -> str:
    return f"+86138{random.randint(0, 99_999_999):08d}"


def _admin_post(residents_app, settings):
    """post(path, body) → the created record, through the residents API as an admin would."""
    client = residents_app.test_client()
    admin = auth_header(settings, "admin")

    def post(path, body):
        response = client.post(path, json=body, headers=admin)
        assert response.status_code == 201, (path, response.json)
        return response.json

    return post


@pytest.fixture
def residents_post(residents_app, notifications_settings):
    return _admin_post(residents_app, notifications_settings)


@pytest.fixture
def random_mobile():
    return _random_mobile


def _register_resident(residents_app, settings, phone: str | None = None) -> dict:
    """A resident with a phone, created through the residents API as an admin would."""
    post = _admin_post(residents_app, settings)
    community = post("/api/v1/communities", {"name": f"测试小区{uuid.uuid4().hex[:6]}"})
    building = post("/api/v1/buildings", {"community_id": community["id"], "name": "1栋"})
    unit = post("/api/v1/units", {"building_id": building["id"], "number": "1-101", "floor": 1, "area_m2": "88.50"})
    phone = phone or _random_mobile()
    resident = post("/api/v1/residents", {"unit_id": unit["id"], "name": "张三", "phone": phone, "role": "owner"})
    return {"resident_id": resident["id"], "unit_id": unit["id"], "community_id": community["id"], "phone": phone}


def _ticket_created(reporter_id: str, community_id: str, /, *, category: str = "repair", **data_changes) -> dict:
    """A ticket.created event exactly as the tickets service builds it."""
    ticket_id = str(uuid.uuid4())
    data = {
        "ticket_id": ticket_id,
        "number": f"261127-{ticket_id[:6].upper()}",
        "community_id": community_id,
        "unit_id": str(uuid.uuid4()),
        "reporter_id": reporter_id,
        "category": category,
        "status": "new",
        "created_at": "2026-11-27T08:00:00+00:00",
    }
    data.update(data_changes)
    data = {k: v for k, v in data.items() if v is not None}
    return events.build(
        type="ticket.created",
        source="/testcity/tickets",
        subject=f"ticket/{ticket_id}",
        city="testcity",
        community=community_id,
        data=data,
    )


# -- the outside world (fake SMS providers) and the directory, for the delivery pipeline -------------------------
def _load_fakes():
    """tests/fake_providers.py (shared with bench/notifications_*.py), loaded by path: tests are not a package."""
    import importlib.util
    import sys
    from pathlib import Path

    if "notifications_fake_providers" not in sys.modules:
        path = Path(__file__).resolve().parent / "fake_providers.py"
        spec = importlib.util.spec_from_file_location("notifications_fake_providers", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules["notifications_fake_providers"]


@pytest.fixture(scope="session")
def fakes():
    return _load_fakes()


def provider_templates():
    """Template codes/ids as an operator would configure them after the providers approved the templates."""
    from notifications.templates import TEMPLATES

    aliyun = {key: f"SMS_{460000000 + i}" for i, key in enumerate(sorted(TEMPLATES))}
    tencent = {key: str(1900000 + i) for i, key in enumerate(sorted(TEMPLATES))}
    return aliyun, tencent


@pytest.fixture(scope="session")
def sms_server(fakes):
    from notifications.templates import TEMPLATES

    with fakes.FakeSmsServer() as server:
        aliyun, tencent = provider_templates()
        server.fake.templates["aliyun"] = {code: TEMPLATES[key].variables for key, code in aliyun.items()}
        server.fake.templates["tencent"] = {tid: TEMPLATES[key].variables for key, tid in tencent.items()}
        yield server


@pytest.fixture
def fake_sms(sms_server):
    """The fake providers with a clean slate for this test."""
    fake = sms_server.fake
    with fake.lock:
        fake.sent.clear()
        fake.script.clear()
        fake.requests.clear()
    fake.hold.set()
    return fake


@pytest.fixture(scope="session")
def sms_config(sms_server, fakes):
    """make(provider, **changes) → SmsSettings pointing every provider at the fake servers."""
    import dataclasses
    from datetime import time

    from notifications.config import AliyunSettings, SmsSettings, TencentSettings, TwilioSettings

    aliyun, tencent = provider_templates()

    def make(provider="aliyun", **changes):
        base = SmsSettings(
            provider=provider,
            signature="幸福物业",
            aliyun=AliyunSettings(
                access_key_id=fakes.ALIYUN_KEY_ID,
                access_key_secret=fakes.ALIYUN_SECRET,
                endpoint=f"{sms_server.url}/aliyun/",
                templates=aliyun,
                callback_token="aliyun-receipts-token",
            ),
            tencent=TencentSettings(
                secret_id=fakes.TENCENT_ID,
                secret_key=fakes.TENCENT_KEY,
                sdk_app_id=fakes.TENCENT_APP,
                endpoint=f"{sms_server.url}/tencent/",
                templates=tencent,
                callback_token="tencent-receipts-token",
            ),
            twilio=TwilioSettings(
                account_sid=fakes.TWILIO_SID,
                auth_token=fakes.TWILIO_TOKEN,
                from_number=fakes.TWILIO_FROM,
                endpoint=f"{sms_server.url}/twilio",
                status_callback_url="https://sms.example.org/api/v1/notifications/receipts/twilio",
            ),
            quiet_start=time(21, 0),
            quiet_end=time(8, 0),
            retry_base_seconds=10,
            retry_max_seconds=600,
            timeout_seconds=3,
        )
        return dataclasses.replace(base, **changes)

    return make


@pytest.fixture(scope="session")
def wechat_server(fakes):
    from notifications.templates import TEMPLATES

    with fakes.FakeWechatServer() as server:
        server.fake.templates = {f"tpl-{key}": TEMPLATES[key].variables for key in TEMPLATES}
        yield server


@pytest.fixture
def fake_wechat(wechat_server):
    """The fake official account with a clean slate for this test (its followers and templates stay)."""
    fake = wechat_server.fake
    with fake.lock:
        fake.sent.clear()
        fake.script.clear()
        fake.tokens.clear()
        fake.token_requests = 0
        fake.slow_token = 0.0
    fake.hold.set()
    return fake


@pytest.fixture
def wechat_config(wechat_server, fakes):
    """make(**changes) → WechatSettings pointing at the fake official account, a template id for every key."""
    import dataclasses

    from notifications.config import WechatSettings
    from notifications.templates import TEMPLATES

    def make(**changes):
        base = WechatSettings(
            app_id=fakes.WECHAT_APP_ID,
            app_secret=fakes.WECHAT_SECRET,
            endpoint=wechat_server.url,
            templates={key: f"tpl-{key}" for key in TEMPLATES},
            page_url="https://m.example.org/inbox/{message_id}",
            timeout_seconds=3,
        )
        return dataclasses.replace(base, **changes)

    return make


class Clock:
    """An injectable clock (UTC); starts at 10:00 in Shanghai on a weekday."""

    def __init__(self):
        from datetime import UTC, datetime

        self.value = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)

    def __call__(self):
        return self.value

    def set_local(self, hour, minute=0, day=26):
        from datetime import UTC, datetime
        from zoneinfo import ZoneInfo

        local = datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))
        self.value = local.astimezone(UTC)

    def advance(self, **delta):
        from datetime import timedelta

        self.value += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


class Directory:
    """A stand-in for the residents and gateway internal endpoints (contract2), checking the service credential."""

    def __init__(self, settings):
        from flask import Flask, abort, jsonify, request

        from guanjia.auth import principal_from_header

        self.residents, self.units, self.zones, self.users, self.areas = {}, {}, {}, {}, {}
        self.calls = []
        self.batch_contacts, self.batched = True, []  # the one-call look-up of a batch's contacts, and its calls
        app = Flask("directory")

        @app.before_request
        def _service_only():
            self.calls.append(request.path)
            try:
                principal = principal_from_header(settings, request.headers.get("Authorization"))
            except Exception:
                abort(401)
            if principal.role != "service":
                abort(403)

        def found(value):
            return jsonify(value) if value is not None else abort(404)

        def contact(c):
            return {k: c[k] for k in ("resident_id", "unit_id", "community_id", "name", "phone", "locale")}

        @app.get("/api/v1/internal/residents/<rid>/contact")
        def resident(rid):
            c = self.residents.get(rid)
            return found(c and contact(c))

        @app.post("/api/v1/internal/residents/contacts")
        def residents_contacts():
            if not self.batch_contacts:
                abort(404)  # an older residents without the call
            ids = request.get_json()["resident_ids"]
            self.batched.append(ids)
            return jsonify(
                {"contacts": [contact(self.residents[r]) for r in dict.fromkeys(ids) if r in self.residents]}
            )

        @app.get("/api/v1/internal/units/<uid>/contacts")
        def unit(uid):
            if uid not in self.units:
                abort(404)
            roles = request.args.get("roles", "owner").split(",")
            contacts = [self.residents[r] for r in self.units[uid] if self.residents[r]["role"] in roles]
            community = self.residents[self.units[uid][0]]["community_id"] if self.units[uid] else "c"
            return jsonify({"unit_id": uid, "community_id": community, "contacts": contacts})

        @app.get("/api/v1/internal/zones/<zid>")
        def zone(zid):
            return found(self.zones.get(zid))

        @app.get("/api/v1/internal/communities/<cid>/recipients")
        def recipients(cid):
            key = (cid, request.args.get("scope"), request.args.get("target_id"))
            if key not in self.areas:
                abort(404)
            return jsonify({"contacts": [self.residents[r] for r in self.areas[key]]})

        @app.get("/api/v1/internal/users/<uid>/contact")
        def user(uid):
            return found(self.users.get(uid))

        @app.get("/api/v1/internal/users")
        def users():
            cid, role = request.args.get("community_id"), request.args.get("role")
            items = [u for u in self.users.values() if u["role"] == role and cid in u["communities"]]
            return jsonify({"items": items})

        self.app = app

    def resident(self, *, unit_id=None, community_id=None, role="owner", locale="zh-CN", phone=None, opted_out=False):
        rid = str(uuid.uuid4())
        self.residents[rid] = {
            "resident_id": rid,
            "unit_id": unit_id or str(uuid.uuid4()),
            "community_id": community_id or str(uuid.uuid4()),
            "name": "李四",
            "phone": phone or _random_mobile(),
            "role": role,
            "locale": locale,
            "opted_out": opted_out,
        }
        if unit_id:
            self.units.setdefault(unit_id, []).append(rid)
        return self.residents[rid]

    def user(self, role, community_id, phone=None):
        uid = str(uuid.uuid4())
        self.users[uid] = {
            "user_id": uid,
            "role": role,
            "name": "王五",
            "phone": phone or _random_mobile(),
            "communities": [community_id],
        }
        return self.users[uid]


@pytest.fixture(scope="session")
def pipeline_settings(infra):
    """Settings on a database of its own: the pipeline tests' pending rows never meet other tests' dispatchers."""
    return infra.settings("notifications", database="notifications_pipeline", queue_prefix=f"{infra.prefix}.pipe.")


@pytest.fixture
def directory(pipeline_settings):
    return Directory(pipeline_settings)


@pytest.fixture
def pipeline(pipeline_settings, directory, sms_config, clock):
    """build(provider, **sms_changes) → a Pipeline: handle(event) as the consumer does, dispatch() as the worker."""
    from guanjia.bus import EventConsumer
    from guanjia.db import Database
    from guanjia.http import WsgiUpstream
    from notifications.consumers import HANDLERS
    from notifications.context import make_context
    from notifications.domain.dispatch import dispatch
    from notifications.models import inbox

    database = Database(pipeline_settings.database_url)
    upstreams = {
        "residents": WsgiUpstream("residents", directory.app),
        "gateway": WsgiUpstream("gateway", directory.app),
    }
    built, apps = [], []

    class Pipeline:
        def __init__(self, provider, wechat=None, **changes):
            self.sms = sms_config(provider, **changes)
            self.wechat = wechat
            self.context = make_context(pipeline_settings, upstreams, clock=clock, sms=self.sms, wechat=wechat)
            self.consumer = EventConsumer(pipeline_settings, database, inbox, HANDLERS, self.context)
            self.database = database
            self.upstreams = upstreams
            built.append(self)

        def handle(self, event):
            return self.consumer.handle(event)

        def dispatch(self):
            """Dispatch until nothing is due now; returns how many sends were attempted."""
            total = 0
            while (n := dispatch(self.context, database, clock())) > 0:
                total += n
            return total

        def app(self):
            from notifications.app import create_app

            app = create_app(pipeline_settings, upstreams, clock=clock, sms=self.sms, wechat=self.wechat)
            apps.append(app)
            return app

    yield Pipeline
    # Leave nothing due behind for the next test's dispatcher.
    with database.transaction() as session:
        from sqlalchemy import update

        from notifications.models import Delivery

        session.execute(
            update(Delivery)
            .where(Delivery.status.in_(["pending", "sending"]))
            .values(status="skipped", reason="test end")
        )
    for p in built:
        if p.context._pool:
            p.context._pool.shutdown()
        if p.context._db:
            p.context._db.dispose()
    for app in apps:  # every app holds its own connection pool
        app.extensions["guanjia.db"].dispose()
    database.dispose()


def event_of(type_, data, community=None):
    """An event exactly as a producer's outbox builds it."""
    return events.build(
        type=type_,
        source=f"/testcity/{type_.split('.')[0]}",
        subject=f"{type_.split('.')[0]}/{uuid.uuid4()}",
        city="testcity",
        community=community or data.get("community_id"),
        data=data,
    )


@pytest.fixture
def make_event():
    return event_of


def fee_overdue(resident: dict, stage: str = "first") -> dict:
    """A fee.overdue event for a resident of the directory stand-in (the payer), as billing builds it."""
    return event_of(
        "fee.overdue",
        {
            "bill_id": str(uuid.uuid4()),
            "unit_id": resident["unit_id"],
            "community_id": resident["community_id"],
            "period": "2026-Q4",
            "amount_due": "88.00",
            "due_date": "2026-11-15",
            "stage": stage,
            "days_overdue": 30,
            "payer_id": resident["resident_id"],
        },
    )


@pytest.fixture
def overdue_event():
    return fee_overdue


@pytest.fixture
def bound(pipeline, directory, fake_wechat, wechat_config):
    """(pipeline, client, bind): bind(resident=None) → (resident, openid), a resident whose WeChat is bound the way
    the API does it (test_wechat, test_channel_choices)."""
    p = pipeline("twilio", wechat=wechat_config())
    client = p.app().test_client()
    settings = p.context.settings

    def bind(resident=None):
        resident = resident or directory.resident(unit_id=str(uuid.uuid4()), community_id=str(uuid.uuid4()))
        butler = auth_header(settings, "butler", communities=[resident["community_id"]])
        issued = client.post(
            "/api/v1/notifications/wechat/binding-codes", json={"unit_id": resident["unit_id"]}, headers=butler
        )
        assert issued.status_code == 201, issued.json
        openid = fake_wechat.follower()
        own = auth_header(settings, "resident", resident_id=resident["resident_id"], units=[resident["unit_id"]])
        body = {"code": issued.json["code"], "oauth_code": fake_wechat.oauth_code(openid)}
        answer = client.post("/api/v1/notifications/wechat/bindings", json=body, headers=own)
        assert answer.status_code == 201, answer.json
        return resident, openid

    return p, client, bind
