"""满意度调查: the surveys of a community with their response rate by zone while they run, and the analysis report
of a closed one (scores by service line and zone, the lowest items, the comments; the XLSX to download)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request

from .. import client
from .common import items
from .forms import communities

bp = Blueprint("surveys", __name__, url_prefix="/surveys")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("")
def index():
    places = communities()
    community_id = request.args.get("community_id") or (places[0]["id"] if places else "")
    found = (
        items(client.get_or_none("/api/v1/surveys", {"community_id": community_id, "page_size": 50}))
        if community_id
        else []
    )
    return render_template("surveys.html", places=places, community_id=community_id, surveys=found)


@bp.get("/<survey_id>")
def detail(survey_id: str):
    survey = client.get(f"/api/v1/surveys/{survey_id}")
    progress = client.get_or_none(f"/api/v1/surveys/{survey_id}/progress")
    report = client.get_or_none(f"/api/v1/surveys/{survey_id}/report") if survey["status"] == "closed" else None
    return render_template("survey_detail.html", survey=survey, progress=progress, report=report)


@bp.get("/<survey_id>/report.xlsx")
def report_xlsx(survey_id: str):
    response = client.raw("GET", f"/api/v1/surveys/{survey_id}/report", params={"format": "xlsx"})
    if response.status != 200:
        abort(response.status if response.status in (403, 404, 409) else 502)
    return Response(
        response.body, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="survey-{survey_id}.xlsx"'}
    )
