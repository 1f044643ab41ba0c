"""百问百答: the front desk searches the community's knowledge base (any Chinese substring) and sees who is
responsible for each matter, the local directory and hotlines, and the entries past their review date."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import client
from .common import items
from .forms import communities

bp = Blueprint("knowledge", __name__, url_prefix="/knowledge")


@bp.get("")
def index():
    places = communities()
    community_id = request.args.get("community_id") or (places[0]["id"] if places else "")
    query = request.args.get("q", "").strip()[:50]
    found, hotlines, overdue = [], [], []
    if community_id:
        params = {"community_id": community_id, "page_size": 100, **({"q": query} if query else {})}
        found = items(client.get_or_none("/api/v1/knowledge", params))
        hotlines = items(client.get_or_none("/api/v1/directory", params))
        overdue = items(
            client.get_or_none("/api/v1/knowledge/overdue", {"community_id": community_id, "page_size": 100})
        )
    template = "knowledge_rows.html" if request.headers.get("HX-Request") else "knowledge.html"
    return render_template(
        template,
        places=places,
        community_id=community_id,
        query=query,
        entries=found,
        hotlines=hotlines,
        overdue=overdue,
    )
