"""The workbench's screens, one blueprint per area (register a new one in BLUEPRINTS)."""

from . import auth, home, household, incidents, notices, patrols, renovations, roster, search, tickets, units

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
]
