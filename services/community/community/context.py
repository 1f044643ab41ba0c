"""What the community worker's handlers receive: the settings, the other services, and the one clock."""

from __future__ import annotations

from types import SimpleNamespace

from guanjia.db import utcnow


def make_context(settings, upstreams, *, clock=None):
    """The handlers' context: this service's settings and `clock` (tests pass a controllable one)."""
    return SimpleNamespace(settings=settings, upstreams=upstreams, clock=clock or utcnow)
