"""An event's plan in two statements (PostgreSQL) writes exactly the rows the ORM's plan writes: the same channels,
statuses and reasons (opt-outs, WeChat bindings, non-essential skips), the operator's wording in the inbox, each
person once, and nothing again for a person already planned or already in the inbox."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from guanjia.db import Database, utcnow
from notifications.config import WechatSettings
from notifications.domain.deliveries import Plan, Recipient, plan_deliveries, plan_for_event, plan_for_events
from notifications.models import ChannelOptOut, Delivery, InboxMessage, TemplateOverride, WechatBinding

TEMPLATE = "fee.overdue.first"
VARIABLES = {"period": "2026-11", "amount": "1234.50", "due_date": "2026-11-15"}


@pytest.fixture
def database(notifications_settings):
    database = Database(notifications_settings.database_url)
    yield database
    database.dispose()


def _people():
    return {name: str(uuid.uuid4()) for name in ("sms_off", "wechat_off", "bound", "plain", "both_off", "staff")}


def _binding(resident_id, now):
    return WechatBinding(
        resident_id=resident_id,
        unit_id=str(uuid.uuid4()),
        community_id=None,
        openid="sealed",
        openid_hash=uuid.uuid4().hex,
        openid_masked="o***",
        created_at=now,
    )


def _sent(key, subject, recipient_id, at):
    """A delivery of event `key` sent before (the event applied once already)."""
    return Delivery(
        id=str(uuid.uuid4()),
        event_id=key,
        event_type="fee.overdue",
        subject=subject,
        recipient_id=recipient_id,
        channel="sms",
        locale="zh-CN",
        status="sent",
        created_at=at,
    )


def _columns(row, skip=("id", "event_id")):
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}


def _written(session, key):
    deliveries = session.execute(select(Delivery).where(Delivery.event_id == key)).scalars()
    messages = session.execute(select(InboxMessage).where(InboxMessage.event_id == key)).scalars()
    return (
        sorted((_columns(d) for d in deliveries), key=lambda c: (c["recipient_id"], c["channel"])),
        sorted((_columns(m) for m in messages), key=lambda c: c["recipient_id"]),
    )


def _recipients(p, opted_out_flag=False):
    return [
        Recipient(p["sms_off"]),
        Recipient(p["wechat_off"], opted_out=opted_out_flag),
        Recipient(p["bound"]),
        Recipient(p["plain"], opted_out=opted_out_flag),
        Recipient(p["plain"]),  # named twice (owner and payer): planned once
        Recipient(p["both_off"]),
        Recipient(p["staff"], "user"),
        Recipient(""),  # no id: nobody to tell
    ]


WECHAT = WechatSettings(app_id="wx-test", app_secret="secret", templates={TEMPLATE: "tpl-1"})
WECHAT_ONLY = WechatSettings(
    app_id="wx-test", app_secret="secret", templates={TEMPLATE: "tpl-1"}, channels={TEMPLATE: ("wechat",)}
)


@pytest.mark.parametrize(
    ("wechat", "essential", "opted_out_flag"),
    [(None, True, False), (None, False, True), (WECHAT, True, False), (WECHAT_ONLY, False, True)],
    ids=["sms", "sms-non-essential", "wechat-then-sms", "wechat-only-non-essential"],
)
def test_the_two_statement_plan_writes_what_the_orm_plan_writes(database, wechat, essential, opted_out_flag):
    p, now = _people(), utcnow().replace(microsecond=0)
    with database.transaction() as s:
        s.add_all(
            [
                ChannelOptOut(recipient_id=p["sms_off"], channel="sms", created_at=now),
                ChannelOptOut(recipient_id=p["wechat_off"], channel="wechat", created_at=now),
                ChannelOptOut(recipient_id=p["both_off"], channel="sms", created_at=now),
                ChannelOptOut(recipient_id=p["both_off"], channel="wechat", created_at=now),
            ]
        )
        s.add_all([_binding(p["bound"], now), _binding(p["wechat_off"], now)])
    community = str(uuid.uuid4())
    orm_key, pg_key = str(uuid.uuid4()), str(uuid.uuid4())

    def plan():
        return Plan(TEMPLATE, VARIABLES, _recipients(p, opted_out_flag), community, essential=essential)

    with database.transaction() as s:
        orm = plan_deliveries(
            s, key=orm_key, event_type="fee.overdue", subject="bill/1", plan=plan(), now=now, wechat=wechat
        )
    event = {"id": pg_key, "type": "fee.overdue", "subject": "bill/1"}
    with database.transaction() as s:
        assert plan_for_event(s, event, plan(), now, wechat) == len(orm) == 6
    with database.transaction() as s:
        orm_rows, pg_rows = _written(s, orm_key), _written(s, pg_key)
        statuses = {d["recipient_id"]: (d["channel"], d["status"], d["reason"]) for d in pg_rows[0]}
    assert pg_rows == orm_rows
    assert len(pg_rows[1]) == 6  # everyone's inbox, whatever the pushed channels
    if wechat is None:
        assert statuses[p["sms_off"]] == ("sms", "skipped", "opted out of sms")
        assert statuses[p["staff"]] == ("sms", "pending", None)
    if wechat is WECHAT:
        assert statuses[p["bound"]] == ("wechat", "pending", None)
        assert statuses[p["wechat_off"]] == ("sms", "pending", None)
    if wechat is WECHAT_ONLY:
        assert statuses[p["bound"]] == ("wechat", "pending", None)
        assert statuses[p["both_off"]] == ("wechat", "skipped", "opted out of wechat")
        assert statuses[p["plain"]] == ("wechat", "skipped", "opted out")


def test_an_event_plans_nobody_twice_and_its_inbox_shows_the_operators_current_wording(database):
    p, now = _people(), utcnow().replace(microsecond=0)
    key, community = str(uuid.uuid4()), str(uuid.uuid4())
    event = {"id": key, "type": "fee.overdue", "subject": "bill/2"}
    with database.transaction() as s:
        s.execute(delete(TemplateOverride).where(TemplateOverride.key == TEMPLATE))
        # Applied before for one person (a delivery) and in the inbox of another: neither is written again.
        s.add(_sent(key, "bill/2", p["plain"], now - timedelta(minutes=5)))
    with database.transaction() as s:
        plan = Plan(TEMPLATE, VARIABLES, [Recipient(p["plain"]), Recipient(p["bound"])], community)
        assert plan_for_event(s, event, plan, now) == 1
    with database.transaction() as s:
        plan = Plan(TEMPLATE, VARIABLES, [Recipient(p["plain"]), Recipient(p["bound"])], community)
        assert plan_for_event(s, event, plan, now) == 0
        deliveries, messages = _written(s, key)
    assert sorted((d["recipient_id"], d["status"]) for d in deliveries) == sorted(
        [(p["plain"], "sent"), (p["bound"], "pending")]
    )
    assert len(messages) == 2  # the inbox message of the person planned before is written once (it had none)

    # An operator rewords the template: the very next event's inbox message has the new wording (read per event).
    with database.transaction() as s:
        s.add(
            TemplateOverride(
                key=TEMPLATE,
                locale="zh-CN",
                text="{signature}{period}物业费{amount}元未缴，请于{due_date}前缴纳。",
                updated_by="admin",
                updated_at=now,
            )
        )
    other = {"id": str(uuid.uuid4()), "type": "fee.overdue", "subject": "bill/3"}
    try:
        with database.transaction() as s:
            assert plan_for_event(s, other, Plan(TEMPLATE, VARIABLES, [Recipient(p["plain"])], community), now) == 1
            [message] = _written(s, other["id"])[1]
        assert message["body"] == "2026-11物业费1234.50元未缴，请于2026-11-15前缴纳。"
    finally:
        with database.transaction() as s:
            s.execute(delete(TemplateOverride).where(TemplateOverride.key == TEMPLATE))


@pytest.mark.parametrize("wechat", [None, WECHAT], ids=["sms", "wechat-then-sms"])
def test_a_batch_of_events_planned_at_once_writes_what_the_orm_plans_write_event_by_event(database, wechat):
    """The consumer's batch: several events, templates and recipients shared between them, one event applied before
    for one person — two statements for them all, and for each event exactly the ORM plan's rows."""
    p, now = _people(), utcnow().replace(microsecond=0)
    with database.transaction() as s:
        s.add(ChannelOptOut(recipient_id=p["sms_off"], channel="sms", created_at=now))
        s.add(_binding(p["bound"], now))
    community = str(uuid.uuid4())
    plans = [
        Plan(TEMPLATE, VARIABLES, _recipients(p), community),
        Plan(TEMPLATE, {**VARIABLES, "amount": "99.00"}, [Recipient(p["plain"]), Recipient(p["bound"])], community),
        Plan("ticket.resolved", {"number": "T-1"}, _recipients(p, True), None, essential=False),
        Plan("ticket.created", {"category": "repair", "number": "T-2"}, [Recipient(p["staff"], "user")], community),
        Plan(TEMPLATE, VARIABLES, [], community),  # nobody to tell: nothing written
    ]
    orm_keys, pg_keys = [str(uuid.uuid4()) for _ in plans], [str(uuid.uuid4()) for _ in plans]
    with database.transaction() as s:
        for keys in (orm_keys, pg_keys):  # the second event was applied before for one person on both sides
            s.add(_sent(keys[1], "bill/1", p["plain"], now))
    with database.transaction() as s:
        orm = [
            plan_deliveries(s, key=key, event_type="fee.overdue", subject="bill/1", plan=plan, now=now, wechat=wechat)
            for key, plan in zip(orm_keys, plans, strict=True)
        ]
    batch = [
        ({"id": key, "type": "fee.overdue", "subject": "bill/1"}, plan)
        for key, plan in zip(pg_keys, plans, strict=True)
    ]
    with database.transaction() as s:
        assert plan_for_events(s, batch, now, wechat) == sum(len(o) for o in orm) == 6 + 1 + 6 + 1
    with database.transaction() as s:
        for orm_key, pg_key in zip(orm_keys, pg_keys, strict=True):
            assert _written(s, pg_key) == _written(s, orm_key)
        assert _written(s, pg_keys[4]) == ([], [])
