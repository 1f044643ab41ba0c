"""Community use cases: the unit and zone projections, the knowledge base and directory, satisfaction surveys."""

from . import activities, knowledge, orders, surveys, units

__all__ = ["activities", "knowledge", "orders", "surveys", "units"]
