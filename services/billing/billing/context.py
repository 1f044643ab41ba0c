"""What the billing worker's handlers and scheduled jobs receive: settings and a clock (replaceable in tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class BillingContext:
    settings: object
    upstreams: dict = field(default_factory=dict)
    clock: Callable[[], datetime] = system_clock

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """The instance's calendar day: billing periods and due dates are local (Asia/Shanghai by default)."""
        return self.now().astimezone(ZoneInfo(self.settings.timezone)).date()


def make_context(settings, upstreams) -> BillingContext:
    return BillingContext(settings, upstreams)
