"""The navigation bar: every screen's link, and the roles a link is shown to (the API still decides every call)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from flask_babel import lazy_gettext

# Who works the cash desk, and who reads the managers' figures (the dashboard's API calls answer the same roles).
CASHIER_ROLES = ("finance", "senior_butler", "cs_manager", "admin")
MANAGER_ROLES = ("senior_butler", "cs_manager", "admin")
ADMIN_ROLES = ("admin",)
# Who reads the periodic reports: the managers (tickets' and billing's reports) and finance (the fee reports).
REPORT_ROLES = CASHIER_ROLES
# Who schedules household reminders (事务提醒) and sees the birthday opt-ins (the community API decides).
REMINDER_ROLES = ("butler", "senior_butler", "cs_manager")
# Who works through arrears and the collection list (billing's COLLECTORS).
COLLECTION_ROLES = ("butler", "senior_butler", "cs_manager", "finance", "admin")
# The equipment register (tickets' READERS who sign in here), maintenance (its KEEPERS), quality cases (READERS).
EQUIPMENT_ROLES = ("engineer", "butler", "senior_butler", "cs_manager", "admin")
MAINTENANCE_ROLES = ("engineer", "senior_butler", "cs_manager", "admin")
QUALITY_ROLES = ("butler", "senior_butler", "cs_manager", "admin")
# Who takes part in a new-building acceptance (the tickets API's acceptance readers among staff).
ACCEPTANCE_ROLES = ("butler", "engineer", "senior_butler", "cs_manager", "admin")
# Who organises activities (community's organisers), and who works the special services (finance reads figures).
COMMUNITY_ROLES = ("butler", "senior_butler", "cs_manager", "admin")
SERVICE_ROLES = ("butler", "senior_butler", "cs_manager", "finance", "admin")


@dataclass(frozen=True)
class Link:
    endpoint: str
    label: object  # a lazy translation: rendered in the reader's language
    roles: tuple[str, ...] | None = None  # None: every signed-in staff member

    @property
    def id(self) -> str:
        return "nav-" + self.endpoint.split(".", 1)[0]


LINKS = (
    Link("home.index", lazy_gettext("Home")),
    Link("tickets.new", lazy_gettext("Log a call")),
    Link("tickets.index", lazy_gettext("Tickets")),
    Link("patrols.index", lazy_gettext("Patrols")),
    Link("renovations.index", lazy_gettext("Renovations")),
    Link("notices.index", lazy_gettext("Notices")),
    Link("incidents.index", lazy_gettext("Incidents")),
    Link("quality.index", lazy_gettext("Major complaints"), QUALITY_ROLES),
    Link("equipment.index", lazy_gettext("Equipment"), EQUIPMENT_ROLES),
    Link("maintenance.index", lazy_gettext("Maintenance"), MAINTENANCE_ROLES),
    Link("acceptance.index", lazy_gettext("New-building acceptance"), ACCEPTANCE_ROLES),
    Link("roster.index", lazy_gettext("Roster")),
    Link("finance.index", lazy_gettext("Cashier"), CASHIER_ROLES),
    Link("dashboard.index", lazy_gettext("Dashboard"), MANAGER_ROLES),
    Link("arrears.index", lazy_gettext("Arrears"), COLLECTION_ROLES),
    Link("reports.index", lazy_gettext("Reports"), REPORT_ROLES),
    Link("staff.index", lazy_gettext("Leave")),
    Link("rota.index", lazy_gettext("Rota and attendance")),
    Link("tasks.index", lazy_gettext("Tasks handed down")),
    Link("team.scorecards", lazy_gettext("Team")),
    Link("knowledge.index", lazy_gettext("Knowledge base")),
    Link("surveys.index", lazy_gettext("Surveys")),
    Link("reminders.index", lazy_gettext("Household reminders"), REMINDER_ROLES),
    Link("activities.index", lazy_gettext("Activities"), COMMUNITY_ROLES),
    Link("services.index", lazy_gettext("Special services"), SERVICE_ROLES),
    Link("admin.users", lazy_gettext("Administration"), ADMIN_ROLES),
)


def links_for(role: str | None) -> list[Link]:
    return [link for link in LINKS if link.roles is None or role in link.roles]


def nav_links() -> list[Link]:
    """The links the signed-in person's role sees (a template global)."""
    web_session = g.get("web_session")
    return links_for(web_session.role if web_session else None)
