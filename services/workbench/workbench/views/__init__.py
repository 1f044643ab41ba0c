"""The workbench's screens, one blueprint per area (register a new one in BLUEPRINTS)."""

from . import auth, home, search, tickets, units

BLUEPRINTS = [auth.bp, home.bp, search.bp, units.bp, tickets.bp]
