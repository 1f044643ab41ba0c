"""Need-to-know table of the tickets service: who may read and change which resource, and why.

Enforced for every request by guanjia.access; which tickets (own, dispatched, zones, communities) is the
domain's. docs/security.md embeds this table; the access matrix tests are generated from it.
"""

from __future__ import annotations

from guanjia.access import Policy, Resource

R, B, SB, CM, E, F, IG = "resident", "butler", "senior_butler", "cs_manager", "engineer", "finance", "integrator"
T, P, INC = "/api/v1/tickets", "/api/v1/tickets/patrols", "/api/v1/tickets/incidents"
AC = "/api/v1/tickets/acceptance"
EQ, MT, QC = "/api/v1/tickets/equipment", "/api/v1/tickets/maintenance", "/api/v1/tickets/quality-cases"
ACTIONS = (
    "assign",
    "start",
    "hold",
    "resume",
    "quote",
    "accept-quote",
    "resolve",
    "reopen",
    "cancel",
    "triage",
    "close",
)
NOTES = ("reason", "comment", "note", "hold_reason", "body")

RESOURCES = [
    Resource(
        "tickets",
        (T, f"{T}/follow-ups", f"{T}/<ticket_id>", f"{T}/<ticket_id>/timeline")
        + tuple(f"{T}/<ticket_id>/{action}" for action in ACTIONS),
        read=(R, B, SB, CM, E, IG),
        write=(R, B, SB, CM, E),
        why="residents file and follow their own, staff take and work them, engineers those dispatched to them; "
        "finance learns of paid repairs from ticket.resolved",
        notes=NOTES,
    ),
    Resource(
        "ticket notes",
        (f"{T}/<ticket_id>/notes", f"{T}/feedback-due"),
        read=(R, B, SB, CM, E, IG),
        write=(B, SB, CM, E),
        why="staff record progress, internal or for the resident; a complaint's customer is given staged feedback "
        "until it is settled; residents read the notes meant for them",
        notes=NOTES,
    ),
    Resource(
        "return visits",
        (f"{T}/<ticket_id>/visits",),
        read=(R, B, SB, CM, E, IG),
        write=(R, B, SB, CM),
        why="the service desk calls back, or the reporting resident answers it on their phone; the reporter and "
        "the worker see the outcome",
        notes=NOTES,
    ),
    Resource(
        "attachments",
        (f"{T}/<ticket_id>/attachments", f"{T}/<ticket_id>/attachments/<attachment_id>/content"),
        read=(R, B, SB, CM, E, IG),
        write=(R, B, SB, CM, E),
        why="photos of the problem and of the work, by those on the ticket",
    ),
    Resource(
        "photos of findings and incidents",
        (
            f"{P}/rounds/<round_id>/findings/<finding_id>/photos",
            f"{P}/rounds/<round_id>/findings/<finding_id>/photos/<photo_id>/content",
            f"{INC}/<incident_id>/photos",
            f"{INC}/<incident_id>/photos/<photo_id>/content",
        ),
        read=(B, SB, CM, E),
        write=(B, SB, CM, E),
        why="evidence from the round and the scene for those who walk and run them; integrators read the facts, "
        "not the pictures (people may be on them)",
    ),
    Resource(
        "community ticket rules",
        (f"{T}/settings/<community_id>", f"{T}/sla-policies", f"{T}/routing-rules", f"{T}/routing-rules/<rule_id>"),
        read=(B, SB, CM, E, IG),
        write=(SB, CM),
        why="staff work to the community's hours, SLA and routing; supervisors set them",
    ),
    Resource(
        "ticket reports",
        (f"{T}/reports/monthly", f"{T}/reports/weekly", f"{T}/reports/weekly-series"),
        read=(SB, CM),
        write=(),
        why="supervisors' monthly and weekly complaint statistics",
    ),
    Resource(
        "patrols",
        (
            f"{P}/plans",
            f"{P}/rounds",
            f"{P}/rounds/<round_id>",
            f"{P}/rounds/<round_id>/scans",
            f"{P}/rounds/<round_id>/findings",
            f"{P}/rounds/<round_id>/complete",
            f"{P}/coverage",
        ),
        read=(B, SB, CM, E, IG),
        write=(B, SB, CM, E),
        why="butlers plan, guards (engineering staff) walk the rounds; residents and finance have no part",
        notes=NOTES,
    ),
    Resource(
        "incidents",
        (INC, f"{INC}/<incident_id>", f"{INC}/<incident_id>/report", f"{INC}/<incident_id>/tasks/<task_id>/done")
        + tuple(f"{INC}/<incident_id>/{action}" for action in ("progress", "on-site", "tasks", "close")),
        read=(B, SB, CM, E, IG),
        write=(B, SB, CM, E),
        why="butlers and the service centre run an emergency, engineers on site record its progress and their "
        "aftermath tasks; residents hear of it by the urgent notice; headquarters read the report",
        notes=("description", "summary", "note", "title"),
    ),
    Resource(
        "equipment",
        (
            EQ,
            f"{EQ}/certificates/expiring",
            f"{EQ}/<equipment_id>",
            f"{EQ}/<equipment_id>/state",
            f"{EQ}/<equipment_id>/certificates",
            f"{EQ}/<equipment_id>/history",
        ),
        read=(B, SB, CM, E, IG),
        write=(SB, CM, E),
        why="engineering keeps the register (设施设备台账) and its running state with the supervisors; butlers see it; "
        "residents and finance have no part",
        notes=("state_note", "note"),
    ),
    Resource(
        "equipment faults",
        (f"{EQ}/<equipment_id>/faults",),
        read=(),
        write=(B, SB, CM, E),
        why="whoever finds a piece of equipment broken opens its repair ticket, linked to it",
        notes=("description",),
    ),
    Resource(
        "maintenance",
        (f"{MT}/plans", f"{MT}/plans/<plan_id>/active", f"{MT}/orders", f"{MT}/orders/<order_id>")
        + (f"{MT}/orders/<order_id>/complete",),
        read=(B, SB, CM, E, IG),
        write=(SB, CM, E),
        why="engineering and the supervisors plan the maintenance and do the orders; butlers see what is due and "
        "overdue in their community",
        notes=("note", "description"),
    ),
    Resource(
        "quality cases",
        (QC, f"{QC}/<case_id>", f"{QC}/<case_id>/feedback", f"{QC}/<case_id>/close"),
        read=(B, SB, CM, IG),
        write=(B, SB, CM),
        why="重大投诉: the managers open and close them and follow them until closed; the butler who owns one gives "
        "its stage feedback; engineers, residents and finance have no part",
        notes=("description", "body", "report", "title"),
    ),
    Resource(
        "new-building acceptance",
        (
            f"{AC}/templates",
            f"{AC}/plans",
            f"{AC}/plans/<plan_id>",
            f"{AC}/plans/<plan_id>/close",
            f"{AC}/plans/<plan_id>/units/<unit_id>",
            f"{AC}/plans/<plan_id>/units/<unit_id>/inspection",
            f"{AC}/defects",
            f"{AC}/defects/<defect_id>",
            f"{AC}/defects/<defect_id>/reinspect",
            f"{AC}/defects/<defect_id>/photos",
            f"{AC}/defects/<defect_id>/photos/<photo_id>/content",
        ),
        read=(B, SB, CM, E, IG),
        write=(B, SB, CM, E),
        why="承接查验: supervisors plan a building's acceptance, its inspectors (engineers, butlers) check each unit "
        "and re-inspect the defects; the developer receives the defect list; residents and finance have no part "
        "(a buyer's handover waits in residents while defects are open)",
        notes=("description", "note", "last_reinspection_note"),
    ),
]


def policy() -> Policy:
    return Policy("tickets", RESOURCES, service_only=("/api/v1/internal",))
