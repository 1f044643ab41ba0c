"""Community use cases: the unit and zone projections, the knowledge base and directory, satisfaction surveys,
activities, service orders, greetings and reminders."""

from . import activities, knowledge, orders, reminders, surveys, units

__all__ = ["activities", "knowledge", "orders", "reminders", "surveys", "units"]
