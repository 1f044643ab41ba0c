"""The pure rules of rotas and attendance: a shift's window in time (crossing midnight), the status of one rostered
shift against the clock-ins and leave (present, late, absent, on leave), and a week's coverage against the minimum
staffing of each shift. No database, no clock: everything they need comes in as arguments."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A clock-in this long after the shift's start is still on time (the 宽限 of a paper sign-in sheet).
GRACE = timedelta(minutes=5)
# One may clock in for a shift from this long before it starts.
EARLY = timedelta(hours=2)

STATUSES = ("upcoming", "on_duty", "present", "late", "absent", "on_leave")


def parse_clock(text: str) -> time:
    """'08:30' → time(8, 30); ValueError for anything else."""
    hours, _, minutes = text.partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours.isdigit() and minutes.isdigit()):
        raise ValueError("a local time like 08:30")
    return time(int(hours), int(minutes))


def crosses_midnight(starts: time, ends: time) -> bool:
    """A night shift (22:00–06:00) ends on the next day; a shift ending when it starts lasts 24 hours."""
    return ends <= starts


def shift_window(day: date, starts: time, ends: time, timezone: str) -> tuple[datetime, datetime]:
    """The shift of `day` as a UTC interval: it starts on `day` in the instance's time zone and ends on the next day
    when it crosses midnight."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, starts, zone)
    end = datetime.combine(day + timedelta(days=1) if crosses_midnight(starts, ends) else day, ends, zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class Outcome:
    status: str  # one of STATUSES
    late_minutes: int = 0


def _overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def clock_in_counts(window: tuple[datetime, datetime], clock_in: datetime) -> bool:
    """A clock-in belongs to a shift from EARLY before its start until its end."""
    return window[0] - EARLY <= clock_in < window[1]


def shift_outcome(
    window: tuple[datetime, datetime],
    clock_ins: list[datetime],
    leaves: list[tuple[datetime, datetime]],
    now: datetime,
) -> Outcome:
    """What a rostered shift came to: on approved leave over any part of it (never absent); clocked in within the
    grace → present, later → late (by how many minutes); no clock-in once the shift is over → absent; before that,
    upcoming (not begun) or on_duty (begun, the person may still come)."""
    if any(_overlaps(window, leave) for leave in leaves):
        return Outcome("on_leave")
    counted = sorted(c for c in clock_ins if clock_in_counts(window, c))
    if counted:
        first = counted[0]
        if first <= window[0] + GRACE:
            return Outcome("present")
        return Outcome("late", int((first - window[0]).total_seconds() // 60))
    if now >= window[1]:
        return Outcome("absent")
    return Outcome("upcoming" if now < window[0] else "on_duty")


@dataclass(frozen=True)
class Gap:
    day: date
    shift_id: str
    staffed: int
    minimum: int


def coverage(days: list[date], minimums: dict[str, int], entries: list[tuple[date, str]]) -> list[Gap]:
    """Each day × shift of the week staffed below its minimum (`entries` are the rostered (day, shift_id) pairs, one
    per person)."""
    staffed = Counter(entries)
    return [
        Gap(day, shift_id, staffed[(day, shift_id)], minimum)
        for day in days
        for shift_id, minimum in minimums.items()
        if staffed[(day, shift_id)] < minimum
    ]


def week_days(monday: date) -> list[date]:
    return [monday + timedelta(days=n) for n in range(7)]
