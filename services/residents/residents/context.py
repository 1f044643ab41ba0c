"""What the residents worker's handlers receive: settings, the other services, and the one clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from guanjia.db import utcnow


@dataclass
class ResidentsContext:
    settings: object
    upstreams: dict = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow


def make_context(settings, upstreams, *, clock=None) -> ResidentsContext:
    return ResidentsContext(settings, upstreams or {}, clock or utcnow)
