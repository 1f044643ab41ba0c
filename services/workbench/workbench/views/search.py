"""The header search: a phone number, 房号, name or ticket number → the unit file, the resident or the ticket."""

from __future__ import annotations

import re

from flask import Blueprint, redirect, render_template, request, url_for

from .. import client
from .common import items

bp = Blueprint("search", __name__)
TICKET_NUMBER = re.compile(r"^[A-Za-z]{0,3}\d{4,}$")


@bp.get("/search")
def index():
    q = request.args.get("q", "").strip()[:50]
    tickets, residents = [], []
    if q:
        if TICKET_NUMBER.match(q):
            tickets = items(client.get_or_none("/api/v1/tickets", {"number": q.upper(), "page_size": 5}))
        if len(q) >= 2:
            residents = items(client.get_or_none("/api/v1/residents", {"q": q, "page_size": 20}))
    if len(tickets) == 1 and not residents:
        return redirect(url_for("tickets.detail", ticket_id=tickets[0]["id"]), code=303)
    if len(residents) == 1 and not tickets:
        return redirect(url_for("units.detail", unit_id=residents[0]["unit_id"]), code=303)
    return render_template("search.html", q=q, tickets=tickets, residents=residents)
