"""What the staff worker's scheduled jobs receive: the settings, the other services, and the one clock."""

from __future__ import annotations

from types import SimpleNamespace

from guanjia.db import utcnow


def make_context(settings, upstreams, *, clock=None):
    """The jobs' context: settings (needed to write events), upstreams, and `clock` (tests pass a controllable one)."""
    return SimpleNamespace(settings=settings, upstreams=upstreams, clock=clock or utcnow)
