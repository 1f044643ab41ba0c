"""Community use cases: the unit and zone projections, the knowledge base and directory, satisfaction surveys."""

from . import knowledge, orders, surveys, units

__all__ = ["knowledge", "orders", "surveys", "units"]
