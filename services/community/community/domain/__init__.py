"""Community use cases: the unit and zone projections, the knowledge base and directory, satisfaction surveys,
activities and owner meetings, service orders, greetings and reminders."""

from . import activities, knowledge, meetings, orders, reminders, surveys, units

__all__ = ["activities", "knowledge", "meetings", "orders", "reminders", "surveys", "units"]
