"""HTTP API of the community service: knowledge base, local directory and hotlines, satisfaction surveys; no rules
here."""

from __future__ import annotations

from flask import Response, current_app, jsonify

from guanjia import uploads, web
from guanjia.web import Blueprint, PageArgs
from guanjia.workbook import XLSX_TYPE

from .domain import activities, knowledge, meetings, orders, reminders, surveys, units
from .schemas import (
    ActivityIn,
    ActivityListArgs,
    ActivityOut,
    ActivityPage,
    ActivityPatch,
    AnswerIn,
    AnswerOut,
    AnswerPage,
    CatalogueItemIn,
    CatalogueItemOut,
    CatalogueItemPatch,
    CatalogueListArgs,
    CataloguePage,
    DirectoryIn,
    DirectoryListArgs,
    DirectoryOut,
    DirectoryPage,
    DirectoryPatch,
    FiguresArgs,
    FiguresOut,
    GreetingIn,
    GreetingListArgs,
    GreetingOut,
    GreetingPage,
    IssueIn,
    IssueOut,
    IssuePage,
    IssueTicketIn,
    KnowledgeIn,
    KnowledgeListArgs,
    KnowledgeOut,
    KnowledgePage,
    KnowledgePatch,
    OrderIn,
    OrderListArgs,
    OrderOut,
    OrderPage,
    OverdueArgs,
    PhotoOut,
    PhotoPage,
    ProgressOut,
    RateIn,
    ReminderIn,
    ReminderListArgs,
    ReminderOut,
    ReminderPage,
    ReportArgs,
    ScheduleIn,
    SignUpIn,
    SignUpOut,
    SignUpPage,
    SurveyIn,
    SurveyListArgs,
    SurveyOut,
    SurveyPage,
    SurveyRemindOut,
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

catalogue_blp = Blueprint(
    "catalogue", __name__, url_prefix="/api/v1/catalogue", description="Special and paid services (特约服务)"
)
order_blp = Blueprint(
    "service-orders", __name__, url_prefix="/api/v1/service-orders", description="Orders of catalogue services"
)

activity_blp = Blueprint(
    "activities", __name__, url_prefix="/api/v1/activities", description="Activities and owner meetings (社区活动)"
)
greeting_blp = Blueprint(
    "greetings", __name__, url_prefix="/api/v1/greetings", description="Birthday greetings (生日祝福), by opt-in"
)
reminder_blp = Blueprint(
    "reminders", __name__, url_prefix="/api/v1/reminders", description="Custom reminders for households (事务提醒)"
)


def _paged(session, query, args: dict, view) -> dict:
    """A page of rows, each dumped through the domain's view (rows whose answer is not their columns)."""
    page = web.paginate(session, query, args["page"], args["page_size"])
    page["items"] = [view(row) for row in page["items"]]
    return page


def _with_households(session, query, args: dict, view) -> dict:
    """A page of household rows (sign-ups, orders, issues), each with its unit's label (one query per page)."""
    page = web.paginate(session, query, args["page"], args["page_size"])
    labels = units.unit_labels(session, [row.unit_id for row in page["items"]])
    page["items"] = [{**view(row), "unit_label": labels.get(row.unit_id)} for row in page["items"]]
    return page


def _columns(row) -> dict:
    return {c.name: getattr(row, c.name) for c in row.__table__.columns}


def _today():
    return knowledge.local_today(web.now(), web.settings().timezone)


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
            return knowledge.create(session, web.principal(), kind, web.now(), body)

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
            return knowledge.update(session, web.principal(), kind, web.now(), entry_id, body)


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
        return surveys.view(session, surveys.create(session, web.principal(), web.now(), body))


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
        survey = surveys.open_survey(session, web.settings(), web.principal(), web.now(), survey_id)
        return surveys.view(session, survey)


@survey_blp.route("/<survey_id>/close", methods=["POST"])
@survey_blp.response(200, SurveyOut)
def close_survey(survey_id):
    """No more answers; the analysis report is made (survey.closed)."""
    with web.database().transaction() as session:
        survey = surveys.close(session, web.settings(), web.principal(), web.now(), survey_id)
        return surveys.view(session, survey)


@survey_blp.route("/<survey_id>/answers", methods=["POST"])
@survey_blp.arguments(AnswerIn)
@survey_blp.response(201, AnswerOut)
def answer_survey(body, survey_id):
    """One household's answers, once: the resident on the mobile page or the butler by phone or visit. A low score
    opens a follow-up complaint in tickets (survey.low_score)."""
    with web.database().transaction() as session:
        return surveys.answer(session, web.settings(), web.principal(), web.now(), survey_id, body)


@survey_blp.route("/<survey_id>/answers", methods=["GET"])
@survey_blp.arguments(PageArgs, location="query")
@survey_blp.response(200, AnswerPage)
def list_answers(args, survey_id):
    """Answers the caller may see: a resident their own household's, a butler their zones'."""
    with web.database().transaction() as session:
        survey, query = surveys.answers_query(session, web.principal(), survey_id)
        return _paged(session, query, args, lambda row: surveys.answer_view(survey, row))


@survey_blp.route("/<survey_id>/progress", methods=["GET"])
@survey_blp.response(200, ProgressOut)
def survey_progress(survey_id):
    """Response rate by zone while the survey runs."""
    with web.database().transaction() as session:
        return surveys.progress(session, web.principal(), survey_id)


@survey_blp.route("/<survey_id>/reminders", methods=["POST"])
@survey_blp.response(200, SurveyRemindOut)
def remind_survey(survey_id):
    """Remind the households that have not answered (a butler: their zones'), each at most once a day."""
    with web.database().transaction() as session:
        return surveys.remind(session, web.settings(), web.principal(), web.now(), _today(), survey_id)


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


# -- service catalogue and orders ------------------------------------------------------------------------------------
@catalogue_blp.route("", methods=["GET"])
@catalogue_blp.arguments(CatalogueListArgs, location="query")
@catalogue_blp.response(200, CataloguePage)
def list_items(args):
    """The community's special and paid services (特约服务, 有偿服务); residents see the ones on offer."""
    query = orders.items_query(web.principal(), args)
    with web.database().transaction() as session:
        return _paged(session, query, args, orders.item_view)


@catalogue_blp.route("", methods=["POST"])
@catalogue_blp.arguments(CatalogueItemIn)
@catalogue_blp.response(201, CatalogueItemOut)
def create_item(body):
    with web.database().transaction() as session:
        return orders.item_view(orders.create_item(session, web.principal(), web.now(), body))


@catalogue_blp.route("/<item_id>", methods=["GET"])
@catalogue_blp.response(200, CatalogueItemOut)
def get_item(item_id):
    with web.database().transaction() as session:
        return orders.item_view(orders.get_item(session, web.principal(), item_id))


@catalogue_blp.route("/<item_id>", methods=["PATCH"])
@catalogue_blp.arguments(CatalogueItemPatch)
@catalogue_blp.response(200, CatalogueItemOut)
def update_item(body, item_id):
    with web.database().transaction() as session:
        return orders.item_view(orders.update_item(session, web.principal(), web.now(), item_id, body))


@order_blp.route("", methods=["GET"])
@order_blp.arguments(OrderListArgs, location="query")
@order_blp.response(200, OrderPage)
def list_orders(args):
    """Orders the caller may see, newest first: a resident their household's, a butler their zones'."""
    query = orders.orders_query(web.principal(), args)
    with web.database().transaction() as session:
        return _with_households(session, query, args, orders.order_view)


@order_blp.route("", methods=["POST"])
@order_blp.arguments(OrderIn)
@order_blp.response(201, OrderOut)
def place_order(body):
    """An order for a household (the resident's own, or one of the butler's zones) of an item of its community."""
    with web.database().transaction() as session:
        return orders.order_view(orders.place(session, web.principal(), web.now(), body))


@order_blp.route("/figures", methods=["GET"])
@order_blp.arguments(FiguresArgs, location="query")
@order_blp.response(200, FiguresOut)
def order_figures(args):
    """Promotion figures: completed orders and revenue by item and by zone in a month; `format=xlsx` for the
    workbook (sheets 按服务项目, 按片区 with Chinese headers, revenue in yuan)."""
    with web.database().transaction() as session:
        body = orders.monthly_figures(session, web.principal(), web.settings(), args["community_id"], args["month"])
    if args["format"] == "xlsx":
        return Response(
            orders.figures_xlsx(body, web.settings().timezone),
            mimetype=XLSX_TYPE,
            headers={"Content-Disposition": f'attachment; filename="service-figures-{args["month"]}.xlsx"'},
        )
    return body


@order_blp.route("/<order_id>", methods=["GET"])
@order_blp.response(200, OrderOut)
def get_order(order_id):
    with web.database().transaction() as session:
        return orders.order_view(orders.get_order(session, web.principal(), order_id))


@order_blp.route("/<order_id>/schedule", methods=["POST"])
@order_blp.arguments(ScheduleIn)
@order_blp.response(200, OrderOut)
def schedule_order(body, order_id):
    """Agree the time (and the price of a quoted item)."""
    with web.database().transaction() as session:
        return orders.order_view(orders.schedule(session, web.principal(), order_id, body))


@order_blp.route("/<order_id>/complete", methods=["POST"])
@order_blp.response(200, OrderOut)
def complete_order(order_id):
    """The service was delivered; a priced order is charged to the unit (service_order.completed → billing)."""
    with web.database().transaction() as session:
        return orders.order_view(orders.complete(session, web.settings(), web.principal(), web.now(), order_id))


@order_blp.route("/<order_id>/rate", methods=["POST"])
@order_blp.arguments(RateIn)
@order_blp.response(200, OrderOut)
def rate_order(body, order_id):
    with web.database().transaction() as session:
        return orders.order_view(orders.rate(session, web.principal(), order_id, body["rating"]))


@order_blp.route("/<order_id>/cancel", methods=["POST"])
@order_blp.response(200, OrderOut)
def cancel_order(order_id):
    with web.database().transaction() as session:
        return orders.order_view(orders.cancel(session, web.principal(), order_id))


# -- activities and owner meetings -----------------------------------------------------------------------------------
@activity_blp.route("", methods=["GET"])
@activity_blp.arguments(ActivityListArgs, location="query")
@activity_blp.response(200, ActivityPage)
def list_activities(args):
    """The community's activities and owner meetings, latest first; residents see the announced ones whose
    audience (zones and/or buildings; none: the whole community) includes one of their homes."""
    with web.database().transaction() as session:
        query = activities.list_query(session, web.principal(), args)
        return _paged(session, query, args, lambda row: activities.view(session, row))


@activity_blp.route("", methods=["POST"])
@activity_blp.arguments(ActivityIn)
@activity_blp.response(201, ActivityOut)
def create_activity(body):
    """A draft activity or owner meeting: time, place, capacity (people) and the sign-up deadline."""
    with web.database().transaction() as session:
        return activities.view(session, activities.create(session, web.principal(), web.now(), body))


@activity_blp.route("/<activity_id>", methods=["GET"])
@activity_blp.response(200, ActivityOut)
def get_activity(activity_id):
    with web.database().transaction() as session:
        return activities.view(session, activities.get(session, web.principal(), activity_id))


@activity_blp.route("/<activity_id>", methods=["PATCH"])
@activity_blp.arguments(ActivityPatch)
@activity_blp.response(200, ActivityOut)
def update_activity(body, activity_id):
    """Change it, publish it (activity.published), cancel it, or record an owner meeting's minutes."""
    with web.database().transaction() as session:
        activity = activities.update(session, web.settings(), web.principal(), web.now(), activity_id, body)
        return activities.view(session, activity)


@activity_blp.route("/<activity_id>/signups", methods=["GET"])
@activity_blp.arguments(PageArgs, location="query")
@activity_blp.response(200, SignUpPage)
def list_signups(args, activity_id):
    """Sign-ups the caller may see: a resident their household's, a butler their zones'."""
    with web.database().transaction() as session:
        query = activities.signups_query(session, web.principal(), activity_id)
        return _with_households(session, query, args, _columns)


@activity_blp.route("/<activity_id>/signups", methods=["POST"])
@activity_blp.arguments(SignUpIn)
@activity_blp.response(201, SignUpOut)
def sign_up(body, activity_id):
    """A household signs up (or its butler for it): confirmed while places last, then on the waiting list."""
    with web.database().transaction() as session:
        return activities.sign_up(session, web.principal(), web.now(), activity_id, body)


@activity_blp.route("/<activity_id>/signups/<signup_id>/cancel", methods=["POST"])
@activity_blp.response(200, SignUpOut)
def cancel_signup(activity_id, signup_id):
    """Withdraw; the first waiting households move up into the freed places."""
    with web.database().transaction() as session:
        return activities.cancel_signup(session, web.principal(), activity_id, signup_id)


@activity_blp.route("/<activity_id>/signups/<signup_id>/check-in", methods=["POST"])
@activity_blp.response(200, SignUpOut)
def check_in(activity_id, signup_id):
    with web.database().transaction() as session:
        return activities.check_in(session, web.principal(), web.now(), activity_id, signup_id)


@activity_blp.route("/<activity_id>/photos", methods=["POST"])
@activity_blp.response(201, PhotoOut)
@activity_blp.doc(
    requestBody={
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            }
        }
    }
)
def add_photo(activity_id):
    """A photo of the activity (multipart field `file`: JPEG, PNG or WebP, proven by its content), up to
    GUANJIA_MAX_UPLOAD_BYTES."""
    settings = web.settings()
    upload = uploads.receive("file", max_bytes=settings.max_upload_bytes, allowed=uploads.IMAGE_TYPES)
    store = current_app.extensions["community.files"]
    return meetings.add_photo(
        web.database(), store, web.principal(), activity_id, upload, settings.max_upload_bytes, web.now()
    )


@activity_blp.route("/<activity_id>/photos", methods=["GET"])
@activity_blp.arguments(PageArgs, location="query")
@activity_blp.response(200, PhotoPage)
def list_photos(args, activity_id):
    with web.database().transaction() as session:
        query = meetings.photos_query(session, web.principal(), activity_id)
        return web.paginate(session, query, args["page"], args["page_size"])


@activity_blp.route("/<activity_id>/photos/<photo_id>/content", methods=["GET"])
@activity_blp.response(200, description="the photo")
def photo_content(activity_id, photo_id):
    """The photo as a download (never rendered inline by the API)."""
    with web.database().transaction() as session:
        photo = meetings.find_photo(session, web.principal(), activity_id, photo_id)
    path = current_app.extensions["community.files"].path(photo.storage_key)
    return uploads.download(path, photo.content_type, photo.filename, allowed=uploads.IMAGE_TYPES)


@activity_blp.route("/<activity_id>/issues", methods=["GET"])
@activity_blp.arguments(PageArgs, location="query")
@activity_blp.response(200, IssuePage)
def list_issues(args, activity_id):
    """Issues raised at an owner meeting (a butler: the general ones and their zones' households')."""
    with web.database().transaction() as session:
        query = meetings.issues_query(session, web.principal(), activity_id)
        return _with_households(session, query, args, _columns)


def _issue_out(session, issue) -> dict:
    return meetings.issue_view(issue, units.unit_labels(session, [issue.unit_id]))


@activity_blp.route("/<activity_id>/issues", methods=["POST"])
@activity_blp.arguments(IssueIn)
@activity_blp.response(201, IssueOut)
def raise_issue(body, activity_id):
    """Record an issue raised at an owner meeting: its topic, what was said, and the household if one raised it."""
    with web.database().transaction() as session:
        return _issue_out(session, meetings.raise_issue(session, web.principal(), web.now(), activity_id, body))


@activity_blp.route("/<activity_id>/issues/<issue_id>/ticket", methods=["POST"])
@activity_blp.arguments(IssueTicketIn)
@activity_blp.response(200, IssueOut)
def issue_to_ticket(body, activity_id, issue_id):
    """Hand the issue on as a ticket (meeting.issue_raised → tickets opens it, once); 409 the second time."""
    with web.database().transaction() as session:
        issue = meetings.to_ticket(session, web.settings(), web.principal(), web.now(), activity_id, issue_id, body)
        return _issue_out(session, issue)


@activity_blp.route("/<activity_id>/issues/<issue_id>/close", methods=["POST"])
@activity_blp.response(200, IssueOut)
def close_issue(activity_id, issue_id):
    """Answered at the meeting: nothing to hand on."""
    with web.database().transaction() as session:
        return _issue_out(session, meetings.close_issue(session, web.principal(), activity_id, issue_id))


# -- birthday greetings and custom reminders -------------------------------------------------------------------------
@greeting_blp.route("", methods=["GET"])
@greeting_blp.arguments(GreetingListArgs, location="query")
@greeting_blp.response(200, GreetingPage)
def list_greetings(args):
    """Who opted in (a butler their zones'); the birthday is shown to the resident only."""
    principal = web.principal()
    query = reminders.greetings_query(principal, args["community_id"])
    with web.database().transaction() as session:
        return _paged(session, query, args, lambda row: reminders.greeting_view(principal, row))


@greeting_blp.route("", methods=["POST"])
@greeting_blp.arguments(GreetingIn)
@greeting_blp.response(201, GreetingOut)
def opt_in_greeting(body):
    """The resident opts in with their birth month and day (a second call changes them)."""
    principal = web.principal()
    with web.database().transaction() as session:
        return reminders.greeting_view(principal, reminders.opt_in(session, principal, web.now(), body))


@greeting_blp.route("/me", methods=["DELETE"])
@greeting_blp.response(204)
def opt_out_greeting():
    """The resident opts out: the birthday is deleted."""
    with web.database().transaction() as session:
        reminders.opt_out(session, web.principal())


@reminder_blp.route("", methods=["GET"])
@reminder_blp.arguments(ReminderListArgs, location="query")
@reminder_blp.response(200, ReminderPage)
def list_reminders(args):
    """A household's reminders for its residents; a butler their zones'; the soonest first."""
    query = reminders.reminders_query(web.principal(), args)
    with web.database().transaction() as session:
        return web.paginate(session, query, args["page"], args["page_size"])


@reminder_blp.route("", methods=["POST"])
@reminder_blp.arguments(ReminderIn)
@reminder_blp.response(201, ReminderOut)
def create_reminder(body):
    """A butler schedules a reminder for a household of their zones (one-off, or monthly, quarterly, yearly)."""
    with web.database().transaction() as session:
        return reminders.create_reminder(session, web.principal(), web.now(), _today(), body)


@reminder_blp.route("/<reminder_id>", methods=["GET"])
@reminder_blp.response(200, ReminderOut)
def get_reminder(reminder_id):
    with web.database().transaction() as session:
        return reminders.get_reminder(session, web.principal(), reminder_id)


@reminder_blp.route("/<reminder_id>/cancel", methods=["POST"])
@reminder_blp.response(200, ReminderOut)
def cancel_reminder(reminder_id):
    with web.database().transaction() as session:
        return reminders.cancel_reminder(session, web.principal(), reminder_id)
