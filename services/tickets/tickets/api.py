"""HTTP API of the tickets service: load → call domain → dump; no rules here."""

from __future__ import annotations

import functools
from datetime import timedelta

from flask import Response, current_app, jsonify, request

from guanjia import uploads, web
from guanjia.errors import NotFound
from guanjia.names import staff_names
from guanjia.web import Blueprint

from . import display, examples
from .domain import (
    attachments,
    common,
    community,
    equipment,
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
    AcceptQuoteIn,
    AssignIn,
    AttachmentList,
    AttachmentOut,
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

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@functools.cache
def _ticket_out() -> TicketOut:
    """Built once: building the schema costs more than dumping a ticket with it."""
    return TicketOut()


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
        return _ticket_out().dump(display.tickets(session, ticket))

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
@blp.doc(
    requestBody={
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}, "visit_id": {"type": "string"}},
                    "required": ["file"],
                }
            }
        }
    }
)
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
    satisfaction; repeat complainants; top recurring issues."""
    return _report("monthly", args, args["month"])


@blp.route("/reports/weekly", methods=["GET"])
@blp.arguments(WeeklyReportArgs, location="query")
@blp.response(200, description="JSON, or an XLSX workbook with format=xlsx")
def weekly_report(args):
    """Weekly statistics (same sections as the monthly report) for the week holding `week`."""
    return _report("weekly", args, args["week"].isoformat())


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
    return equipment.out(session, found, _today())


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
        return web.paginate(session, equipment.visible(web.principal(), args), args["page"], args["page_size"])


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
        return {**found, "maintenance": [maintenance.order_out(o, today) for o in found["maintenance"]]}


# ---------------------------------------------------------------- maintenance plans and orders


@maintenance_blp.route("/plans", methods=["POST"])
@maintenance_blp.arguments(MaintenancePlanIn)
@maintenance_blp.response(201, MaintenancePlanOut)
def create_maintenance_plan(data):
    """A checklist done daily, weekly, monthly or yearly from `starts_on`: the worker makes one work order per due
    date (equipment.maintenance_due)."""
    with web.database().transaction() as session:
        return maintenance.plan_out(maintenance.create_plan(session, web.principal(), data, web.now()))


@maintenance_blp.route("/plans", methods=["GET"])
@maintenance_blp.arguments(MaintenancePlanListArgs, location="query")
@maintenance_blp.response(200, MaintenancePlanPage)
def list_maintenance_plans(args):
    """Plans of the caller's communities, the next due first."""
    with web.database().transaction() as session:
        page = web.paginate(session, maintenance.visible_plans(web.principal(), args), args["page"], args["page_size"])
        return {**page, "items": [maintenance.plan_out(p) for p in page["items"]]}


@maintenance_blp.route("/plans/<plan_id>/active", methods=["POST"])
@maintenance_blp.arguments(MaintenancePlanActiveIn)
@maintenance_blp.response(200, MaintenancePlanOut)
def set_maintenance_plan_active(data, plan_id):
    """Pause or resume a plan (a paused plan makes no orders)."""
    with web.database().transaction() as session:
        return maintenance.plan_out(maintenance.set_active(session, web.principal(), plan_id, data["active"]))


@maintenance_blp.route("/orders", methods=["GET"])
@maintenance_blp.arguments(MaintenanceOrderListArgs, location="query")
@maintenance_blp.response(200, MaintenanceOrderPage)
def list_maintenance_orders(args):
    """Maintenance work orders, the earliest due first; `overdue=true` lists those still open after their date."""
    today = _today()
    with web.database().transaction() as session:
        query = maintenance.visible_orders(web.principal(), args, today)
        page = web.paginate(session, query, args["page"], args["page_size"])
        return {**page, "items": [maintenance.order_out(o, today) for o in page["items"]]}


@maintenance_blp.route("/orders/<order_id>", methods=["GET"])
@maintenance_blp.response(200, MaintenanceOrderOut)
def get_maintenance_order(order_id):
    with web.database().transaction() as session:
        return maintenance.order_out(maintenance.get_order(session, web.principal(), order_id), _today())


@maintenance_blp.route("/orders/<order_id>/complete", methods=["POST"])
@maintenance_blp.arguments(MaintenanceCompleteIn)
@maintenance_blp.response(200, MaintenanceOrderOut)
@maintenance_blp.alt_response(409, description="the order is done already; `allowed_actions` names what is")
def complete_maintenance_order(data, order_id):
    """Record the checklist's results (one per item); each fault found opens a repair ticket linked to the
    equipment."""
    with web.database().transaction() as session:
        order = maintenance.complete(session, web.settings(), web.principal(), order_id, data, web.now())
        return maintenance.order_out(order, _today())


# ---------------------------------------------------------------- quality cases


def _case(session, case):
    return quality.out(session, case, web.now())


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
        return web.paginate(session, quality.visible(web.principal(), args), args["page"], args["page_size"])


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
