"""Events the staff service handles: none yet (it announces absences; figures come from the others' APIs)."""

from __future__ import annotations

from types import SimpleNamespace

HANDLERS: dict = {}
# The tolerant payload schema of each handled type (checked against the producers in tests/contract).
SCHEMAS: dict = {}


def make_context(settings, upstreams):
    """What scheduled jobs receive: this service's settings (needed to write events)."""
    return SimpleNamespace(settings=settings, upstreams=upstreams)
