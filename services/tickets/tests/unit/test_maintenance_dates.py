"""The due dates of maintenance plans: daily and weekly steps, month ends and 29 February, missed dates skipped."""

from datetime import UTC, date, datetime

from tickets.domain.maintenance import latest_due, local_today, occurrence


def test_occurrences_step_by_frequency_and_keep_to_the_month_end():
    start = date(2026, 1, 31)
    assert [occurrence("daily", start, n) for n in range(3)] == [date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 2)]
    assert occurrence("weekly", start, 2) == date(2026, 2, 14)
    assert [occurrence("monthly", start, n) for n in range(4)] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert occurrence("monthly", date(2026, 11, 15), 2) == date(2027, 1, 15)
    leap = date(2028, 2, 29)
    assert [occurrence("yearly", leap, n) for n in range(2)] + [occurrence("yearly", leap, 4)] == [
        leap,
        date(2029, 2, 28),
        date(2032, 2, 29),
    ]


def test_the_latest_due_date_is_made_and_missed_ones_are_not():
    start = date(2026, 11, 18)
    assert latest_due("weekly", start, 0, date(2026, 12, 2)) == 2  # 18 Nov, 25 Nov, 2 Dec: the 2nd only
    assert latest_due("weekly", start, 0, date(2026, 12, 1)) == 1
    assert latest_due("daily", start, 5, date(2026, 11, 20)) == 5  # never backwards
    assert latest_due("monthly", date(2026, 8, 31), 0, date(2026, 12, 2)) == 3  # 30 November


def test_the_local_day_is_the_communitys():
    # 17:00 UTC on 1 December is 01:00 on 2 December in Shanghai.
    assert local_today(datetime(2026, 12, 1, 17, 0, tzinfo=UTC), "Asia/Shanghai") == date(2026, 12, 2)
