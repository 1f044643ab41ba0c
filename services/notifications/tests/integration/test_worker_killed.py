"""Kill the worker process between the provider's acceptance and our commit: the documented outcome is at most one
duplicate, recorded on the delivery or report mail (duplicate_risk) — never a lost message and never a third copy."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from guanjia import bus
from guanjia.db import Database
from guanjia.runtime import declare_queues
from guanjia.testing import wait_until
from notifications.models import Delivery
from notifications.service import SPEC

GUANJIA = str(Path(sys.executable).with_name("guanjia"))


@pytest.fixture
def served_directory(directory):
    server = make_server("127.0.0.1", 0, directory.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def start_worker(env):
    return subprocess.Popen(
        [GUANJIA, "worker", "notifications"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def kill_env(infra, served_directory, sms_server, fakes, extra=None):
    """The worker's environment and the test's settings on the kill database."""
    env = infra.stack_env("kill")
    settings = infra.settings(
        "notifications",
        database="notifications_kill",
        exchange=env["GUANJIA_EXCHANGE"],
        queue_prefix=env["GUANJIA_QUEUE_PREFIX"],
    )
    env.update(
        {
            "GUANJIA_NOTIFICATIONS_DATABASE_URL": settings.database_url,
            "GUANJIA_RESIDENTS_URL": served_directory,
            "GUANJIA_SMS_PROVIDER": "twilio",
            "GUANJIA_SMS_TWILIO_ACCOUNT_SID": fakes.TWILIO_SID,
            "GUANJIA_SMS_TWILIO_AUTH_TOKEN": fakes.TWILIO_TOKEN,
            "GUANJIA_SMS_TWILIO_FROM": fakes.TWILIO_FROM,
            "GUANJIA_SMS_TWILIO_ENDPOINT": f"{sms_server.url}/twilio",
            "GUANJIA_SMS_QUIET_HOURS": "off",
            "GUANJIA_SMS_SEND_LEASE_SECONDS": "2",
            "GUANJIA_SMS_TIMEOUT_SECONDS": "30",
            **(extra or {}),
        }
    )
    declare_queues(SPEC, settings)
    return env, settings


def test_a_worker_killed_while_sending_gives_at_most_one_recorded_duplicate(
    infra, served_directory, directory, sms_server, fake_sms, fakes, make_event
):
    env, settings = kill_env(infra, served_directory, sms_server, fakes)
    resident = directory.resident()
    event = make_event(
        "fee.overdue",
        {
            "bill_id": str(uuid.uuid4()),
            "unit_id": resident["unit_id"],
            "community_id": resident["community_id"],
            "period": "2026-11",
            "amount_due": "99.00",
            "due_date": "2026-11-15",
            "stage": "final",
            "days_overdue": 60,
            "payer_id": resident["resident_id"],
        },
    )
    database = Database(settings.database_url)
    fake_sms.hold.clear()  # the provider takes the message and keeps its answer back
    fake_sms.received.clear()
    first = start_worker(env)
    try:
        publisher = bus.Publisher(settings.with_service("billing"))
        publisher.publish(event)
        publisher.close()
        assert fake_sms.received.wait(60), first.stderr.read1().decode(errors="replace") if first.poll() else "no send"
        wait_until(lambda: fake_sms.of("twilio", resident["phone"]), message="the provider accepted it")
        first.send_signal(signal.SIGKILL)  # between the provider's acceptance and our commit
        first.wait(10)
    finally:
        fake_sms.hold.set()
        if first.poll() is None:
            first.kill()

    def delivery():
        with database.transaction() as s:
            return s.execute(select(Delivery).where(Delivery.event_id == event["id"])).scalar_one_or_none()

    assert delivery().status == "sending"  # what the dead worker left

    second = start_worker(env)
    try:
        row = wait_until(lambda: (d := delivery()) is not None and d.status == "sent" and d, timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(15)
        except subprocess.TimeoutExpired:
            second.kill()
        database.dispose()
    assert row.duplicate_risk and row.attempts == 2 and "may arrive twice" in row.reason
    time.sleep(0.5)
    assert len(fake_sms.of("twilio", resident["phone"])) == 2  # exactly one duplicate, and it is on record
    _ = os


def test_a_worker_killed_while_sending_by_wechat_gives_at_most_one_recorded_duplicate_and_no_sms(
    infra, served_directory, directory, sms_server, fake_sms, wechat_server, fake_wechat, fakes, overdue_event
):
    """The same for a template message to a bound resident: one duplicate at most, on record, no SMS on top."""
    from guanjia.db import utcnow
    from guanjia.pii import encrypt_pii, pii_lookup_hash
    from notifications.models import WechatBinding
    from notifications.templates import TEMPLATES
    from notifications.wechat import mask_openid

    wechat = {
        "GUANJIA_WECHAT_APP_ID": fakes.WECHAT_APP_ID,
        "GUANJIA_WECHAT_APP_SECRET": fakes.WECHAT_SECRET,
        "GUANJIA_WECHAT_ENDPOINT": wechat_server.url,
        "GUANJIA_WECHAT_TEMPLATES": json.dumps({key: f"tpl-{key}" for key in TEMPLATES}),
        "GUANJIA_WECHAT_QUIET_HOURS": "off",
        "GUANJIA_WECHAT_TIMEOUT_SECONDS": "30",
    }
    env, settings = kill_env(infra, served_directory, sms_server, fakes, wechat)
    resident = directory.resident()
    openid = fake_wechat.follower()
    database = Database(settings.database_url)
    with database.transaction() as s:
        s.add(
            WechatBinding(
                resident_id=resident["resident_id"],
                unit_id=resident["unit_id"],
                community_id=resident["community_id"],
                openid=encrypt_pii(settings.pii_key, openid),
                openid_hash=pii_lookup_hash(settings.pii_key, openid),
                openid_masked=mask_openid(openid),
                created_at=utcnow(),
            )
        )
    event = overdue_event(resident, "final")
    fake_wechat.hold.clear()
    fake_wechat.received.clear()
    first = start_worker(env)
    try:
        publisher = bus.Publisher(settings.with_service("billing"))
        publisher.publish(event)
        publisher.close()
        assert fake_wechat.received.wait(60), first.stderr.read1().decode(errors="replace") if first.poll() else "-"
        first.send_signal(signal.SIGKILL)  # between WeChat's acceptance and our commit
        first.wait(10)
    finally:
        fake_wechat.hold.set()
        if first.poll() is None:
            first.kill()

    def delivery():
        with database.transaction() as s:
            return s.execute(select(Delivery).where(Delivery.event_id == event["id"])).scalars().all()

    [left] = delivery()
    assert left.channel == "wechat" and left.status == "sending"
    second = start_worker(env)
    try:
        rows = wait_until(lambda: (d := delivery()) and d[0].status == "sent" and d, timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(15)
        except subprocess.TimeoutExpired:
            second.kill()
        database.dispose()
    [row] = rows
    assert row.duplicate_risk and row.attempts == 2 and "may arrive twice" in row.reason
    time.sleep(0.5)
    assert len(fake_wechat.of(openid)) == 2 and fake_sms.of(phone=resident["phone"]) == []


def start_report_job(env):
    """`guanjia jobs run notifications email_reports`: a worker process running the e-mail reports job once, now."""
    return subprocess.Popen(
        [GUANJIA, "jobs", "run", "notifications", "email_reports"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("lost", [1, 2])
def test_a_worker_killed_while_mailing_a_report_gives_at_most_one_recorded_duplicate(
    infra, served_directory, sms_server, fakes, lost
):
    """Killed once between the SMTP sink's acceptance and the commit: sent once more, marked, with the same
    Message-ID; killed twice: failed as outcome_unknown — never a third copy."""
    import email
    import email.policy

    from notifications.models import ReportMail

    community = str(uuid.uuid4())
    with fakes.SmtpSink() as sink:
        smtp = {
            "GUANJIA_SMTP_HOST": sink.host,
            "GUANJIA_SMTP_PORT": str(sink.port),
            "GUANJIA_SMTP_FROM": "reports@wuye.example.org",
            "GUANJIA_SMTP_TIMEOUT_SECONDS": "30",
            "GUANJIA_SMTP_SEND_LEASE_SECONDS": "2",
            "GUANJIA_SMTP_REPORT_RECIPIENTS": json.dumps({community: ["manager@example.org"]}),
        }
        env, settings = kill_env(infra, served_directory, sms_server, fakes, smtp)
        database = Database(settings.database_url)

        def report():
            with database.transaction() as s:
                return s.execute(select(ReportMail).where(ReportMail.community_id == community)).scalar_one()

        try:
            sink.hold.clear()  # the relay takes the mail and keeps its 250 back
            for attempt in range(1, lost + 1):
                sink.received.clear()
                job = start_report_job(env)
                try:
                    assert sink.received.wait(60), job.stderr.read1().decode(errors="replace") if job.poll() else "-"
                    job.send_signal(signal.SIGKILL)  # between the relay's acceptance and our commit
                    job.wait(10)
                finally:
                    if job.poll() is None:
                        job.kill()
                left = report()
                assert (left.status, left.attempts, left.duplicate_risk) == ("sending", attempt, attempt > 1)
                time.sleep(2.5)  # past the lease
            sink.hold.set()
            job = start_report_job(env)
            assert job.wait(60) == 0, job.stderr.read().decode(errors="replace")
            row = report()
        finally:
            database.dispose()
        ids = {email.message_from_bytes(m["data"], policy=email.policy.default)["Message-ID"] for m in sink.messages}
    assert len(sink.messages) == 2 and ids == {f"<{row.id}@wuye.example.org>"}  # one duplicate, the same Message-ID
    assert row.duplicate_risk and row.attempts == 2
    if lost == 1:
        assert row.status == "sent" and row.error_code is None
    else:
        assert row.status == "failed" and row.error_code == "outcome_unknown"
