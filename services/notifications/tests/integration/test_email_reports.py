"""Managers' delivery reports by e-mail: the last finished week's statistics per channel as an XLSX attachment,
once per community, period and address, through a real local SMTP sink; a refused address fails alone."""

import dataclasses
import email
import email.policy
import io

import pytest
from sqlalchemy import select

from notifications.config import SmtpSettings
from notifications.jobs import email_reports_job
from notifications.models import ReportMail


@pytest.fixture
def sink(fakes):
    with fakes.SmtpSink() as server:
        yield server


def reports(p, community_id):
    with p.database.transaction() as s:
        query = select(ReportMail).where(ReportMail.community_id == community_id).order_by(ReportMail.recipient_masked)
        return list(s.execute(query).scalars())


def test_the_weekly_report_goes_once_to_each_manager_with_the_statistics_attached(
    pipeline, directory, fake_sms, overdue_event, sink, clock
):
    from openpyxl import load_workbook

    resident = directory.resident()
    community = resident["community_id"]
    smtp = SmtpSettings(
        host=sink.host,
        port=sink.port,
        sender="reports@wuye.example.org",
        timeout_seconds=3,
        report_recipients={community: ["manager@example.org", "boss@example.org", "gone@example.org"]},
    )
    p = pipeline("twilio")
    p.context.smtp = smtp
    sink.refuse.add("gone@example.org")
    p.handle(overdue_event(resident))  # Thursday 2026-11-26, 10:00 local
    p.dispatch()
    clock.set_local(9, 0, day=30)  # the next Monday: last week (11-23 … 11-29) is finished

    assert email_reports_job(p.context, p.database) == 2
    assert email_reports_job(p.context, p.database) == 0  # once per community, week and address
    assert sorted(m["to"][0] for m in sink.messages) == ["boss@example.org", "manager@example.org"]
    boss, gone, manager = reports(p, community)
    assert (boss.status, manager.status, gone.status) == ("sent", "sent", "failed") and gone.error_code == "550"
    assert manager.period_start == "2026-11-23" and manager.recipient_masked == "ma***@example.org"
    assert "manager@example.org" not in repr(vars(manager))  # the address is kept only in the settings

    message = email.message_from_bytes(sink.messages[0]["data"], policy=email.policy.default)
    assert message["From"] == "reports@wuye.example.org" and "2026-11-23" in str(message["Subject"])
    [attachment] = [part for part in message.walk() if part.get_filename()]
    assert attachment.get_filename().endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(attachment.get_payload(decode=True))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("date", "channel", "sent")
    by_key = {(r[0], r[1]): r for r in rows[1:]}
    assert len(rows) == 1 + 7 * 3  # seven days × sms, wechat, inbox
    assert by_key[("2026-11-26", "sms")][2] == 1 and by_key[("2026-11-26", "inbox")][3] == 1
    assert by_key[("2026-11-25", "sms")][2] == 0


def test_a_busy_relay_is_retried_and_nothing_goes_while_smtp_is_unset(pipeline, directory, sink, clock):
    resident = directory.resident()
    p = pipeline("twilio")
    assert email_reports_job(p.context, p.database) == 0  # not configured: nothing planned
    p.context.smtp = dataclasses.replace(
        SmtpSettings(host=sink.host, port=sink.port, timeout_seconds=3),
        report_recipients={resident["community_id"]: ["manager@example.org"]},
    )
    sink.busy = True
    assert email_reports_job(p.context, p.database) == 0
    [row] = reports(p, resident["community_id"])
    assert row.status == "pending" and row.error_code == "451" and row.attempts == 1
    sink.busy = False
    assert email_reports_job(p.context, p.database) == 1
    [row] = reports(p, resident["community_id"])
    assert row.status == "sent" and len(sink.messages) == 1


def test_an_outcome_arriving_after_the_lease_leaves_the_newer_attempt_alone(pipeline, directory, sink, clock):
    """The first worker's late answer does not overwrite what the worker that took the mail over records."""
    from datetime import timedelta

    from notifications.domain import reports as domain

    resident = directory.resident()
    p = pipeline("twilio")
    p.context.smtp = SmtpSettings(
        host=sink.host, port=sink.port, timeout_seconds=3, report_recipients={resident["community_id"]: ["m@x.org"]}
    )
    now = p.context.clock()
    with p.database.transaction() as s:
        domain.plan_reports(s, p.context.settings, p.context.smtp, now)
        claim = domain.claim_due(s, p.context, now, set())
    later = now + timedelta(seconds=p.context.smtp.send_lease_seconds + 1)
    with p.database.transaction() as s:
        assert domain.recover_stale(s, p.context.smtp, later) == 1
        taken = domain.claim_due(s, p.context, later, set())
    assert domain.send_claimed(p.context.smtp, taken) is None
    with p.database.transaction() as s:
        assert domain.record(s, p.context.smtp, taken, None, later).status == "sent"
    with p.database.transaction() as s:
        assert domain.record(s, p.context.smtp, claim, None, later) is None  # the first worker's late outcome
    [row] = reports(p, resident["community_id"])
    assert (row.status, row.attempts, row.duplicate_risk) == ("sent", 2, True) and len(sink.messages) == 1
    assert email.message_from_bytes(sink.messages[0]["data"])["Message-ID"] == f"<{row.id}@localhost>"
