"""Quiet hours and local days in the instance timezone: pure arithmetic on an explicit `now`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from guanjia.db import as_utc

from ..config import SmsSettings


def local_now(now: datetime, timezone: str) -> datetime:
    """`now` in the instance timezone."""
    return as_utc(now).astimezone(ZoneInfo(timezone))


def in_quiet_hours(now: datetime, sms: SmsSettings, timezone: str) -> bool:
    """Is `now` inside the quiet hours (local time; a window may cross midnight)?"""
    if sms.quiet_start is None or sms.quiet_end is None or sms.quiet_start == sms.quiet_end:
        return False
    t = local_now(now, timezone).time()
    if sms.quiet_start > sms.quiet_end:  # across midnight, e.g. 21:00–08:00
        return t >= sms.quiet_start or t < sms.quiet_end
    return sms.quiet_start <= t < sms.quiet_end


def quiet_hours_end(now: datetime, sms: SmsSettings, timezone: str) -> datetime:
    """The next end of quiet hours after `now`, in UTC."""
    local = local_now(now, timezone)
    end = local.replace(hour=sms.quiet_end.hour, minute=sms.quiet_end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(ZoneInfo("UTC"))


def local_day_start(now: datetime, timezone: str) -> datetime:
    """The start (in UTC) of the local day holding `now`."""
    local = local_now(now, timezone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(ZoneInfo("UTC"))


def today(now: datetime, timezone: str) -> date:
    """The instance's calendar day at `now`."""
    return local_now(now, timezone).date()
