"""满意度调查: the surveys of a community; building a questionnaire (sections by service line, five kinds of
question, the audience and its sample), opening and closing it, the response rate by zone while it runs, an answer
taken by phone or on a home visit recorded for a household of the butler's zones, reminders to the households that
have not answered, and the analysis report of a closed one (on screen, printable, and the XLSX)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import client
from .common import items, me
from .forms import attempt, chosen_community, communities, q
from .households import audience_names, buildings_of, households_of, zones_of

bp = Blueprint("surveys", __name__, url_prefix="/surveys")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The questionnaire's sections, in the duty sheets' order; "overall" takes the recommendation and the comments.
SERVICE_LINES = ("customer_service", "maintenance", "security", "cleaning", "greening", "overall")
KINDS = ("scale_5", "nps", "single", "multiple", "text")
CHOICE_KINDS = ("single", "multiple")
CHANNELS = ("phone", "visit")
BUILD_ROLES = ("senior_butler", "cs_manager")  # who builds and runs a survey (the API decides; the links follow)
NEW_ROWS = 6  # one question per section to start with; "Add a question" adds a row


@bp.get("")
def index():
    places = communities()
    community_id = request.args.get("community_id") or (places[0]["id"] if places else "")
    found = (
        items(client.get_or_none("/api/v1/surveys", {"community_id": community_id, "page_size": 50}))
        if community_id
        else []
    )
    can_build = me().get("role") in BUILD_ROLES
    return render_template("surveys.html", places=places, community_id=community_id, surveys=found, can_build=can_build)


# -- building a questionnaire ----------------------------------------------------------------------------------------
def _rows_from_form(form) -> list[dict]:
    """The question rows as posted (q0_text, q0_kind, ...), blank rows kept so the form comes back as typed."""
    posted = form.get("rows", "")
    count = min(int(posted), 100) if posted.isdigit() else NEW_ROWS
    return [
        {
            "service_line": form.get(f"q{i}_service_line", ""),
            "kind": form.get(f"q{i}_kind", ""),
            "text": form.get(f"q{i}_text", "").strip(),
            "options": form.get(f"q{i}_options", ""),
            "required": form.get(f"q{i}_required") == "on",
        }
        for i in range(count)
    ]


def _fresh_rows() -> list[dict]:
    return [
        {"service_line": line, "kind": "text" if line == "overall" else "scale_5", "text": "", "options": "",
         "required": line != "overall"}
        for line in SERVICE_LINES
    ]  # fmt: skip


def _question_body(rows: list[dict]) -> tuple[list[dict], list[int]]:
    """The API's questions from the rows with a text (and the row each came from, to put its errors under it)."""
    questions, origin = [], []
    for index, row in enumerate(rows):
        if not row["text"]:
            continue
        question = {"service_line": row["service_line"], "kind": row["kind"], "text": row["text"]}
        question["required"] = row["required"]
        options = [line.strip() for line in row["options"].splitlines() if line.strip()]
        if options or row["kind"] in CHOICE_KINDS:
            question["options"] = options
        questions.append(question)
        origin.append(index)
    return questions, origin


def _survey_body(form, community_id: str, questions: list[dict], errors: dict) -> dict:
    body: dict = {
        "community_id": community_id,
        "title": form.get("title", "").strip(),
        "anonymous": form.get("anonymous") == "on",
        "zone_ids": form.getlist("zone_ids"),
        "building_ids": form.getlist("building_ids"),
        "questions": questions,
    }
    for name in ("sample_size", "seed", "low_score"):
        text = form.get(name, "").strip()
        if text:
            if not text.isdigit():
                errors[name] = _("Enter a whole number.")
            else:
                body[name] = int(text)
    return body


def _field_errors(errors: dict, origin: list[int]) -> dict:
    """The API's `questions.<n>.<field>` names as the form's `q<row>_<field>` (the n-th question with a text)."""
    shown = {}
    for name, message in errors.items():
        parts = name.split(".")
        if parts[0] == "questions" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(origin):
            shown[f"q{origin[int(parts[1])]}_{parts[2] if len(parts) > 2 else 'text'}"] = message
        elif name.startswith(("zone_ids", "building_ids")):
            shown[name.split(".")[0]] = message
        else:
            shown[name] = message
    return shown


def _build_page(community: dict | None, places: list, rows: list[dict], errors=None, status=200):
    zones = zones_of(community["id"]) if community else []
    buildings = buildings_of(community["id"]) if community else []
    return (
        render_template(
            "survey_new.html",
            places=places,
            community=community,
            zones=zones,
            buildings=buildings,
            chosen_buildings=request.form.getlist("building_ids"),
            rows=rows,
            values=request.form,
            chosen_zones=request.form.getlist("zone_ids"),
            errors=errors or {},
            service_lines=SERVICE_LINES,
            kinds=KINDS,
        ),
        status,
    )


@bp.get("/new")
def new():
    places, community = chosen_community()
    return _build_page(community, places, _fresh_rows())


@bp.post("/new")
def create():
    places, community = chosen_community()
    if community is None:
        abort(404)
    rows = _rows_from_form(request.form)
    if request.form.get("add_question"):
        rows.append({"service_line": "overall", "kind": "scale_5", "text": "", "options": "", "required": True})
        return _build_page(community, places, rows)
    questions, origin = _question_body(rows)
    errors: dict = {}
    body = _survey_body(request.form, community["id"], questions, errors)
    if errors:
        return _build_page(community, places, rows, errors, 422)
    created, refused = attempt(client.post, "/api/v1/surveys", body)
    if created is None:
        return _build_page(community, places, rows, _field_errors(refused, origin), 422)
    return redirect(url_for("surveys.detail", survey_id=created["id"]), code=303)


# -- running it ------------------------------------------------------------------------------------------------------
def _sections(survey: dict) -> list[tuple[str, list]]:
    """The questions grouped by service line, in the questionnaire's order of sections."""
    return [
        (line, [question for question in survey["questions"] if question["service_line"] == line])
        for line in SERVICE_LINES
        if any(question["service_line"] == line for question in survey["questions"])
    ]


def _detail(survey_id: str, errors=None, status=200, notice=None, answering=False):
    """The survey's page; `answering`: an answer was just refused, so its form comes back with the reason even
    when the survey has closed in the meantime."""
    survey = client.get(f"/api/v1/surveys/{q(survey_id)}")
    progress = client.get_or_none(f"/api/v1/surveys/{q(survey_id)}/progress")
    report = client.get_or_none(f"/api/v1/surveys/{q(survey_id)}/report") if survey["status"] == "closed" else None
    zone_names, building_names = audience_names(survey["community_id"], survey["zone_ids"], survey["building_ids"])
    answering = answering or survey["status"] == "open"
    households = households_of(survey["community_id"]) if answering else []
    return (
        render_template(
            "survey_detail.html",
            survey=survey,
            sections=_sections(survey),
            zone_names=zone_names,
            building_names=building_names,
            progress=progress,
            report=report,
            households=households,
            answering=answering,
            channels=CHANNELS,
            errors=errors or {},
            values=request.form,
            notice=notice or request.args.get("notice"),
            can_run=me().get("role") in BUILD_ROLES,
        ),
        status,
    )


@bp.get("/<survey_id>")
def detail(survey_id: str):
    return _detail(survey_id)


@bp.post("/<survey_id>/<any(open, close):step>")
def step(survey_id: str, step: str):
    """Open (the questions freeze, the households are drawn) or close (the report is made)."""
    done, errors = attempt(client.post, f"/api/v1/surveys/{q(survey_id)}/{step}")
    if done is None:
        return _detail(survey_id, {"step": next(iter(errors.values()))}, 409)
    return redirect(url_for("surveys.detail", survey_id=survey_id), code=303)


@bp.post("/<survey_id>/reminders")
def remind(survey_id: str):
    """Remind the households that have not answered (a butler: their zones'), at most once a day each."""
    sent, errors = attempt(client.post, f"/api/v1/surveys/{q(survey_id)}/reminders")
    if sent is None:
        return _detail(survey_id, {"remind": next(iter(errors.values()))}, 409)
    notice = f"reminded:{sent['reminded']}:{sent['already_reminded_today']}"
    return redirect(url_for("surveys.detail", survey_id=survey_id, notice=notice), code=303)


def _answer_value(question: dict, form):
    """A question's answer as the form posted it: an option, the ticked options, a whole number or a text."""
    name = f"a_{question['id']}"
    if question["kind"] == "multiple":
        return form.getlist(name) or None
    text = form.get(name, "").strip()
    if not text:
        return None
    if question["kind"] in ("scale_5", "nps"):
        return int(text) if text.lstrip("-").isdigit() else text
    return text


@bp.post("/<survey_id>/answers")
def record_answer(survey_id: str):
    """An answer taken by phone or on a home visit, for one household: the API refuses a closed survey, a household
    outside the audience or the butler's zones, and a second answer of the same household."""
    survey = client.get(f"/api/v1/surveys/{q(survey_id)}")
    form = request.form
    body = {
        "unit_id": form.get("unit_id", ""),
        "channel": form.get("channel", ""),
        "answers": {question["id"]: _answer_value(question, form) for question in survey["questions"]},
    }
    body["answers"] = {key: value for key, value in body["answers"].items() if value is not None}
    recorded, errors = attempt(client.post, f"/api/v1/surveys/{q(survey_id)}/answers", body)
    if recorded is None:
        shown = {name.replace("answers.", "a_"): message for name, message in errors.items()}
        if "_" in shown:  # a conflict (closed survey, a second answer) is about the household's answer as a whole
            shown["unit_id"] = shown.pop("_")
        return _detail(survey_id, shown, 422 if "_" not in errors else 409, answering=True)
    return redirect(url_for("surveys.detail", survey_id=survey_id, notice="answered"), code=303)


# -- the report ------------------------------------------------------------------------------------------------------
@bp.get("/<survey_id>/print")
def printable(survey_id: str):
    report = client.get(f"/api/v1/surveys/{q(survey_id)}/report")
    return render_template("survey_print.html", report=report)


@bp.get("/<survey_id>/report.xlsx")
def report_xlsx(survey_id: str):
    response = client.raw("GET", f"/api/v1/surveys/{q(survey_id)}/report", params={"format": "xlsx"})
    if response.status != 200:
        abort(response.status if response.status in (403, 404, 409) else 502)
    return Response(
        response.body, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="survey-{survey_id}.xlsx"'}
    )
