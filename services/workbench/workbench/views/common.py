"""Small helpers the screens share: who is signed in, list shapes, SLA ordering."""

from __future__ import annotations

from datetime import datetime

from flask import g

from .. import client

FAR_FUTURE = "9999-12-31T00:00:00+00:00"


def me() -> dict:
    """The signed-in person as the gateway describes them (role, communities, zones), once per request."""
    if "me" not in g:
        g.me = client.get("/api/v1/users/me")
    return g.me


def items(found) -> list:
    """The rows of a list answer, whether the API pages it ({items: [...]}) or returns a plain array."""
    if found is None:
        return []
    if isinstance(found, dict):
        return list(found.get("items") or [])
    return list(found)


def sla_due(ticket: dict) -> str | None:
    """The next SLA deadline that still counts: the response deadline until responded, then the resolution one."""
    if not ticket.get("responded_at") and ticket.get("response_due_at"):
        return ticket["response_due_at"]
    return ticket.get("resolution_due_at")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def sla_state(ticket: dict, now: datetime) -> str:
    """breached / due_soon (within 2 hours) / on_track / none — the same buckets as the list's SLA filter."""
    due = sla_due(ticket)
    ticket["sla_due"] = due
    if not due or ticket.get("status") in ("resolved", "closed", "cancelled"):
        return "none"
    left = (_parse(due) - now).total_seconds()
    if left < 0:
        return "breached"
    return "due_soon" if left < 2 * 3600 else "on_track"


def sort_by_sla(tickets: list, now: datetime) -> list:
    """Least SLA time left first (overdue ones on top); tickets without a clock last."""
    for ticket in tickets:
        ticket["sla_state"] = sla_state(ticket, now)
    return sorted(tickets, key=lambda t: sla_due(t) or FAR_FUTURE)
