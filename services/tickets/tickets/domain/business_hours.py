"""Business-hours arithmetic: add minutes on the wall clock or within a community's working days and hours (pure
functions, no I/O); SLA deadlines are computed with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessHours:
    timezone: str
    day_start: time
    day_end: time
    days: frozenset[int]  # ISO weekdays, 1 = Monday

    @classmethod
    def parse(cls, timezone: str, start: str, end: str, days: str) -> BusinessHours:
        return cls(timezone, time.fromisoformat(start), time.fromisoformat(end), frozenset(int(d) for d in days))


def add_minutes(start: datetime, minutes: int, hours: BusinessHours | None) -> datetime:
    """start + minutes, counting only business hours when `hours` is given (result in UTC)."""
    if hours is None:
        return start.astimezone(UTC) + timedelta(minutes=minutes)
    if not hours.days or hours.day_end <= hours.day_start:
        raise ValueError("business hours need at least one day and an end after the start")
    zone = ZoneInfo(hours.timezone)
    current = start.astimezone(zone)
    remaining = timedelta(minutes=minutes)
    for _ in range(3700):  # ten years of days: a bound, never reached with sane settings
        day = current.date()
        opens = datetime.combine(day, hours.day_start, zone)
        closes = datetime.combine(day, hours.day_end, zone)
        if current.isoweekday() in hours.days and current < closes:
            begin = max(current, opens)
            available = closes - begin
            if remaining <= available:
                return (begin + remaining).astimezone(UTC)
            remaining -= available
        current = datetime.combine(day + timedelta(days=1), time(0), zone)
    raise ValueError("deadline too far in the future")
