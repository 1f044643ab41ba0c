"""What the billing worker's handlers and scheduled jobs receive: settings and the one clock (replaceable in tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from guanjia.db import utcnow

from .domain.common import today_in


@dataclass
class BillingContext:
    settings: object
    upstreams: dict = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """The instance's calendar day: billing periods and due dates are local (Asia/Shanghai by default)."""
        return today_in(self.settings, self.now())


def make_context(settings, upstreams, *, clock=None) -> BillingContext:
    return BillingContext(settings, upstreams, clock or utcnow)
