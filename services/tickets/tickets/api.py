"""HTTP API of the tickets service: load → call domain → dump; no rules here."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, current_app, jsonify, request

from guanjia import uploads, web
from guanjia.db import joined_session
from guanjia.errors import NotFound
from guanjia.fields import schema_instance
from guanjia.names import staff_names
from guanjia.web import Blueprint

from . import display, examples
from .domain import (
    acceptance,
    attachments,
    common,
    community,
    equipment,
    filing,
    incidents,
    lifecycle,
    maintenance,
    notes,
    patrols,
    people,
    quality,
    reports,
    routing,
    sla,
    tickets,
    visits,
)
from .models import idempotency_keys
from .schemas import (
    AcceptanceChecklistOut,
    AcceptanceDefectListArgs,
    AcceptanceDefectOut,
    AcceptanceDefectPage,
    AcceptanceInspectionIn,
    AcceptancePhotoOut,
    AcceptancePlanCloseIn,
    AcceptancePlanIn,
    AcceptancePlanListArgs,
    AcceptancePlanOut,
    AcceptancePlanPage,
    AcceptanceReinspectIn,
    AcceptanceTemplateArgs,
    AcceptanceTemplateIn,
    AcceptanceTemplateList,
    AcceptanceTemplateOut,
    AcceptQuoteIn,
    AssignIn,
    AttachmentList,
    AttachmentOut,
    ButlerFiguresArgs,
    ButlerFiguresOut,
    CertificateIn,
    CommunityArgs,
    CommunityConfigIn,
    CommunityConfigOut,
    CoverageArgs,
    CoverageOut,
    EquipmentFields,
    EquipmentHistoryOut,
    EquipmentIn,
    EquipmentListArgs,
    EquipmentOut,
    EquipmentPage,
    EquipmentStateIn,
    ExpiringArgs,
    ExpiringCertificateList,
    FaultIn,
    FeedbackDueArgs,
    FindingIn,
    FindingOut,
    FollowUpArgs,
    IncidentCloseIn,
    IncidentIn,
    IncidentListArgs,
    IncidentOut,
    IncidentPage,
    IncidentPeopleIn,
    IncidentReportArgs,
    IncidentReportOut,
    IncidentStepIn,
    IncidentTaskIn,
    MaintenanceCompleteIn,
    MaintenanceOrderListArgs,
    MaintenanceOrderOut,
    MaintenanceOrderPage,
    MaintenancePlanActiveIn,
    MaintenancePlanIn,
    MaintenancePlanListArgs,
    MaintenancePlanOut,
    MaintenancePlanPage,
    MonthlyReportArgs,
    NoteIn,
    PhotoList,
    PhotoOut,
    PlanIn,
    PlanList,
    PlanListArgs,
    PlanOut,
    QualityCaseIn,
    QualityCaseListArgs,
    QualityCaseOut,
    QualityCasePage,
    QualityCloseIn,
    QualityFeedbackIn,
    QuoteIn,
    ReasonIn,
    ReopenIn,
    ResolveIn,
    RoundIn,
    RoundList,
    RoundListArgs,
    RoundOut,
    RoutingRuleIn,
    RoutingRuleList,
    RoutingRuleOut,
    ScanIn,
    SlaPolicyIn,
    SlaPolicyList,
    SlaPolicyOut,
    TicketCreate,
    TicketListArgs,
    TicketNoteIn,
    TicketNoteList,
    TicketNoteOut,
    TicketOut,
    TicketPage,
    TimelineList,
    TriageIn,
    VisitIn,
    VisitOut,
    WeeklyReportArgs,
    WeeklySeriesArgs,
)

blp = Blueprint("tickets", __name__, url_prefix="/api/v1/tickets", description="Repair, complaint and enquiry tickets")
patrol_blp = Blueprint(
    "patrols", __name__, url_prefix="/api/v1/tickets/patrols", description="Patrol plans, rounds, coverage"
)
incident_blp = Blueprint(
    "incidents",
    __name__,
    url_prefix="/api/v1/tickets/incidents",
    description="突发事件: scope, on-site timeline, people, urgent notice, aftermath, report",
)

equipment_blp = Blueprint(
    "equipment",
    __name__,
    url_prefix="/api/v1/tickets/equipment",
    description="设施设备台账: a community's equipment, certificates, running state, faults and history",
)
maintenance_blp = Blueprint(
    "maintenance",
    __name__,
    url_prefix="/api/v1/tickets/maintenance",
    description="Maintenance plans (daily to annual checklists) and the work orders they make on schedule",
)
quality_blp = Blueprint(
    "quality_cases",
    __name__,
    url_prefix="/api/v1/tickets/quality-cases",
    description="重大投诉, 疑似负面信息: source, linked tickets, owner, stage feedback, deadline, closure report",
)

acceptance_blp = Blueprint(
    "acceptance",
    __name__,
    url_prefix="/api/v1/tickets/acceptance",
    description="新楼验收 / 承接查验: plans per building, per-unit checklists, defects with photos, re-inspection",
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------- tickets


@blp.route("", methods=["POST"])
@blp.arguments(TicketCreate, example=examples.TICKET_CREATE)
@blp.response(201, TicketOut, example=examples.TICKET_OUT)
@blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}, "required": False}])
def create_ticket(data):
    """File a ticket (in a unit, or in a zone's public area). Routed at once by the community's rules, else to the
    zone's butler. With Idempotency-Key a retried request returns the first response."""
    settings, principal = web.settings(), web.principal()

    def create(session):
        ticket = tickets.create_ticket(session, settings, principal, data, people.People().unit, web.now())
        return schema_instance(TicketOut).dump(display.filed(session, ticket))

    def create_on_connection(conn):
        # The usual ticket needs no ORM Session: the two statements run on the transaction's plain connection, and
        # only a unit tickets does not know yet takes the ORM create, in a Session joined to the same transaction.
        now = web.now()
        ticket = tickets.file_in_unit(conn, settings, principal, data, now)
        if ticket is not None:
            return schema_instance(TicketOut).dump(display.filed(conn, ticket))
        with joined_session(conn) as session:
            ticket = tickets.create_ticket(session, settings, principal, data, people.People().unit, now, tried=True)
            return schema_instance(TicketOut).dump(display.filed(session, ticket))

    if filing.fits(web.database().engine, data):
        return web.idempotent(idempotency_keys, data, 201, create_on_connection, core=True)
    return web.idempotent(idempotency_keys, data, 201, create)


@blp.route("", methods=["GET"])
@blp.arguments(TicketListArgs, location="query")
@blp.response(200, TicketPage, example=examples.TICKET_PAGE)
def list_tickets(args):
    """Tickets the caller may see, newest first: residents their own, engineers those dispatched to them,
    butlers their zones (and what they took or hold), managers their communities."""
    query = tickets.list_tickets(web.principal(), args, web.now())
    with web.database().transaction() as session:
        return display.tickets(session, web.paginate(session, query, args["page"], args["page_size"]))


@blp.route("/follow-ups", methods=["GET"])
@blp.arguments(FollowUpArgs, location="query")
@blp.response(200, TicketPage)
def follow_ups(args):
    """首问责任制 — my follow-ups: every ticket I first took that is not closed yet, wherever it went (and, while I
    stand in for someone on leave, theirs)."""
    with web.database().transaction() as session:
        page = web.paginate(
            session, tickets.follow_ups(session, web.principal(), web.now()), args["page"], args["page_size"]
        )
        return display.tickets(session, page)


@blp.route("/feedback-due", methods=["GET"])
@blp.arguments(FeedbackDueArgs, location="query")
@blp.response(200, TicketPage)
def feedback_due(args):
    """阶段性反馈 due: complaints whose next staged feedback to the customer is due (by `before`, default now),
    the most overdue first."""
    query = tickets.feedback_due(web.principal(), args.get("before") or web.now())
    with web.database().transaction() as session:
        return display.tickets(session, web.paginate(session, query, args["page"], args["page_size"]))


@blp.route("/<ticket_id>", methods=["GET"])
@blp.response(200, TicketOut)
def get_ticket(ticket_id):
    with web.database().transaction() as session:
        return display.tickets(session, common.get_ticket(session, web.principal(), ticket_id))


@blp.route("/<ticket_id>/timeline", methods=["GET"])
@blp.response(200, TimelineList)
def get_timeline(ticket_id):
    """Every step of the ticket, oldest first: who, when, from which status to which, and why."""
    with web.database().transaction() as session:
        return {"items": display.timeline(tickets.timeline(session, web.principal(), ticket_id))}


def _route_action(bp, kind, out_schema, show, name, schema, fn, doc):
    """POST /<{kind}_id>/{name}: load `schema`, call fn(session, settings, principal, id, data, now), show it."""

    def action(data, **ids):
        with web.database().transaction() as session:
            found = fn(session, web.settings(), web.principal(), ids[f"{kind}_id"], data, web.now())
            return show(session, found)

    action.__doc__ = doc  # set before the decorators read it into the OpenAPI summary
    action = bp.alt_response(409, description=f"not allowed in the {kind}'s status; `allowed_actions` names what is")(
        action
    )
    action = bp.response(200, out_schema)(action)
    action = bp.arguments(schema)(action)
    endpoint = f"{'action' if kind == 'ticket' else kind}_{name.replace('-', '_')}"
    return bp.route(f"/<{kind}_id>/{name}", methods=["POST"], endpoint=endpoint)(action)


def _action(name, schema, fn, doc):
    return _route_action(blp, "ticket", TicketOut, display.tickets, name, schema, fn, doc)


_action(
    "assign",
    AssignIn,
    lifecycle.assign,
    "Dispatch to a department and person; a reassignment or transfer needs a reason.",
)
_action("start", NoteIn, lifecycle.start, "The assignee starts work (stops the response clock).")
_action("hold", ReasonIn, lifecycle.hold, "Put on hold, with the reason (waiting for parts, for the resident, ...).")
_action("resume", NoteIn, lifecycle.resume, "Resume work on a ticket on hold.")
_action("quote", QuoteIn, lifecycle.quote, "Quote a charge for a paid repair (decimal yuan).")
_action("accept-quote", AcceptQuoteIn, lifecycle.accept_quote, "The resident accepts the quoted charge.")
_action("resolve", ResolveIn, lifecycle.resolve, "Work done; an accepted charge goes to billing via ticket.resolved.")
_action("reopen", ReopenIn, lifecycle.reopen, "Reopen a resolved or closed ticket.")
_action("cancel", ReasonIn, lifecycle.cancel, "Cancel an open ticket, with the reason.")
_action(
    "triage",
    TriageIn,
    lifecycle.triage,
    "The service desk sets the priority (a resident's urgent request is triaged here); the SLA clocks follow.",
)
_action(
    "close",
    NoteIn,
    lifecycle.close,
    "Close without a return visit: only the community's direct-close kinds (default enquiry and praise).",
)


@blp.route("/<ticket_id>/notes", methods=["POST"])
@blp.arguments(TicketNoteIn)
@blp.response(201, TicketNoteOut)
@blp.alt_response(409, description="feedback on a closed or cancelled ticket")
def add_note(data, ticket_id):
    """A progress note (internal, or visible to the resident); on a complaint `kind: feedback` is a staged
    feedback to the customer with the date of the next one (listed under /feedback-due when it comes)."""
    with web.database().transaction() as session:
        note = notes.add_note(session, web.settings(), web.principal(), ticket_id, data, web.now())
        return display.notes(note)


@blp.route("/<ticket_id>/notes", methods=["GET"])
@blp.response(200, TicketNoteList)
def list_notes(ticket_id):
    """The ticket's notes, oldest first; a resident reads only those meant for them."""
    with web.database().transaction() as session:
        return {"items": display.notes(notes.list_notes(session, web.principal(), ticket_id))}


@blp.route("/<ticket_id>/visits", methods=["POST"])
@blp.arguments(VisitIn)
@blp.response(201, VisitOut)
@blp.alt_response(409, description="the ticket is not resolved")
def record_visit(data, ticket_id):
    """回访 (or the reporting resident's own answer, always reached): satisfaction 3–5 closes, 1–2 reopens;
    unreachable closes after the allowed attempts."""
    with web.database().transaction() as session:
        _, visit = visits.record_visit(session, web.settings(), web.principal(), ticket_id, data, web.now())
        return visit


@blp.route("/<ticket_id>/visits", methods=["GET"])
@blp.response(200, VisitOut(many=True))
def list_visits(ticket_id):
    with web.database().transaction() as session:
        common.get_ticket(session, web.principal(), ticket_id)
        return visits.list_visits(session, ticket_id)


# ---------------------------------------------------------------- attachments


@blp.route("/<ticket_id>/attachments", methods=["POST"])
@blp.response(201, AttachmentOut)
@blp.doc(**uploads.multipart_doc("visit_id"))
def upload_attachment(ticket_id):
    """Attach a photo (JPEG, PNG, WebP) or a PDF (multipart field `file`; optional `visit_id` of one of the
    ticket's visits), up to GUANJIA_MAX_UPLOAD_BYTES (10 MB). The type is proven by the file's content."""
    settings = web.settings()
    upload = uploads.receive("file", max_bytes=settings.max_upload_bytes)
    return attachments.attach(
        web.database(),
        current_app.extensions["tickets.files"],
        web.principal(),
        ticket_id,
        upload,
        request.form.get("visit_id") or None,
        settings.max_upload_bytes,
        web.now(),
    )


@blp.route("/<ticket_id>/attachments", methods=["GET"])
@blp.response(200, AttachmentList)
def list_attachments(ticket_id):
    with web.database().transaction() as session:
        return {"items": attachments.list_attachments(session, web.principal(), ticket_id)}


@blp.route("/<ticket_id>/attachments/<attachment_id>/content", methods=["GET"])
@blp.response(200, description="the file")
def download_attachment(ticket_id, attachment_id):
    with web.database().transaction() as session:
        attachment = attachments.find_attachment(session, web.principal(), ticket_id, attachment_id)
    path = current_app.extensions["tickets.files"].path(attachment.storage_key)
    # Always a download with nosniff and a sandboxing CSP, also for files stored before their type was checked.
    return uploads.download(path, attachment.content_type, attachment.filename)


# ---------------------------------------------------------------- community rules and reports


@blp.route("/settings/<community_id>", methods=["GET"])
@blp.response(200, CommunityConfigOut)
def get_config(community_id):
    """A community's business hours, return-visit window, escalation delay and patrol coverage rule."""
    principal = web.principal()
    if principal.role == "resident" or not principal.sees_community(community_id):
        raise NotFound(f"community {community_id} not found")
    with web.database().transaction() as session:
        return community.community_config(session, community_id)


@blp.route("/settings/<community_id>", methods=["PUT"])
@blp.arguments(CommunityConfigIn)
@blp.response(200, CommunityConfigOut)
def put_config(data, community_id):
    with web.database().transaction() as session:
        return community.put_community_config(session, web.principal(), community_id, data, web.now())


@blp.route("/sla-policies", methods=["GET"])
@blp.arguments(CommunityArgs, location="query")
@blp.response(200, SlaPolicyList)
def get_sla_policies(args):
    """The effective response and resolution times of every kind and priority for a community."""
    with web.database().transaction() as session:
        return {"items": sla.sla_policies(session, web.principal(), args["community_id"])}


@blp.route("/sla-policies", methods=["PUT"])
@blp.arguments(SlaPolicyIn)
@blp.response(200, SlaPolicyOut)
def put_sla_policy(data):
    """Set a community's SLA for one kind and priority (applies to tickets filed from now on)."""
    with web.database().transaction() as session:
        policy = sla.put_sla_policy(session, web.principal(), data, web.now())
        return {**SlaPolicyIn().dump(policy), "custom": True}


@blp.route("/routing-rules", methods=["GET"])
@blp.arguments(CommunityArgs, location="query")
@blp.response(200, RoutingRuleList)
def get_routing_rules(args):
    with web.database().transaction() as session:
        return {"items": routing.list_routing_rules(session, web.principal(), args["community_id"])}


@blp.route("/routing-rules", methods=["POST"])
@blp.arguments(RoutingRuleIn)
@blp.response(201, RoutingRuleOut)
def post_routing_rule(data):
    """A routing rule: kind, category and zone are optional matchers; the most specific match wins."""
    with web.database().transaction() as session:
        return routing.create_routing_rule(session, web.principal(), data, web.now())


@blp.route("/routing-rules/<rule_id>", methods=["DELETE"])
@blp.response(204)
def delete_routing_rule(rule_id):
    with web.database().transaction() as session:
        routing.delete_routing_rule(session, web.principal(), rule_id)


def _report(kind: str, args: dict, value: str):
    with web.database().transaction() as session:
        report = reports.build(
            session, web.principal(), args["community_id"], kind, value, web.settings().timezone, web.now()
        )
        display.complaints(session, report["complaints"]["items"])
    if args["format"] == "xlsx":
        name = f"tickets-{kind}-{report['period'].replace('/', '_')}.xlsx"
        return Response(
            reports.to_xlsx(report, web.settings().timezone),
            mimetype=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return jsonify(web.jsonable(report))


@blp.route("/reports/monthly", methods=["GET"])
@blp.arguments(MonthlyReportArgs, location="query")
@blp.response(200, description="JSON, or an XLSX workbook with format=xlsx")
def monthly_report(args):
    """客户投诉月报: volume by kind, category, zone, department; response/resolution p50/p90; SLA compliance;
    satisfaction; repeat complainants; top recurring issues. `complaints` also holds the complaints' own figures
    (by subcategory and zone with the zone's `name`, resolution time, resolution SLA, `overdue`, satisfaction) and
    their list (`items`, oldest first, at most 500: number, unit_label, zone_name, assignee_name, resolution
    minutes, whether overdue, satisfaction); `patrols` the rounds started in the period (completed, findings) in
    all and by zone."""
    return _report("monthly", args, args["month"])


@blp.route("/reports/weekly", methods=["GET"])
@blp.arguments(WeeklyReportArgs, location="query")
@blp.response(200, description="JSON, or an XLSX workbook with format=xlsx")
def weekly_report(args):
    """Weekly statistics (same sections as the monthly report, patrols and complaints included) for the week
    holding `week`."""
    return _report("weekly", args, args["week"].isoformat())


internal_blp = Blueprint(
    "tickets_internal",
    __name__,
    url_prefix="/api/v1/internal/tickets",
    description="For other services only (role `service`): figures per butler",
)


@internal_blp.route("/butler-figures", methods=["GET"])
@internal_blp.arguments(ButlerFiguresArgs, location="query")
@internal_blp.response(200, ButlerFiguresOut)
def butler_figures(args):
    """Per butler of a community, for a month: tickets of their zones handled, resolution SLA compliance,
    satisfaction, patrol coverage (staff's monthly scorecards ask it; role `service` only)."""
    with web.database().transaction() as session:
        return reports.butler_figures(
            session, args["community_id"], args["month"], web.settings().timezone, web.now(), args["group_by"]
        )


@blp.route("/reports/weekly-series", methods=["GET"])
@blp.arguments(WeeklySeriesArgs, location="query")
@blp.response(200, description="JSON: one entry a week, oldest first")
def weekly_series(args):
    """The weekly report's headline figures (tickets, SLA compliance, satisfaction) for `weeks` weeks ending with
    the week holding `week`, in one answer (the managers' dashboard)."""
    with web.database().transaction() as session:
        series = reports.weekly_series(
            session,
            web.principal(),
            args["community_id"],
            args["week"],
            args["weeks"],
            web.settings().timezone,
            web.now(),
        )
    return jsonify(web.jsonable(series))


# ---------------------------------------------------------------- patrols


@patrol_blp.route("/plans", methods=["POST"])
@patrol_blp.arguments(PlanIn)
@patrol_blp.response(201, PlanOut)
def create_plan(data):
    """A patrol plan for a zone: frequency, checkpoints (codes printed on the tags scanned on site), staff."""
    with web.database().transaction() as session:
        plan = patrols.create_plan(session, web.principal(), data, web.now())
        return display.plans(session, patrols.plan_out(session, plan))


@patrol_blp.route("/plans", methods=["GET"])
@patrol_blp.arguments(PlanListArgs, location="query")
@patrol_blp.response(200, PlanList)
def list_plans(args):
    with web.database().transaction() as session:
        plans = patrols.visible_plans(session, web.principal(), args.get("community_id"), args.get("zone_id"))
        return {"items": display.plans(session, [patrols.plan_out(session, p) for p in plans])}


@patrol_blp.route("/rounds", methods=["POST"])
@patrol_blp.arguments(RoundIn)
@patrol_blp.response(201, RoundOut)
def start_round(data):
    with web.database().transaction() as session:
        round_ = patrols.start_round(session, web.principal(), data["plan_id"], web.now())
        return display.rounds(session, patrols.round_out(session, round_))


@patrol_blp.route("/rounds", methods=["GET"])
@patrol_blp.arguments(RoundListArgs, location="query")
@patrol_blp.response(200, RoundList)
def list_rounds(args):
    """Rounds of the plans the caller may see (and those they started), newest first: today's rounds on a phone."""
    with web.database().transaction() as session:
        since = web.now() - timedelta(days=args["days"])
        rounds = patrols.visible_rounds(session, web.principal(), args, since)
        return {"items": display.rounds(session, [patrols.round_out(session, r) for r in rounds])}


@patrol_blp.route("/rounds/<round_id>", methods=["GET"])
@patrol_blp.response(200, RoundOut)
def get_round(round_id):
    with web.database().transaction() as session:
        return display.rounds(session, patrols.get_round(session, web.principal(), round_id))


@patrol_blp.route("/rounds/<round_id>/scans", methods=["POST"])
@patrol_blp.arguments(ScanIn)
@patrol_blp.response(200, RoundOut)
def scan(data, round_id):
    """Scan a checkpoint's code (scanning twice is harmless)."""
    with web.database().transaction() as session:
        patrols.scan(session, web.principal(), round_id, data["code"], web.now())
        return display.rounds(session, patrols.get_round(session, web.principal(), round_id))


@patrol_blp.route("/rounds/<round_id>/findings", methods=["POST"])
@patrol_blp.arguments(FindingIn)
@patrol_blp.response(201, FindingOut)
def record_finding(data, round_id):
    """Record a finding; needs_work opens a ticket in the zone (channel patrol), linked to the round."""
    with web.database().transaction() as session:
        return patrols.record_finding(session, web.settings(), web.principal(), round_id, data, web.now())


@patrol_blp.route("/rounds/<round_id>/complete", methods=["POST"])
@patrol_blp.response(200, RoundOut)
def complete_round(round_id):
    """Finish the round (publishes patrol.completed); unscanned checkpoints are listed as missed."""
    with web.database().transaction() as session:
        return display.rounds(
            session, patrols.complete_round(session, web.settings(), web.principal(), round_id, web.now())
        )


@patrol_blp.route("/coverage", methods=["GET"])
@patrol_blp.arguments(CoverageArgs, location="query")
@patrol_blp.response(200, CoverageOut)
def coverage(args):
    """Per zone: the last round, days since, overdue or not, and the gaps longer than N days in the window."""
    with web.database().transaction() as session:
        return patrols.coverage_report(session, web.principal(), args["community_id"], web.now(), args["days"])


# ---------------------------------------------------------------- photos of patrol findings and incidents

PHOTO_UPLOAD = uploads.multipart_doc("log_id")


def _add_photo(kind: str, subject_id: str, check, log_id=None):
    """Receive a photo (JPEG, PNG, WebP; the type proven by its content, up to GUANJIA_MAX_UPLOAD_BYTES) and keep
    it after `check(session)` has proven the caller may."""
    settings = web.settings()
    upload = uploads.receive("file", max_bytes=settings.max_upload_bytes, allowed=uploads.IMAGE_TYPES)
    photo = attachments.add_photo(
        web.database(),
        current_app.extensions["tickets.files"],
        web.principal(),
        kind,
        subject_id,
        upload,
        settings.max_upload_bytes,
        web.now(),
        check=check,
        log_id=log_id,
    )
    return display.photos(photo)


def _photo_content(kind: str, subject_id: str, photo_id: str, check):
    with web.database().transaction() as session:
        check(session)
        photo = attachments.find_photo(session, kind, subject_id, photo_id)
    path = current_app.extensions["tickets.files"].path(photo.storage_key)
    return uploads.download(path, photo.content_type, photo.filename, allowed=uploads.IMAGE_TYPES)


def _finding_check(round_id, finding_id):
    return lambda session: patrols.finding_of(session, web.principal(), round_id, finding_id)


@patrol_blp.route("/rounds/<round_id>/findings/<finding_id>/photos", methods=["POST"])
@patrol_blp.response(201, PhotoOut)
@patrol_blp.doc(**PHOTO_UPLOAD)
def add_finding_photo(round_id, finding_id):
    """A photo of what the patrol found (multipart field `file`)."""
    return _add_photo("finding", finding_id, _finding_check(round_id, finding_id))


@patrol_blp.route("/rounds/<round_id>/findings/<finding_id>/photos/<photo_id>/content", methods=["GET"])
@patrol_blp.response(200, description="the photo, as a download")
def finding_photo_content(round_id, finding_id, photo_id):
    return _photo_content("finding", finding_id, photo_id, _finding_check(round_id, finding_id))


def _incident_check(incident_id, log_id=None):
    return lambda session: incidents.photo_subject(session, web.principal(), incident_id, log_id)


@incident_blp.route("/<incident_id>/photos", methods=["POST"])
@incident_blp.response(201, PhotoOut)
@incident_blp.doc(**PHOTO_UPLOAD)
def add_incident_photo(incident_id):
    """A photo from the scene (multipart field `file`; optional `log_id`: the on-site log entry it shows)."""
    log_id = request.form.get("log_id") or None
    return _add_photo("incident", incident_id, _incident_check(incident_id, log_id), log_id)


@incident_blp.route("/<incident_id>/photos", methods=["GET"])
@incident_blp.response(200, PhotoList)
def list_incident_photos(incident_id):
    with web.database().transaction() as session:
        incidents.photo_subject(session, web.principal(), incident_id)
        return {"items": display.photos(attachments.photos_of(session, "incident", [incident_id]))}


@incident_blp.route("/<incident_id>/photos/<photo_id>/content", methods=["GET"])
@incident_blp.response(200, description="the photo, as a download")
def incident_photo_content(incident_id, photo_id):
    return _photo_content("incident", incident_id, photo_id, _incident_check(incident_id))


# ---------------------------------------------------------------- incidents


def _incident(session, incident):
    return display.incidents(incidents.out(session, incident))


@incident_blp.route("", methods=["POST"])
@incident_blp.arguments(IncidentIn)
@incident_blp.response(201, IncidentOut)
def open_incident(data):
    """Open an incident (type, severity, affected units/buildings/zones, people on site). With notify_residents
    (default) the notifications service sends the urgent notice to exactly the households of the scope."""
    with web.database().transaction() as session:
        incident = incidents.open_incident(session, web.settings(), web.principal(), data, web.now())
        return _incident(session, incident)


@incident_blp.route("", methods=["GET"])
@incident_blp.arguments(IncidentListArgs, location="query")
@incident_blp.response(200, IncidentPage)
def list_incidents(args):
    """Incidents of the caller's communities, newest first."""
    with web.database().transaction() as session:
        return web.paginate(session, incidents.visible(web.principal(), args), args["page"], args["page_size"])


@incident_blp.route("/<incident_id>", methods=["GET"])
@incident_blp.response(200, IncidentOut)
def get_incident(incident_id):
    with web.database().transaction() as session:
        return _incident(session, incidents.get(session, web.principal(), incident_id))


def _incident_action(name, schema, fn, doc):
    return _route_action(incident_blp, "incident", IncidentOut, _incident, name, schema, fn, doc)


_incident_action(
    "progress", IncidentStepIn, incidents.record_step, "On-site timeline: arrived, contained, resolved (each once)."
)
_incident_action("on-site", IncidentPeopleIn, incidents.add_on_site, "Staff of the community sent to the scene.")
_incident_action("tasks", IncidentTaskIn, incidents.add_task, "An aftermath task (善后) with its owner.")
_incident_action(
    "close", IncidentCloseIn, incidents.close, "Close a resolved incident whose tasks are done, with the summary."
)


@incident_blp.route("/<incident_id>/tasks/<task_id>/done", methods=["POST"])
@incident_blp.response(200, IncidentOut)
@incident_blp.alt_response(409, description="the task is done already, or the incident is closed")
def finish_incident_task(incident_id, task_id):
    """The owner (or a commander) marks an aftermath task done."""
    with web.database().transaction() as session:
        incident = incidents.finish_task(session, web.settings(), web.principal(), incident_id, task_id, web.now())
        return _incident(session, incident)


@incident_blp.route("/<incident_id>/report", methods=["GET"])
@incident_blp.arguments(IncidentReportArgs, location="query")
@incident_blp.response(200, IncidentReportOut, description="JSON, or an XLSX workbook with format=xlsx")
def incident_report(args, incident_id):
    """The incident report for headquarters (事件报告): facts, minutes to arrive/contain/resolve, scope, people,
    log and aftermath, as JSON or as an XLSX workbook."""
    with web.database().transaction() as session:
        found = incidents.report(session, web.principal(), incident_id, staff_names)
    if args["format"] == "xlsx":
        return Response(
            incidents.to_xlsx(found, web.settings().timezone),
            mimetype=XLSX,
            headers={"Content-Disposition": f'attachment; filename="incident-{incident_id[:8]}.xlsx"'},
        )
    return display.incidents(found)


# ---------------------------------------------------------------- equipment


def _today():
    return maintenance.local_today(web.now(), web.settings().timezone)


def _equipment(session, found):
    return display.equipment(session, equipment.out(session, found, _today()))


@equipment_blp.route("", methods=["POST"])
@equipment_blp.arguments(EquipmentIn)
@equipment_blp.response(201, EquipmentOut)
def register_equipment(data):
    """Add a piece of equipment to the community's register: kind, location (building, floor, room), maker and
    model, maintenance contractor."""
    with web.database().transaction() as session:
        return _equipment(session, equipment.register(session, web.principal(), data, web.now()))


@equipment_blp.route("", methods=["GET"])
@equipment_blp.arguments(EquipmentListArgs, location="query")
@equipment_blp.response(200, EquipmentPage)
def list_equipment(args):
    """The equipment of the caller's communities, by kind and name."""
    with web.database().transaction() as session:
        page = web.paginate(session, equipment.visible(web.principal(), args), args["page"], args["page_size"])
        return display.equipment(session, page)


@equipment_blp.route("/certificates/expiring", methods=["GET"])
@equipment_blp.arguments(ExpiringArgs, location="query")
@equipment_blp.response(200, ExpiringCertificateList)
def expiring_certificates(args):
    """Certificates (elevator annual inspection, ...) expired or expiring within `within_days`, the soonest first."""
    with web.database().transaction() as session:
        found = equipment.expiring(session, web.principal(), args["community_id"], _today(), args["within_days"])
        return {"items": found}


@equipment_blp.route("/<equipment_id>", methods=["GET"])
@equipment_blp.response(200, EquipmentOut)
def get_equipment(equipment_id):
    with web.database().transaction() as session:
        return _equipment(session, equipment.get(session, web.principal(), equipment_id))


@equipment_blp.route("/<equipment_id>", methods=["PATCH"])
@equipment_blp.arguments(EquipmentFields)
@equipment_blp.response(200, EquipmentOut)
def update_equipment(data, equipment_id):
    """Change what the register says (location, maker, contractor, ...); the running state has its own action."""
    with web.database().transaction() as session:
        found = equipment.update(session, web.principal(), equipment_id, data, web.now())
        return _equipment(session, found)


def _equipment_action(name, schema, fn, doc):
    return _route_action(equipment_blp, "equipment", EquipmentOut, _equipment, name, schema, fn, doc)


_equipment_action(
    "state",
    EquipmentStateIn,
    equipment.set_state,
    "The running state: operating, fault, under maintenance, stopped, retired (for good).",
)
_equipment_action("certificates", CertificateIn, equipment.add_certificate, "A certificate with its expiry date.")


@equipment_blp.route("/<equipment_id>/faults", methods=["POST"])
@equipment_blp.arguments(FaultIn)
@equipment_blp.response(201, TicketOut)
def report_fault(data, equipment_id):
    """A fault of the equipment: a repair ticket for engineering in its zone, linked to it."""
    with web.database().transaction() as session:
        ticket = equipment.report_fault(session, web.settings(), web.principal(), equipment_id, data, web.now())
        return display.tickets(session, ticket)


@equipment_blp.route("/<equipment_id>/history", methods=["GET"])
@equipment_blp.response(200, EquipmentHistoryOut)
def equipment_history(equipment_id):
    """Its repair tickets and its maintenance orders, newest first."""
    with web.database().transaction() as session:
        found = equipment.history(session, web.principal(), equipment_id)
        today = _today()
        found = {**found, "maintenance": [maintenance.order_out(o, today) for o in found["maintenance"]]}
        return display.equipment_history(session, found)


# ---------------------------------------------------------------- maintenance plans and orders


@maintenance_blp.route("/plans", methods=["POST"])
@maintenance_blp.arguments(MaintenancePlanIn)
@maintenance_blp.response(201, MaintenancePlanOut)
def create_maintenance_plan(data):
    """A checklist done daily, weekly, monthly or yearly from `starts_on`: the worker makes one work order per due
    date (equipment.maintenance_due)."""
    with web.database().transaction() as session:
        plan = maintenance.plan_out(maintenance.create_plan(session, web.principal(), data, web.now()))
        return display.maintenance_plans(session, plan)


@maintenance_blp.route("/plans", methods=["GET"])
@maintenance_blp.arguments(MaintenancePlanListArgs, location="query")
@maintenance_blp.response(200, MaintenancePlanPage)
def list_maintenance_plans(args):
    """Plans of the caller's communities, the next due first."""
    with web.database().transaction() as session:
        page = web.paginate(session, maintenance.visible_plans(web.principal(), args), args["page"], args["page_size"])
        return display.maintenance_plans(session, {**page, "items": [maintenance.plan_out(p) for p in page["items"]]})


@maintenance_blp.route("/plans/<plan_id>/active", methods=["POST"])
@maintenance_blp.arguments(MaintenancePlanActiveIn)
@maintenance_blp.response(200, MaintenancePlanOut)
def set_maintenance_plan_active(data, plan_id):
    """Pause or resume a plan (a paused plan makes no orders)."""
    with web.database().transaction() as session:
        plan = maintenance.plan_out(maintenance.set_active(session, web.principal(), plan_id, data["active"]))
        return display.maintenance_plans(session, plan)


@maintenance_blp.route("/orders", methods=["GET"])
@maintenance_blp.arguments(MaintenanceOrderListArgs, location="query")
@maintenance_blp.response(200, MaintenanceOrderPage)
def list_maintenance_orders(args):
    """Maintenance work orders, the earliest due first; `overdue=true` lists those still open after their date."""
    today = _today()
    with web.database().transaction() as session:
        query = maintenance.visible_orders(web.principal(), args, today)
        page = web.paginate(session, query, args["page"], args["page_size"])
        found = {**page, "items": [maintenance.order_out(o, today) for o in page["items"]]}
        return display.maintenance_orders(session, found)


@maintenance_blp.route("/orders/<order_id>", methods=["GET"])
@maintenance_blp.response(200, MaintenanceOrderOut)
def get_maintenance_order(order_id):
    with web.database().transaction() as session:
        order = maintenance.order_out(maintenance.get_order(session, web.principal(), order_id), _today())
        return display.maintenance_orders(session, order)


@maintenance_blp.route("/orders/<order_id>/complete", methods=["POST"])
@maintenance_blp.arguments(MaintenanceCompleteIn)
@maintenance_blp.response(200, MaintenanceOrderOut)
@maintenance_blp.alt_response(409, description="the order is done already; `allowed_actions` names what is")
def complete_maintenance_order(data, order_id):
    """Record the checklist's results (one per item); each fault found opens a repair ticket linked to the
    equipment."""
    with web.database().transaction() as session:
        order = maintenance.complete(session, web.settings(), web.principal(), order_id, data, web.now())
        return display.maintenance_orders(session, maintenance.order_out(order, _today()))


# ---------------------------------------------------------------- quality cases


def _case(session, case):
    return display.quality_case(session, quality.out(session, case, web.now()))


@quality_blp.route("", methods=["POST"])
@quality_blp.arguments(QualityCaseIn)
@quality_blp.response(201, QualityCaseOut)
def open_quality_case(data):
    """A major complaint or a 疑似负面信息 case (quality department, 12345 hotline, social media, media), with its
    owner, deadline and linked tickets."""
    with web.database().transaction() as session:
        return _case(session, quality.open_case(session, web.principal(), data, web.now()))


@quality_blp.route("", methods=["GET"])
@quality_blp.arguments(QualityCaseListArgs, location="query")
@quality_blp.response(200, QualityCasePage)
def list_quality_cases(args):
    """The manager's list: cases not closed (open=false for all), the nearest deadline first."""
    with web.database().transaction() as session:
        page = web.paginate(session, quality.visible(web.principal(), args), args["page"], args["page_size"])
        now = web.now()
        for case in page["items"]:
            case.overdue = quality.overdue(case, now)  # read by the response schema
        return display.quality_case_list(page)


@quality_blp.route("/<case_id>", methods=["GET"])
@quality_blp.response(200, QualityCaseOut)
def get_quality_case(case_id):
    with web.database().transaction() as session:
        return _case(session, quality.get(session, web.principal(), case_id))


_route_action(
    quality_blp,
    "case",
    QualityCaseOut,
    _case,
    "feedback",
    QualityFeedbackIn,
    quality.add_feedback,
    "A stage feedback to the customer or to the quality department (the owner or a manager).",
)
_route_action(
    quality_blp, "case", QualityCaseOut, _case, "close", QualityCloseIn, quality.close, "Close with the closure report."
)


# ---------------------------------------------------------------- new-building acceptance


_UPLOAD_BODY = {
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        }
    }
}


def _plan(session, plan):
    return display.acceptance_plans(session, acceptance.plan_out(session, plan), people.People())


def _defect(session, defect):
    return display.acceptance_defects(session, acceptance.defect_out(session, defect, _today()))


@acceptance_blp.route("/templates", methods=["GET"])
@acceptance_blp.arguments(AcceptanceTemplateArgs, location="query")
@acceptance_blp.response(200, AcceptanceTemplateList)
def list_acceptance_templates(args):
    """The checklists a plan may follow: the default one (墙面天花, 门窗, 给排水, 电气, 防水, 配套设施), then the
    community's own."""
    with web.database().transaction() as session:
        return {"items": acceptance.templates(session, web.principal(), args["community_id"])}


@acceptance_blp.route("/templates", methods=["POST"])
@acceptance_blp.arguments(AcceptanceTemplateIn)
@acceptance_blp.response(201, AcceptanceTemplateOut)
def create_acceptance_template(data):
    """A community's own checklist (supervisors)."""
    with web.database().transaction() as session:
        return acceptance.template_out(acceptance.create_template(session, web.principal(), data, web.now()))


@acceptance_blp.route("/plans", methods=["POST"])
@acceptance_blp.arguments(AcceptancePlanIn)
@acceptance_blp.response(201, AcceptancePlanOut)
@acceptance_blp.alt_response(409, description="the building has an acceptance plan under way")
def create_acceptance_plan(data):
    """The acceptance of a building: its inspectors (staff of the community), dates and checklist (a template's
    items, copied into the plan). One plan under way per building."""
    with web.database().transaction() as session:
        return _plan(session, acceptance.create_plan(session, web.principal(), data, web.now()))


@acceptance_blp.route("/plans", methods=["GET"])
@acceptance_blp.arguments(AcceptancePlanListArgs, location="query")
@acceptance_blp.response(200, AcceptancePlanPage)
def list_acceptance_plans(args):
    """Plans of the caller's communities (a butler's: their zones' and those they inspect), with each building's
    progress: units inspected, defects open and closed."""
    with web.database().transaction() as session:
        page = web.paginate(session, acceptance.visible_plans(web.principal(), args), args["page"], args["page_size"])
        found = acceptance.plan_progress(session, page["items"])
        page["items"] = [acceptance.plan_summary(p, found[p.id]) for p in page["items"]]
        return display.acceptance_plans(session, page, people.People())


@acceptance_blp.route("/plans/<plan_id>", methods=["GET"])
@acceptance_blp.response(200, AcceptancePlanOut)
def get_acceptance_plan(plan_id):
    """The plan, its progress and every unit of the building (inspected or not, its defects open and closed)."""
    with web.database().transaction() as session:
        return _plan(session, acceptance.get_plan(session, web.principal(), plan_id))


@acceptance_blp.route("/plans/<plan_id>/close", methods=["POST"])
@acceptance_blp.arguments(AcceptancePlanCloseIn)
@acceptance_blp.response(200, AcceptancePlanOut)
@acceptance_blp.alt_response(409, description="the plan is closed already; `allowed_actions` names what is")
def close_acceptance_plan(data, plan_id):
    """Close the acceptance (supervisors); open defects stay open (and keep holding their units' handover)."""
    with web.database().transaction() as session:
        plan = acceptance.close_plan(session, web.settings(), web.principal(), plan_id, data, web.now())
        return _plan(session, plan)


@acceptance_blp.route("/plans/<plan_id>/units/<unit_id>", methods=["GET"])
@acceptance_blp.response(200, AcceptanceChecklistOut)
def get_acceptance_checklist(plan_id, unit_id):
    """A unit's checklist: every item with its result once inspected, and the unit's defects."""
    with web.database().transaction() as session:
        found = acceptance.checklist(session, web.principal(), plan_id, unit_id, _today())
        return display.acceptance_checklist(session, found)


@acceptance_blp.route("/plans/<plan_id>/units/<unit_id>/inspection", methods=["POST"])
@acceptance_blp.arguments(AcceptanceInspectionIn)
@acceptance_blp.response(201, AcceptanceChecklistOut)
@acceptance_blp.alt_response(409, description="the unit is inspected already, or the plan is closed")
def inspect_acceptance_unit(data, plan_id, unit_id):
    """Record a unit's inspection (the plan's inspectors): one result per checklist item, pass or defect; a defect
    names what is wrong, the responsible party (developer, contractor) and the rectification deadline, and is
    published as acceptance.defect_opened."""
    principal, today = web.principal(), _today()
    with web.database().transaction() as session:
        acceptance.inspect_unit(session, web.settings(), principal, plan_id, unit_id, data, web.now(), today)
        return display.acceptance_checklist(session, acceptance.checklist(session, principal, plan_id, unit_id, today))


@acceptance_blp.route("/defects", methods=["GET"])
@acceptance_blp.arguments(AcceptanceDefectListArgs, location="query")
@acceptance_blp.response(200, AcceptanceDefectPage, description="JSON, or an XLSX workbook with format=xlsx")
def list_acceptance_defects(args):
    """Defects of the plans the caller sees, by unit; format=xlsx is the list for the developer (every match,
    Chinese headers)."""
    today = _today()
    query = acceptance.visible_defects(web.principal(), args, today)
    with web.database().transaction() as session:
        if args["format"] == "xlsx":
            rows = display.acceptance_defects(
                session, acceptance.defects_page(session, list(session.execute(query.limit(10_000)).scalars()), today)
            )
            return Response(
                acceptance.defects_xlsx(rows, web.settings().timezone),
                mimetype=XLSX,
                headers={"Content-Disposition": 'attachment; filename="acceptance-defects.xlsx"'},
            )
        page = web.paginate(session, query, args["page"], args["page_size"])
        page["items"] = acceptance.defects_page(session, page["items"], today)
        return display.acceptance_defects(session, page)


@acceptance_blp.route("/defects/<defect_id>", methods=["GET"])
@acceptance_blp.response(200, AcceptanceDefectOut)
def get_acceptance_defect(defect_id):
    with web.database().transaction() as session:
        return _defect(session, acceptance.get_defect(session, web.principal(), defect_id))


@acceptance_blp.route("/defects/<defect_id>/reinspect", methods=["POST"])
@acceptance_blp.arguments(AcceptanceReinspectIn)
@acceptance_blp.response(200, AcceptanceDefectOut)
@acceptance_blp.alt_response(409, description="the defect is rectified already; `allowed_actions` names what is")
def reinspect_acceptance_defect(data, defect_id):
    """复查 (the plan's inspectors): rectified closes the defect (acceptance.defect_closed); still_open records the
    visit, with a new deadline if given."""
    with web.database().transaction() as session:
        defect = acceptance.reinspect(session, web.settings(), web.principal(), defect_id, data, web.now(), _today())
        return _defect(session, defect)


@acceptance_blp.route("/defects/<defect_id>/photos", methods=["POST"])
@acceptance_blp.response(201, AcceptancePhotoOut)
@acceptance_blp.alt_response(409, description="the defect is rectified already")
@acceptance_blp.doc(requestBody=_UPLOAD_BODY)
def upload_acceptance_photo(defect_id):
    """A photo of the defect (JPEG, PNG, WebP; multipart field `file`), up to GUANJIA_MAX_UPLOAD_BYTES. The type is
    proven by the file's content."""
    settings = web.settings()
    upload = uploads.receive("file", max_bytes=settings.max_upload_bytes, allowed=uploads.IMAGE_TYPES)
    return acceptance.add_photo(
        web.database(),
        current_app.extensions["tickets.files"],
        web.principal(),
        defect_id,
        upload,
        settings.max_upload_bytes,
        web.now(),
    )


@acceptance_blp.route("/defects/<defect_id>/photos/<photo_id>/content", methods=["GET"])
@acceptance_blp.response(200, description="the photo")
def download_acceptance_photo(defect_id, photo_id):
    with web.database().transaction() as session:
        photo = acceptance.find_photo(session, web.principal(), defect_id, photo_id)
    path = current_app.extensions["tickets.files"].path(photo.storage_key)
    return uploads.download(path, photo.content_type, photo.filename, allowed=uploads.IMAGE_TYPES)
