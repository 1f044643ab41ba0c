"""What the tickets worker's handlers and scheduled jobs receive: settings, upstreams and the one clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from guanjia.db import utcnow


@dataclass
class TicketsContext:
    settings: object  # this service's settings (needed to write events)
    upstreams: dict = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow  # tests pass a controllable one


def make_context(settings, upstreams, *, clock=None) -> TicketsContext:
    return TicketsContext(settings, upstreams, clock or utcnow)
