"""Migration 0004 on a copy of real rows: direct messages sealed by the old scheme (Fernet, raw-key HMAC) at 0003
are read back after the upgrade with the library's scheme, and found by their new lookup hash (issue 20)."""

import importlib.util
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, insert, select

from guanjia.db import as_utc, drop_postgres_database, ensure_postgres_database, upgrade
from guanjia.testing import TEST_PII_KEY
from notifications.domain import messages
from notifications.models import Delivery, SmsCounter
from notifications.service import SPEC

NOW = datetime(2026, 11, 30, 2, 15, tzinfo=UTC)  # 10:15 in Shanghai
DAY = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # its local day's start
MINUTE = NOW.replace(second=0)
SETTINGS = SimpleNamespace(pii_key=TEST_PII_KEY)


# The old scheme as migration 0004 keeps it, frozen (the service no longer has it).
_spec = importlib.util.spec_from_file_location(
    "notifications_0004", SPEC.migrations_dir / "versions" / "0004_pii_library_scheme.py"
)
MIGRATION = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(MIGRATION)
old_encrypt, old_decrypt, old_phone_key = MIGRATION.old_seal, MIGRATION.old_unseal, MIGRATION.old_phone_key

# A row the service wrote before 0004, copied as stored (sealed by its own code then, under TEST_PII_KEY): it
# checks the frozen copy above against what the old code really wrote.
RECORDED = {"phone": "+8613700001111", "variables": {"code": "908172"}}
RECORDED_SECRET = (
    "gAAAAABrEBl1FTpcRdIjWUiNQsL5P3wYOSX5u_xMgAg0IKdwoZRs2V6UysQtVbhANuD4_0vtVxaAr8ILvDLzU3jOPLT2pucmqm6qO4MFOeJr"
    "wZTVHlvbzZa7DoSomBDa9STIVubiaAb_lxc8IM7hUkbB1-eqF-z1qw=="
)
RECORDED_KEY = "9c41473d2809a8f2ca86b8a41dc187c1"


def _row(recipient_id: str, recipient_kind: str, status: str, secret: str | None, **values) -> dict:
    delivery_id = str(uuid.uuid4())
    row = {
        "id": delivery_id,
        "event_id": delivery_id,
        "event_type": "message.login_code",
        "kind": "message",
        "subject": f"message/{delivery_id}",
        "community_id": None,
        "recipient_id": recipient_id,
        "recipient_kind": recipient_kind,
        "recipient_masked": "138****8000",
        "channel": "sms",
        "locale": "zh-CN",
        "template": "login_code",
        "variables": "{}",
        "secret": secret,
        "urgent": True,
        "essential": True,
        "status": status,
        "attempts": 0,
        "next_attempt_at": NOW,
        "created_at": NOW - timedelta(minutes=5),
        "duplicate_risk": False,
        "resent_count": 0,
    }
    row.update(values)
    return row


def _stored_rows():
    """What a busy instance holds at 0003: two codes queued to one number, an older code to it already sent (its
    secret erased), one being sent to another number, a resident's reminder, and the caps' counters."""
    first, second = "+8613800138000", "+8613912345678"
    old_first, old_second = old_phone_key(TEST_PII_KEY, first), old_phone_key(TEST_PII_KEY, second)
    plain = {
        "queued": {"phone": first, "variables": {"code": "483920"}},
        "queued_again": {"phone": first, "variables": {"code": "115577"}},
        "sending": {"phone": second, "variables": {"code": "A1B2C3"}},
        "recorded": RECORDED,
    }
    rows = {
        "queued": _row(old_first, "phone", "pending", old_encrypt(TEST_PII_KEY, plain["queued"])),
        "queued_again": _row(old_first, "phone", "pending", old_encrypt(TEST_PII_KEY, plain["queued_again"])),
        "sending": _row(
            old_second, "phone", "sending", old_encrypt(TEST_PII_KEY, plain["sending"]), claimed_at=NOW, attempts=1
        ),
        "recorded": _row(RECORDED_KEY, "phone", "pending", RECORDED_SECRET),
        "sent": _row(old_first, "phone", "sent", None, sent_at=NOW - timedelta(minutes=4), provider="aliyun"),
        "resident": _row(
            str(uuid.uuid4()),
            "resident",
            "sent",
            None,
            kind="event",
            event_type="fee.overdue",
            template="fee.overdue.first",
            community_id=str(uuid.uuid4()),
        ),
    }
    counters = [
        {"scope": "recipient_day", "key": old_first, "window_start": DAY, "count": 3},
        {"scope": "recipient_minute", "key": old_first, "window_start": MINUTE, "count": 2},
        {"scope": "recipient_day", "key": old_second, "window_start": DAY, "count": 1},
        {"scope": "community_day", "key": rows["resident"]["community_id"], "window_start": DAY, "count": 1},
        {"scope": "recipient_day", "key": rows["resident"]["recipient_id"], "window_start": DAY, "count": 1},
    ]
    return rows, plain, counters, {first: old_first, second: old_second, RECORDED["phone"]: RECORDED_KEY}


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request, infra, tmp_path, monkeypatch):
    # The migration reads the service's PII key as the service does (GUANJIA_PII_KEY; nothing under var/).
    monkeypatch.setenv("GUANJIA_PII_KEY", TEST_PII_KEY)
    monkeypatch.setenv("GUANJIA_VAR_DIR", str(tmp_path / "var"))
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/notifications.db"
        return
    url = infra.database_url(f"pii_migration_{uuid.uuid4().hex[:8]}")
    ensure_postgres_database(url)
    try:
        yield url
    finally:
        drop_postgres_database(url)


def test_the_upgrade_reseals_every_stored_number_and_moves_its_lookup_hash(database_url):
    # The frozen old scheme reads what the old code wrote, and computes the same key.
    assert old_decrypt(TEST_PII_KEY, RECORDED_SECRET) == RECORDED
    assert old_phone_key(TEST_PII_KEY, RECORDED["phone"]) == RECORDED_KEY
    upgrade(database_url, SPEC.migrations_dir, "0003")
    rows, plain, counters, old_keys = _stored_rows()
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(Delivery.__table__), list(rows.values()))
            conn.execute(insert(SmsCounter.__table__), counters)

        upgrade(database_url, SPEC.migrations_dir)

        with engine.connect() as conn:
            stored = {r.id: r for r in conn.execute(select(Delivery.__table__))}
            caps = {
                (c.scope, c.key, as_utc(c.window_start)): c.count for c in conn.execute(select(SmsCounter.__table__))
            }
            for name, value in plain.items():
                row = stored[rows[name]["id"]]
                assert row.secret.startswith("v1:") and row.secret != rows[name]["secret"]
                assert messages.unseal(SETTINGS, row.secret) == value  # the library's scheme opens it
                assert row.recipient_id == messages.phone_key(SETTINGS, value["phone"])
            # Found by the new lookup hash: the queued codes and the older one whose secret was already erased.
            first, second, _ = list(old_keys)
            key = messages.phone_key(SETTINGS, first)
            found = conn.execute(select(Delivery.__table__.c.id).where(Delivery.recipient_id == key)).scalars()
            assert set(found) == {rows[n]["id"] for n in ("queued", "queued_again", "sent")}
            assert stored[rows["sent"]["id"]].secret is None
            # The caps keep counting the number under its new key; nothing else moved.
            assert caps[("recipient_day", key, DAY)] == 3
            assert caps[("recipient_minute", key, MINUTE)] == 2
            assert caps[("recipient_day", messages.phone_key(SETTINGS, second), DAY)] == 1
            assert not [k for (_, k, _) in caps if k in old_keys.values()]
            resident = rows["resident"]
            assert stored[resident["id"]].recipient_id == resident["recipient_id"]
            assert caps[("community_day", resident["community_id"], DAY)] == 1
            assert caps[("recipient_day", resident["recipient_id"], DAY)] == 1

        # And back: the downgrade reseals with the old scheme, under the old keys.
        cfg = Config()
        cfg.set_main_option("script_location", str(SPEC.migrations_dir))
        cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
        cfg.attributes["configure_logger"] = False
        command.downgrade(cfg, "0003")
        with engine.connect() as conn:
            stored = {r.id: r for r in conn.execute(select(Delivery.__table__))}
        for name, value in plain.items():
            row = stored[rows[name]["id"]]
            assert old_decrypt(TEST_PII_KEY, row.secret) == value
            assert row.recipient_id == old_keys[value["phone"]]
    finally:
        engine.dispose()
