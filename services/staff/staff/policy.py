"""Need-to-know table of the staff service: who may read and change which resource, and why.

Enforced for every request by guanjia.access; which records (own, team, community) is the domain's. docs/security.md
embeds this table; the access matrix tests are generated from it.
"""

from __future__ import annotations

from guanjia.access import Policy, Resource

B, SB, CM, E, F = "butler", "senior_butler", "cs_manager", "engineer", "finance"
S = "/api/v1/staff"

RESOURCES = [
    Resource(
        "departments",
        (f"{S}/departments",),
        read=(B, SB, CM, E, F),
        write=(CM,),
        why="every member of staff sees how the community is organised; its manager sets it up",
    ),
    Resource(
        "positions and reports-to",
        (f"{S}/positions", f"{S}/positions/<position_id>"),
        read=(B, SB, CM, E, F),
        write=(CM,),
        why="staff of a community work with its organisation chart (whom to ask, whom to name as stand-in); the manager "
        "fills posts",
    ),
    Resource(
        "leave and stand-in cover",
        (
            f"{S}/leaves",
            f"{S}/leaves/<leave_id>",
            f"{S}/leaves/<leave_id>/approve",
            f"{S}/leaves/<leave_id>/reject",
            f"{S}/leaves/<leave_id>/cancel",
        ),
        read=(B, SB, CM, E, F),
        write=(B, SB, CM, E, F),
        why="a person asks for their own leave and sees those they stand in for; the superior decides; a senior butler "
        "sees the team's, the manager the community's",
        notes=("reason", "decision_note"),
    ),
    Resource(
        "monthly scorecards",
        (f"{S}/scorecards", f"{S}/scorecards/<scorecard_id>", f"{S}/scorecards/<scorecard_id>/review"),
        read=(B, SB, CM, E, F),
        write=(SB, CM),
        why="a person sees their own scorecard, a senior butler the team's, the manager the community's; the superior "
        "draws it up and scores it",
        notes=("comment",),
    ),
    Resource(
        "tasks handed down",
        (f"{S}/tasks", f"{S}/tasks/<task_id>", f"{S}/tasks/<task_id>/complete"),
        read=(B, SB, CM, E, F),
        write=(B, SB, CM, E, F),
        why="a superior hands tasks down to their team and follows them; the assignee sees and completes their own",
        notes=("details",),
    ),
    Resource(
        "shift templates and weekly rotas",
        (f"{S}/shift-templates", f"{S}/rotas"),
        read=(B, SB, CM, E, F),
        write=(SB, CM),
        why="the members of a department see its shifts and week (to know their duty and ask for swaps); its senior "
        "butler or the manager draws it up",
    ),
    Resource(
        "shift swaps",
        (f"{S}/swaps", f"{S}/swaps/<swap_id>", f"{S}/swaps/<swap_id>/approve", f"{S}/swaps/<swap_id>/reject"),
        read=(B, SB, CM, E, F),
        write=(B, SB, CM, E, F),
        why="a person hands their own shift to a colleague and both see it; the superior decides; a senior butler sees "
        "the team's, the manager the community's",
        notes=("reason",),
    ),
    Resource(
        "clock-in and attendance",
        (f"{S}/attendance", f"{S}/attendance/clock", f"{S}/attendance/clock-in", f"{S}/attendance/clock-out"),
        read=(B, SB, CM, E, F),
        write=(B, SB, CM, E, F),
        why="a person clocks in and out and sees their own attendance; a senior butler the team's, the manager the "
        "community's (the monthly sheet)",
    ),
    Resource(
        "work plans and summaries",
        (
            f"{S}/plans",
            f"{S}/plans/<plan_id>",
            f"{S}/plans/<plan_id>/items",
            f"{S}/plans/<plan_id>/items/<item_id>/status",
            f"{S}/plans/<plan_id>/summary",
            f"{S}/plans/<plan_id>/review",
        ),
        read=(B, SB, CM, E, F),
        write=(B, SB, CM, E, F),
        why="a person plans and sums up their own month and quarter; the superior sees the team's and reviews them, "
        "the manager the community's; a zone's plan is the senior butlers' and the manager's (the zone's butlers "
        "read it), the community's the manager's (all its staff read it)",
        notes=("summary", "review"),
    ),
    Resource(
        "meetings (例会)",
        (f"{S}/meetings", f"{S}/meetings/<meeting_id>"),
        read=(B, SB, CM, E, F),
        write=(SB, CM),
        why="the senior butler or the manager holds the regular meetings and hands their action items down as tasks; "
        "attendees read the minutes",
        notes=("minutes",),
    ),
    Resource(
        "training records",
        (f"{S}/trainings", f"{S}/trainings/<training_id>", f"{S}/trainings/<training_id>/completion"),
        read=(B, SB, CM, E, F),
        write=(SB, CM),
        why="the superior trains the team (百问百答) and records who completed it; attendees see their own sessions",
    ),
    Resource(
        "tools and items issued",
        (f"{S}/issued-items", f"{S}/issued-items/<item_id>/return"),
        read=(B, SB, CM, E, F),
        write=(SB, CM),
        why="配发工具物品: the superior issues tools to the team and takes them back; a person sees what they hold",
        notes=("note",),
    ),
    Resource(
        "collection-rate pay rule",
        (f"{S}/pay-rule",),
        read=(B, SB, CM, F),
        write=(),
        why="butlers' pay follows the collection rate: they, their superiors and finance read the rule; the operator "
        "sets it",
    ),
]


def policy() -> Policy:
    return Policy("staff", RESOURCES, service_only=("/api/v1/internal",))
