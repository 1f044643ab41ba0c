"""How the workbench shows times, money and enum values, and where it lets a sign-in send the browser."""

from datetime import UTC, datetime

import pytest

from workbench import i18n
from workbench.app import create_app
from workbench.views.auth import _safe_next
from workbench.views.common import sla_state, sort_by_sla


@pytest.mark.parametrize(
    ("value", "shown"),
    [("1234.5", "¥1,234.50"), ("0", "¥0.00"), ("-12", "-¥12.00"), ("1000000.05", "¥1,000,000.05"), (None, "")],
)
def test_money_is_shown_in_yuan_with_thousands_separators(value, shown):
    assert i18n.money(value) == shown


def test_api_times_are_shown_in_the_instance_timezone_without_seconds():
    assert i18n.local_time("2026-12-02T01:30:00+00:00", "Asia/Shanghai") == "2026-12-02 09:30"
    assert i18n.local_time("2026-12-01T23:59:59Z", "Asia/Shanghai") == "2026-12-02 07:59"
    assert i18n.local_time(datetime(2026, 12, 2, 1, 30, tzinfo=UTC), "Asia/Urumqi") == "2026-12-02 07:30"
    assert i18n.local_time(None, "Asia/Shanghai") == ""


@pytest.fixture
def app(tmp_path):
    from guanjia import config

    settings = config.from_env("workbench", {"GUANJIA_VAR_DIR": str(tmp_path)})
    return create_app(settings, upstreams={})


def test_enum_values_get_their_chinese_label_and_english_on_request(app):
    with app.test_request_context("/"):
        assert i18n.label("in_progress", "status") == "处理中"
        assert i18n.label("repair", "category") == "报修"
        assert i18n.label("not-an-enum") == "not-an-enum"
    with app.test_request_context("/", headers={"Cookie": f"{i18n.LANG_COOKIE}=en"}):
        assert i18n.label("in_progress", "status") == "In progress"


@pytest.mark.parametrize(
    ("wanted", "sent_to"),
    [
        ("/tickets?status=new", "/tickets?status=new"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
    ],
)
def test_after_sign_in_only_a_path_of_this_site_is_followed(app, wanted, sent_to):
    with app.test_request_context("/"):
        assert _safe_next(wanted) == sent_to


def test_tickets_with_the_least_sla_time_left_come_first_and_overdue_ones_are_flagged():
    now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    tickets = [
        {"id": "later", "status": "assigned", "responded_at": "x", "resolution_due_at": "2026-12-03T00:00:00+00:00"},
        {"id": "none", "status": "new"},
        {
            "id": "overdue",
            "status": "in_progress",
            "responded_at": "x",
            "resolution_due_at": "2026-12-01T00:00:00+00:00",
        },
        {"id": "soon", "status": "new", "response_due_at": "2026-12-02T02:00:00+00:00"},
    ]
    ordered = sort_by_sla(tickets, now)
    assert [t["id"] for t in ordered] == ["overdue", "soon", "later", "none"]
    assert [t["sla_state"] for t in ordered] == ["breached", "due_soon", "on_track", "none"]
    assert sla_state({"status": "resolved", "resolution_due_at": "2026-12-01T00:00:00+00:00"}, now) == "none"
