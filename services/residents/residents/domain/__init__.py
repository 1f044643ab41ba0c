"""Residents use cases: rules and scope checks, with the outbox rows written in the same transaction.

structure (communities, zones, buildings, units), people (residents, search, contacts for other services),
occupancy (handover, move-in/out, moving appointments, release passes), affairs (cards, keys, vacant units,
visits), renovations (装修管理), roster (bulk import and export).
"""
