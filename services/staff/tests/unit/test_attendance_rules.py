"""The pure rules of rotas and attendance: shift windows across midnight, late / absent / on leave against the rota,
and a week's coverage against each shift's minimum staffing."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from staff.domain.attendance_rules import (
    GRACE,
    Outcome,
    coverage,
    crosses_midnight,
    parse_clock,
    shift_outcome,
    shift_window,
    week_days,
)

TZ = "Asia/Shanghai"  # UTC+8, no daylight saving
DAY = date(2026, 12, 7)  # a Monday


def test_parse_clock_takes_hh_mm_only():
    assert parse_clock("08:30") == time(8, 30)
    for bad in ("8:30", "0830", "ab:cd", "08:3"):
        with pytest.raises(ValueError):
            parse_clock(bad)


def test_a_day_shift_lies_within_its_day():
    start, end = shift_window(DAY, time(8), time(16), TZ)
    assert start == datetime(2026, 12, 7, 0, 0, tzinfo=UTC) and end == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_a_night_shift_ends_on_the_next_day():
    assert crosses_midnight(time(22), time(6)) and not crosses_midnight(time(8), time(16))
    start, end = shift_window(DAY, time(22), time(6), TZ)
    assert start == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 7, 22, 0, tzinfo=UTC)  # 06:00 local on Tuesday
    # Ending when it starts: a 24-hour shift.
    start, end = shift_window(DAY, time(8), time(8), TZ)
    assert end - start == timedelta(hours=24)


NIGHT = shift_window(DAY, time(22), time(6), TZ)
AFTER = NIGHT[1] + timedelta(hours=1)


def test_clocked_in_within_the_grace_is_present_later_is_late():
    assert shift_outcome(NIGHT, [NIGHT[0] - timedelta(minutes=30)], [], AFTER) == Outcome("present")
    assert shift_outcome(NIGHT, [NIGHT[0] + GRACE], [], AFTER) == Outcome("present")
    assert shift_outcome(NIGHT, [NIGHT[0] + timedelta(minutes=17, seconds=30)], [], AFTER) == Outcome("late", 17)


def test_a_clock_in_after_midnight_counts_for_the_night_shift_of_the_day_before():
    # 01:10 local on Tuesday is within Monday's 22:00–06:00 shift: late by 190 minutes, not absent.
    one_ten = datetime(2026, 12, 7, 17, 10, tzinfo=UTC)
    assert shift_outcome(NIGHT, [one_ten], [], AFTER) == Outcome("late", 190)


def test_no_clock_in_is_absent_only_once_the_shift_is_over():
    assert shift_outcome(NIGHT, [], [], NIGHT[0] - timedelta(hours=1)) == Outcome("upcoming")
    assert shift_outcome(NIGHT, [], [], NIGHT[0] + timedelta(hours=1)) == Outcome("on_duty")
    assert shift_outcome(NIGHT, [], [], NIGHT[1]) == Outcome("absent")
    # A clock-in of another day (or far too early) does not count for this shift.
    assert shift_outcome(NIGHT, [NIGHT[0] - timedelta(hours=3), NIGHT[1]], [], AFTER) == Outcome("absent")


def test_a_person_on_approved_leave_is_not_absent():
    # Leave over the part after midnight only still covers the night shift.
    leave = (datetime(2026, 12, 7, 16, 0, tzinfo=UTC), datetime(2026, 12, 9, 0, 0, tzinfo=UTC))
    assert shift_outcome(NIGHT, [], [leave], AFTER) == Outcome("on_leave")
    # Leave that ended when the shift began does not.
    before = (NIGHT[0] - timedelta(days=1), NIGHT[0])
    assert shift_outcome(NIGHT, [], [before], AFTER) == Outcome("absent")


def test_coverage_names_each_day_and_shift_below_its_minimum():
    days = week_days(DAY)
    assert len(days) == 7 and days[-1] == date(2026, 12, 13)
    entries = [(d, "early") for d in days for _ in range(2)] + [(d, "night") for d in days[:5]]
    gaps = coverage(days, {"early": 2, "night": 1, "spare": 0}, entries)
    assert [(g.day, g.shift_id, g.staffed, g.minimum) for g in gaps] == [
        (date(2026, 12, 12), "night", 0, 1),
        (date(2026, 12, 13), "night", 0, 1),
    ]
    assert coverage(days, {"early": 2}, entries) == []
