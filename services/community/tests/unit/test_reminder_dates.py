"""The dates of greetings and repeating reminders: 29 February, month ends, catching up after a stopped worker."""

from datetime import date

from community.domain.reminders import _add_months, _advance, _birthdays_of
from community.models import Reminder


def test_a_leap_day_birthday_is_greeted_on_the_28th_in_other_years():
    assert _birthdays_of(date(2031, 2, 28)) == [(2, 28), (2, 29)]
    assert _birthdays_of(date(2032, 2, 28)) == [(2, 28)]
    assert _birthdays_of(date(2032, 2, 29)) == [(2, 29)]


def test_a_month_end_stays_a_month_end():
    first = date(2027, 1, 31)
    assert [_add_months(first, n) for n in range(4)] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]
    assert _add_months(date(2027, 11, 15), 3) == date(2028, 2, 15)


def _reminder(repeat, first):
    return Reminder(repeat=repeat, first_due=first, next_due=first, occurrence=0, status="active")


def test_advance_moves_past_today_and_a_one_off_ends():
    once = _reminder("none", date(2027, 1, 10))
    _advance(once, date(2027, 1, 10))
    assert (once.status, once.next_due) == ("done", None)
    quarterly = _reminder("quarterly", date(2027, 1, 10))
    _advance(quarterly, date(2027, 8, 1))  # a worker stopped for months: the missed ones are not all sent
    assert (quarterly.status, quarterly.next_due, quarterly.occurrence) == ("active", date(2027, 10, 10), 3)
    yearly = _reminder("yearly", date(2028, 2, 29))
    _advance(yearly, date(2028, 2, 29))
    assert yearly.next_due == date(2029, 2, 28)
