"""Tickets use cases: rules and scope checks, with the outbox rows written in the same transaction.

common (kinds, statuses, who sees which ticket, timeline, events), tickets (filing and finding tickets),
lifecycle (actions and who may take them), routing, sla (clocks and escalation), business_hours (the arithmetic of
working hours), community (a community's rules), visits (回访), notes (progress notes, staged feedback),
attachments (the file store and its rows), projections (units, zones, absences from events), people (reporters and
assignees checked with their owners), patrols, incidents (突发事件), reports.
"""
