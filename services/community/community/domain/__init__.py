"""Community use cases: the unit and zone projections, the knowledge base and directory, satisfaction surveys."""

from . import knowledge, surveys, units

__all__ = ["knowledge", "surveys", "units"]
