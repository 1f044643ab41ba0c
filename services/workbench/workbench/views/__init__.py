"""The workbench's screens, one blueprint per area (register a new one in BLUEPRINTS)."""

from . import (
    auth,
    dashboard,
    finance,
    home,
    household,
    incidents,
    knowledge,
    notices,
    patrols,
    renovations,
    roster,
    search,
    staff,
    surveys,
    tickets,
    units,
)

BLUEPRINTS = [
    auth.bp,
    home.bp,
    search.bp,
    units.bp,
    tickets.bp,
    patrols.bp,
    household.bp,
    renovations.bp,
    notices.bp,
    incidents.bp,
    roster.bp,
    finance.bp,
    dashboard.bp,
    staff.bp,
    knowledge.bp,
    surveys.bp,
]
