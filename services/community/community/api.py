"""HTTP API of the community service: knowledge base, local directory and hotlines, satisfaction surveys; no rules
here."""

from __future__ import annotations

from flask import Response, current_app, jsonify

from guanjia import web
from guanjia.web import Blueprint, PageArgs
from guanjia.workbook import XLSX_TYPE

from .domain import knowledge, surveys
from .schemas import (
    AnswerIn,
    AnswerOut,
    AnswerPage,
    DirectoryIn,
    DirectoryListArgs,
    DirectoryOut,
    DirectoryPage,
    DirectoryPatch,
    KnowledgeIn,
    KnowledgeListArgs,
    KnowledgeOut,
    KnowledgePage,
    KnowledgePatch,
    OverdueArgs,
    ProgressOut,
    ReportArgs,
    SurveyIn,
    SurveyListArgs,
    SurveyOut,
    SurveyPage,
)

knowledge_blp = Blueprint(
    "knowledge", __name__, url_prefix="/api/v1/knowledge", description="The front desk's knowledge base (百问百答)"
)
directory_blp = Blueprint(
    "directory", __name__, url_prefix="/api/v1/directory", description="Local services and hotlines (周边与热线)"
)
survey_blp = Blueprint(
    "surveys", __name__, url_prefix="/api/v1/surveys", description="Satisfaction surveys (满意度调查)"
)


def now():
    return current_app.extensions["community.clock"]()


def _today():
    return knowledge.local_today(now(), web.settings().timezone)


def _entry_routes(blp: Blueprint, kind: str, schemas: tuple) -> None:
    """The same five routes for the knowledge base and the directory: list/search, overdue, create, read, change."""
    entry_in, patch, out, page, list_args = schemas

    @blp.route("", methods=["GET"], endpoint=f"list_{kind}")
    @blp.arguments(list_args, location="query")
    @blp.response(200, page)
    def list_entries(args):
        """Entries of a community, searched by any substring (`q`); residents get the published ones."""
        query = knowledge.list_query(web.principal(), kind, args)
        with web.database().transaction() as session:
            return web.paginate(session, query, args["page"], args["page_size"])

    @blp.route("/overdue", methods=["GET"], endpoint=f"overdue_{kind}")
    @blp.arguments(OverdueArgs, location="query")
    @blp.response(200, page)
    def overdue(args):
        """Entries past their review date (定期更新), the oldest first."""
        query = knowledge.overdue_query(web.principal(), kind, args["community_id"], _today())
        with web.database().transaction() as session:
            return web.paginate(session, query, args["page"], args["page_size"])

    @blp.route("", methods=["POST"], endpoint=f"create_{kind}")
    @blp.arguments(entry_in)
    @blp.response(201, out)
    def create(body):
        with web.database().transaction() as session:
            return knowledge.create(session, web.principal(), kind, now(), body)

    @blp.route("/<entry_id>", methods=["GET"], endpoint=f"get_{kind}")
    @blp.response(200, out)
    def get(entry_id):
        with web.database().transaction() as session:
            return knowledge.get(session, web.principal(), kind, entry_id)

    @blp.route("/<entry_id>", methods=["PATCH"], endpoint=f"update_{kind}")
    @blp.arguments(patch)
    @blp.response(200, out)
    def update(body, entry_id):
        """Change, publish or unpublish an entry, or move its review date."""
        with web.database().transaction() as session:
            return knowledge.update(session, web.principal(), kind, now(), entry_id, body)


_entry_routes(knowledge_blp, "knowledge", (KnowledgeIn, KnowledgePatch, KnowledgeOut, KnowledgePage, KnowledgeListArgs))
_entry_routes(directory_blp, "directory", (DirectoryIn, DirectoryPatch, DirectoryOut, DirectoryPage, DirectoryListArgs))


# -- surveys ---------------------------------------------------------------------------------------------------------
@survey_blp.route("", methods=["GET"])
@survey_blp.arguments(SurveyListArgs, location="query")
@survey_blp.response(200, SurveyPage)
def list_surveys(args):
    """Surveys of a community, newest first; a resident sees those their household was asked to answer."""
    query = surveys.list_query(web.principal(), args)
    with web.database().transaction() as session:
        return web.paginate(session, query, args["page"], args["page_size"])


@survey_blp.route("", methods=["POST"])
@survey_blp.arguments(SurveyIn)
@survey_blp.response(201, SurveyOut)
def create_survey(body):
    """A draft questionnaire: sections by service line, questions of five kinds, its audience and sample."""
    with web.database().transaction() as session:
        return surveys.view(session, surveys.create(session, web.principal(), now(), body))


@survey_blp.route("/<survey_id>", methods=["GET"])
@survey_blp.response(200, SurveyOut)
def get_survey(survey_id):
    with web.database().transaction() as session:
        return surveys.view(session, surveys.get(session, web.principal(), survey_id))


@survey_blp.route("/<survey_id>", methods=["PUT"])
@survey_blp.arguments(SurveyIn)
@survey_blp.response(200, SurveyOut)
def replace_survey(body, survey_id):
    """Rewrite a draft; 409 once it has opened (the questionnaire is frozen)."""
    with web.database().transaction() as session:
        return surveys.view(session, surveys.replace(session, web.principal(), survey_id, body))


@survey_blp.route("/<survey_id>/open", methods=["POST"])
@survey_blp.response(200, SurveyOut)
def open_survey(survey_id):
    """Freeze the questions and draw the households (survey.opened)."""
    with web.database().transaction() as session:
        survey = surveys.open_survey(session, web.settings(), web.principal(), now(), survey_id)
        return surveys.view(session, survey)


@survey_blp.route("/<survey_id>/close", methods=["POST"])
@survey_blp.response(200, SurveyOut)
def close_survey(survey_id):
    """No more answers; the analysis report is made (survey.closed)."""
    with web.database().transaction() as session:
        survey = surveys.close(session, web.settings(), web.principal(), now(), survey_id)
        return surveys.view(session, survey)


@survey_blp.route("/<survey_id>/answers", methods=["POST"])
@survey_blp.arguments(AnswerIn)
@survey_blp.response(201, AnswerOut)
def answer_survey(body, survey_id):
    """One household's answers, once: the resident on the mobile page or the butler by phone or visit. A low score
    opens a follow-up complaint in tickets (survey.low_score)."""
    with web.database().transaction() as session:
        return surveys.answer(session, web.settings(), web.principal(), now(), survey_id, body)


@survey_blp.route("/<survey_id>/answers", methods=["GET"])
@survey_blp.arguments(PageArgs, location="query")
@survey_blp.response(200, AnswerPage)
def list_answers(args, survey_id):
    """Answers the caller may see: a resident their own household's, a butler their zones'."""
    with web.database().transaction() as session:
        survey, query = surveys.answers_query(session, web.principal(), survey_id)
        page = web.paginate(session, query, args["page"], args["page_size"])
        page["items"] = [surveys.answer_view(survey, row) for row in page["items"]]
        return page


@survey_blp.route("/<survey_id>/progress", methods=["GET"])
@survey_blp.response(200, ProgressOut)
def survey_progress(survey_id):
    """Response rate by zone while the survey runs."""
    with web.database().transaction() as session:
        return surveys.progress(session, web.principal(), survey_id)


@survey_blp.route("/<survey_id>/report", methods=["GET"])
@survey_blp.arguments(ReportArgs, location="query")
@survey_blp.response(200)
def survey_report(args, survey_id):
    """The analysis report of a closed survey: JSON, or XLSX (`format=xlsx`) with Chinese headers and zone names."""
    with web.database().transaction() as session:
        body = surveys.report(session, web.principal(), survey_id)
    if args["format"] == "xlsx":
        return Response(
            surveys.report_xlsx(body, web.settings().timezone),
            mimetype=XLSX_TYPE,
            headers={"Content-Disposition": f'attachment; filename="survey-{survey_id}.xlsx"'},
        )
    return jsonify(web.jsonable(body))
