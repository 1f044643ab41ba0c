"""SMS texts and the console provider, without infrastructure."""

import logging
from types import SimpleNamespace

import marshmallow as ma
import pytest

from guanjia.config import Settings
from notifications.consumers import TicketCreated
from notifications.domain import render_ticket_created
from notifications.sms import ConsoleSms, provider_from_settings


@pytest.mark.parametrize(
    ("category", "kind"),
    [
        ("repair", "报修"),
        ("complaint", "投诉"),
        ("inquiry", "咨询"),
        ("suggestion", "建议"),
        ("service_request", "工单"),
    ],
)
def test_ticket_created_text_names_the_kind_and_number(category, kind):
    text = render_ticket_created("幸福物业", category, "261127-ABC123")
    assert text == f"【幸福物业】您的{kind}已受理，工单号261127-ABC123，我们将尽快处理。"


def test_an_unknown_locale_falls_back_to_chinese():
    assert render_ticket_created("管家物业", "repair", "N1", "xx-XX") == render_ticket_created(
        "管家物业", "repair", "N1"
    )


def test_console_provider_logs_the_masked_phone_never_the_raw_one(caplog):
    caplog.set_level(logging.INFO, logger="notifications.sms")
    message_id = ConsoleSms().send("+8613800138000", "【管家物业】您的报修已受理")
    assert message_id.startswith("console-")
    lines = [r.getMessage() for r in caplog.records if r.name == "notifications.sms"]
    assert len(lines) == 1 and "138****8000" in lines[0]
    everything = caplog.text + repr([vars(r) for r in caplog.records])
    assert "13800138000" not in everything


def test_provider_comes_from_settings():
    assert provider_from_settings(Settings(service="notifications", database_url="sqlite://")).name == "console"
    assert provider_from_settings(SimpleNamespace(sms_provider="console")).name == "console"
    with pytest.raises(RuntimeError, match="unknown SMS provider"):
        provider_from_settings(SimpleNamespace(sms_provider="carrier-pigeon"))


def test_ticket_created_payload_tolerates_new_fields_and_requires_the_reporter():
    loaded = TicketCreated().load(
        {"ticket_id": "t", "number": "n", "reporter_id": "r", "category": "repair", "priority": "high"}
    )
    assert loaded["reporter_id"] == "r" and "priority" not in loaded
    with pytest.raises(ma.ValidationError) as error:
        TicketCreated().load({"ticket_id": "t", "number": "n", "category": "repair"})
    assert "reporter_id" in error.value.messages
