"""站内信 — the in-app inbox of the signed-in person (staff here, residents on /m/inbox): every notification to them
with its full text and links, unread first marked, and marked read one by one; the header shows the unread count."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for

from .. import client
from .forms import q

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
API = "/api/v1/inbox"
PAGE_SIZE = 50


def page(unread_only: bool = False, page_number: int = 1) -> dict:
    """The caller's own messages, newest first ({items, total, unread, page, page_size}); the API keeps them theirs."""
    found = client.get(API, {"unread": unread_only, "page": page_number, "page_size": PAGE_SIZE})
    for message in found.get("items") or []:
        https_links(message)
    return found


def https_links(message: dict) -> dict:
    """Only https links (the API accepts no others): whatever else might be stored is not made a link."""
    links = message.get("links") or []
    message["links"] = [link for link in links if str(link.get("url", "")).startswith("https://")]
    return message


def unread_count() -> int | None:
    """The unread count of the signed-in person's inbox, once per request; None when it cannot be had now (a page
    never fails because the badge cannot be shown)."""
    if "inbox_unread" not in g:
        try:
            found = client.get_or_none(API, {"unread": True, "page_size": 1})
        except (client.ApiError, client.SignedOut):
            found = None
        g.inbox_unread = found.get("unread") if isinstance(found, dict) else None
    return g.inbox_unread


def mark_read(message_id: str) -> dict:
    """Mark one of my messages read (someone else's is the API's 404); answers the message."""
    return client.post(f"{API}/{q(message_id)}/read")


def page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10_000 else 1


@bp.get("")
def index():
    unread_only = request.args.get("unread") == "1"
    return render_template("inbox.html", inbox=page(unread_only, page_number()), unread_only=unread_only)


@bp.post("/<message_id>/read")
def read(message_id):
    mark_read(message_id)
    return redirect(url_for("inbox.index", unread=request.form.get("unread") or None), code=303)
