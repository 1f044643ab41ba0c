"""Need-to-know table of the community service: who may read and change which resource, and why.

Enforced for every request by guanjia.access; which entries (published, own community) and which households (own,
the butler's zones) is the domain's. docs/security.md embeds this table; the access matrix tests are generated
from it.
"""

from __future__ import annotations

from guanjia.access import Policy, Resource

R, B, SB, CM, E, F, IG = "resident", "butler", "senior_butler", "cs_manager", "engineer", "finance", "integrator"
K, D, S = "/api/v1/knowledge", "/api/v1/directory", "/api/v1/surveys"
C, SO, A = "/api/v1/catalogue", "/api/v1/service-orders", "/api/v1/activities"
G, RM = "/api/v1/greetings", "/api/v1/reminders"

RESOURCES = [
    Resource(
        "knowledge base (百问百答)",
        (K, f"{K}/<entry_id>"),
        read=(R, B, SB, CM, E, F),
        write=(B, SB, CM),
        why="the front desk answers from it and keeps it current; residents read the published answers; engineers "
        "and finance explain the same boundaries",
    ),
    Resource(
        "entries past their review date",
        (f"{K}/overdue", f"{D}/overdue"),
        read=(B, SB, CM),
        write=(),
        why="the service desk reviews what is out of date (定期更新)",
    ),
    Resource(
        "local directory and hotlines",
        (D, f"{D}/<entry_id>"),
        read=(R, B, SB, CM, E, F),
        write=(B, SB, CM),
        why="residents look up the neighbourhood and the utilities; the front desk keeps the numbers current",
        notes=("note",),
    ),
    Resource(
        "satisfaction surveys",
        (S, f"{S}/<survey_id>", f"{S}/<survey_id>/open", f"{S}/<survey_id>/close"),
        read=(R, B, SB, CM, IG),
        write=(SB, CM),
        why="the senior butler and the service manager build and run the annual survey; butlers and residents "
        "see the questionnaire they answer",
    ),
    Resource(
        "survey answers",
        (f"{S}/<survey_id>/answers",),
        read=(R, B, SB, CM),
        write=(R, B, SB, CM),
        why="a resident answers for their household; the butler records answers taken by phone or on a visit",
    ),
    Resource(
        "survey progress",
        (f"{S}/<survey_id>/progress",),
        read=(B, SB, CM),
        write=(),
        why="butlers chase their zones' response rate",
    ),
    Resource(
        "survey reminders",
        (f"{S}/<survey_id>/reminders",),
        read=(),
        write=(B, SB, CM),
        why="butlers and the survey's organisers remind the households that have not answered",
    ),
    Resource(
        "survey report",
        (f"{S}/<survey_id>/report",),
        read=(SB, CM),
        write=(),
        why="the analysis report of the whole community goes to the senior butler and the service manager",
    ),
    Resource(
        "service catalogue",
        (C, f"{C}/<item_id>"),
        read=(R, B, SB, CM, F),
        write=(SB, CM),
        why="residents choose from the community's special and paid services; the senior butler keeps the list; "
        "finance sees what is charged",
    ),
    Resource(
        "service orders",
        (SO, f"{SO}/<order_id>", f"{SO}/<order_id>/cancel", f"{SO}/<order_id>/rate"),
        read=(R, B, SB, CM, F),
        write=(R, B, SB, CM),
        why="a household orders and rates its own; the butler orders on its behalf and follows their zones'",
        notes=("note",),
    ),
    Resource(
        "service delivery",
        (f"{SO}/<order_id>/schedule", f"{SO}/<order_id>/complete"),
        read=(),
        write=(B, SB, CM),
        why="staff agree the time, price a quoted order and record the delivery (the charge follows)",
    ),
    Resource(
        "service promotion figures",
        (f"{SO}/figures",),
        read=(B, SB, CM, F),
        write=(),
        why="the senior butler checks how the special services are promoted; finance sees the revenue",
    ),
    Resource(
        "activities and owner meetings",
        (A, f"{A}/<activity_id>"),
        read=(R, B, SB, CM, IG),
        write=(B, SB, CM),
        why="the butlers organise the community's activities and owner meetings; residents see what is announced",
        notes=("minutes",),
    ),
    Resource(
        "activity sign-ups",
        (f"{A}/<activity_id>/signups", f"{A}/<activity_id>/signups/<signup_id>/cancel"),
        read=(R, B, SB, CM),
        write=(R, B, SB, CM),
        why="a household signs up (or the butler for it) and may withdraw; staff see who comes",
    ),
    Resource(
        "activity check-in",
        (f"{A}/<activity_id>/signups/<signup_id>/check-in",),
        read=(),
        write=(B, SB, CM),
        why="staff record attendance on the day",
    ),
    Resource(
        "activity photos",
        (f"{A}/<activity_id>/photos", f"{A}/<activity_id>/photos/<photo_id>/content"),
        read=(R, B, SB, CM),
        write=(B, SB, CM),
        why="staff keep the photos of an activity; the residents of the community see those of announced ones",
    ),
    Resource(
        "issues raised at owner meetings",
        (
            f"{A}/<activity_id>/issues",
            f"{A}/<activity_id>/issues/<issue_id>/ticket",
            f"{A}/<activity_id>/issues/<issue_id>/close",
        ),
        read=(B, SB, CM),
        write=(B, SB, CM),
        why="staff record what owners raised at the meeting and hand each issue on as a ticket (a butler: the "
        "general ones and their zones' households')",
        notes=("description",),
    ),
    Resource(
        "birthday greetings (生日祝福)",
        (G, f"{G}/me"),
        read=(R, B, SB, CM),
        write=(R,),
        why="a resident opts in (or out) with their birth month and day, kept for the greeting only; staff see who "
        "opted in, never the birthday",
    ),
    Resource(
        "household reminders (事务提醒)",
        (RM, f"{RM}/<reminder_id>", f"{RM}/<reminder_id>/cancel"),
        read=(R, B, SB, CM),
        write=(B, SB, CM),
        why="the butler schedules reminders for a household (gas safety check, key collection, document expiry); "
        "the household sees its own",
        notes=("note",),
    ),
]


def policy() -> Policy:
    return Policy("community", RESOURCES)
