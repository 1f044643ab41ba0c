"""Business-hours arithmetic of SLA deadlines and report periods (pure functions, no infrastructure)."""

from datetime import UTC, datetime

import pytest

from guanjia.errors import Invalid
from guanjia.money import fen_to_str
from tickets.domain.business_hours import BusinessHours, add_minutes
from tickets.domain.lifecycle import allowed_actions
from tickets.domain.lifecycle import charge_fen as to_fen
from tickets.domain.reports import period_bounds

SHANGHAI_9_TO_6 = BusinessHours.parse("Asia/Shanghai", "09:00", "18:00", "12345")


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        # Wall clock without business hours.
        (datetime(2026, 11, 27, 9, 30, tzinfo=UTC), 120, datetime(2026, 11, 27, 11, 30, tzinfo=UTC)),
    ],
)
def test_wall_clock(start, minutes, due):
    assert add_minutes(start, minutes, None) == due


@pytest.mark.parametrize(
    ("start_local", "minutes", "due_local"),
    [
        ("2026-11-26T10:00", 60, "2026-11-26T11:00"),  # Thursday, inside hours
        ("2026-11-26T07:00", 60, "2026-11-26T10:00"),  # before opening: counts from 09:00
        ("2026-11-26T17:30", 60, "2026-11-27T09:30"),  # over the night
        ("2026-11-27T17:30", 120, "2026-11-30T10:30"),  # Friday evening → Monday
        ("2026-11-28T12:00", 30, "2026-11-30T09:30"),  # filed on Saturday
        ("2026-11-26T09:00", 540, "2026-11-26T18:00"),  # exactly one business day
        ("2026-11-26T09:00", 541, "2026-11-27T09:01"),
    ],
)
def test_business_hours(start_local, minutes, due_local):
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    start = datetime.fromisoformat(start_local).replace(tzinfo=zone)
    due = datetime.fromisoformat(due_local).replace(tzinfo=zone)
    assert add_minutes(start, minutes, SHANGHAI_9_TO_6) == due.astimezone(UTC)


def test_periods_are_local_months_and_monday_weeks():
    start, end, label = period_bounds("monthly", "2026-12", "Asia/Shanghai")
    assert (start.isoformat(), end.isoformat(), label) == (
        "2026-12-01T00:00:00+08:00",
        "2027-01-01T00:00:00+08:00",
        "2026-12",
    )
    start, end, label = period_bounds("weekly", "2026-11-29", "Asia/Shanghai")
    assert label == "2026-11-23/2026-11-29" and start.isoformat() == "2026-11-23T00:00:00+08:00"


def test_money_is_decimal_strings_and_integer_fen():
    assert to_fen("120.50", "charge") == 12050 and fen_to_str(12050) == "120.50"
    for bad in ("abc", "-1", "0", "1.234"):
        with pytest.raises(Invalid):
            to_fen(bad, "charge")


def test_allowed_actions_follow_the_life_cycle():
    assert allowed_actions("new") == ["assign", "cancel", "triage", "close"]
    assert allowed_actions("resolved") == ["visit", "reopen"]
    assert allowed_actions("closed") == ["reopen"]
    assert allowed_actions("cancelled") == []


def test_a_kind_is_offered_only_what_it_can_do():
    from types import SimpleNamespace

    from tickets.domain.lifecycle import kind_actions

    def of(category, status="in_progress", closable=("inquiry", "praise")):
        return kind_actions(SimpleNamespace(category=category, status=status), closable)

    assert "quote" in of("repair") and "close" not in of("repair")
    assert "quote" not in of("complaint") and "accept_quote" not in of("complaint") and "close" not in of("complaint")
    assert "close" in of("inquiry") and "quote" not in of("inquiry")
    assert "close" not in of("inquiry", closable=("praise",))
    assert of("praise", status="resolved") == ["visit", "reopen"]


def test_business_hours_need_a_day_and_an_end_after_the_start():
    for hours in (
        BusinessHours.parse("Asia/Shanghai", "09:00", "18:00", ""),
        BusinessHours.parse("Asia/Shanghai", "18:00", "09:00", "12345"),
        BusinessHours.parse("Asia/Shanghai", "09:00", "09:00", "12345"),
    ):
        with pytest.raises(ValueError):
            add_minutes(datetime(2026, 11, 26, 2, 0, tzinfo=UTC), 60, hours)


def test_business_hours_parse_days_and_times():
    hours = BusinessHours.parse("Asia/Shanghai", "08:30", "17:45", "135")
    assert hours.days == frozenset({1, 3, 5})
    assert (hours.day_start.isoformat(), hours.day_end.isoformat()) == ("08:30:00", "17:45:00")


def test_only_the_working_days_count():
    saturdays = BusinessHours.parse("UTC", "10:00", "12:00", "6")
    # Thursday 2026-11-26 → the first Saturday, 2026-11-28, 10:00 + 90 minutes.
    start = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    assert add_minutes(start, 90, saturdays) == datetime(2026, 11, 28, 11, 30, tzinfo=UTC)
    # Three hours are one Saturday's two and an hour of the next one.
    assert add_minutes(start, 180, saturdays) == datetime(2026, 12, 5, 11, 0, tzinfo=UTC)


def test_the_result_is_utc_whatever_the_start_zone():
    from zoneinfo import ZoneInfo

    start = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert add_minutes(start, 30, None) == datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
    assert add_minutes(start, 30, None).tzinfo == UTC
    assert add_minutes(start, 30, SHANGHAI_9_TO_6).tzinfo == UTC
    assert add_minutes(start, 0, SHANGHAI_9_TO_6) == start.astimezone(UTC)
