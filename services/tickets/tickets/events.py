"""Events the tickets service publishes: their type names and payload schemas (the contract)."""

import marshmallow as ma

TICKET_CREATED = "ticket.created"
TICKET_ASSIGNED = "ticket.assigned"
TICKET_RESOLVED = "ticket.resolved"
TICKET_CLOSED = "ticket.closed"
TICKET_REOPENED = "ticket.reopened"
TICKET_SLA_BREACHED = "ticket.sla_breached"
TICKET_NOTE_ADDED = "ticket.note_added"
TICKET_VISIT_OVERDUE = "ticket.visit_overdue"
INCIDENT_OPENED = "incident.opened"
INCIDENT_UPDATED = "incident.updated"
INCIDENT_CLOSED = "incident.closed"
EQUIPMENT_MAINTENANCE_DUE = "equipment.maintenance_due"
EQUIPMENT_MAINTENANCE_OVERDUE = "equipment.maintenance_overdue"
ACCEPTANCE_DEFECT_OPENED = "acceptance.defect_opened"
ACCEPTANCE_DEFECT_CLOSED = "acceptance.defect_closed"
PATROL_COMPLETED = "patrol.completed"
PATROL_ZONE_OVERDUE = "patrol.zone_overdue"

_str = ma.fields.String


class TicketCreatedV1(ma.Schema):
    """ticket.created v1 — ids and facts only: no description text, no names, no phone numbers."""

    ticket_id = _str(required=True)
    number = _str(required=True)
    community_id = _str(required=True)
    # Present but null for public-area and patrol tickets (no unit, no resident reporter).
    unit_id = _str(required=True, allow_none=True)
    reporter_id = _str(required=True, allow_none=True)
    category = _str(required=True)
    status = _str(required=True)
    created_at = _str(required=True)
    # Added in v1 without breaking consumers.
    priority = _str()
    channel = _str()
    zone_id = _str(allow_none=True)
    location = _str()


class TicketAssignedV1(ma.Schema):
    ticket_id = _str(required=True)
    number = _str(required=True)
    community_id = _str(required=True)
    unit_id = _str(required=True, allow_none=True)
    zone_id = _str(required=True, allow_none=True)
    department = _str(required=True)
    assignee_id = _str(required=True)
    assigned_by = _str(required=True)
    assigned_at = _str(required=True)
    reason = _str(required=True, allow_none=True)


class TicketResolvedV1(ma.Schema):
    ticket_id = _str(required=True)
    number = _str(required=True)
    community_id = _str(required=True)
    unit_id = _str(required=True, allow_none=True)
    reporter_id = _str(required=True, allow_none=True)
    resolved_at = _str(required=True)
    paid = ma.fields.Boolean(required=True)
    charge = _str(required=True, allow_none=True)
    charge_accepted = ma.fields.Boolean(required=True)


class TicketClosedV1(ma.Schema):
    ticket_id = _str(required=True)
    number = _str(required=True)
    community_id = _str(required=True)
    closed_at = _str(required=True)
    satisfaction = ma.fields.Integer(required=True, allow_none=True)
    visit_outcome = _str(required=True)


class TicketReopenedV1(ma.Schema):
    ticket_id = _str(required=True)
    number = _str(required=True)
    community_id = _str(required=True)
    reopened_at = _str(required=True)
    reason_code = _str(required=True)


class TicketSlaBreachedV1(ma.Schema):
    ticket_id = _str(required=True)
    number = _str(required=True)
    community_id = _str(required=True)
    zone_id = _str(required=True, allow_none=True)
    priority = _str(required=True)
    clock = _str(required=True)
    deadline = _str(required=True)
    breached_at = _str(required=True)
    escalation_level = ma.fields.Integer(required=True)
    escalate_to_role = _str(required=True)
    emergency = ma.fields.Boolean(required=True)


class TicketNoteAddedV1(ma.Schema):
    """ticket.note_added v1 — that a note or a staged feedback was given, never its text."""

    ticket_id = _str(required=True)
    number = _str(required=True)
    community_id = _str(required=True)
    note_id = _str(required=True)
    kind = _str(required=True)
    visibility = _str(required=True)
    author = _str(required=True)
    added_at = _str(required=True)
    next_feedback_at = _str(required=True, allow_none=True)


class TicketVisitOverdueV1(ma.Schema):
    ticket_id = _str(required=True)
    number = _str(required=True)
    community_id = _str(required=True)
    zone_id = _str(required=True, allow_none=True)
    first_responder = _str(required=True)
    visit_due_at = _str(required=True)
    detected_at = _str(required=True)


class IncidentScopeV1(ma.Schema):
    unit_ids = ma.fields.List(_str(), required=True)
    building_ids = ma.fields.List(_str(), required=True)
    zone_ids = ma.fields.List(_str(), required=True)


class IncidentOpenedV1(ma.Schema):
    """incident.opened v1 — the kind, severity and affected scope; notifications sends the urgent notice to the
    households of that scope when notify_residents is true. No description text."""

    incident_id = _str(required=True)
    community_id = _str(required=True)
    type = _str(required=True)
    severity = _str(required=True)
    status = _str(required=True)
    scope = ma.fields.Nested(IncidentScopeV1, required=True)
    notify_residents = ma.fields.Boolean(required=True)
    reported_at = _str(required=True)


class IncidentUpdatedV1(ma.Schema):
    incident_id = _str(required=True)
    community_id = _str(required=True)
    status = _str(required=True)
    change = _str(required=True)
    at = _str(required=True)


class IncidentClosedV1(ma.Schema):
    incident_id = _str(required=True)
    community_id = _str(required=True)
    type = _str(required=True)
    severity = _str(required=True)
    reported_at = _str(required=True)
    arrived_at = _str(required=True, allow_none=True)
    contained_at = _str(required=True, allow_none=True)
    resolved_at = _str(required=True)
    closed_at = _str(required=True)
    tasks = ma.fields.Integer(required=True)


class EquipmentMaintenanceDueV1(ma.Schema):
    """equipment.maintenance_due v1 — a maintenance work order was made for its due date (one per plan and date)."""

    order_id = _str(required=True)
    plan_id = _str(required=True)
    equipment_id = _str(required=True)
    community_id = _str(required=True)
    equipment_kind = _str(required=True)
    frequency = _str(required=True)
    due_on = _str(required=True)
    assignee_id = _str(required=True, allow_none=True)
    generated_at = _str(required=True)


class EquipmentMaintenanceOverdueV1(ma.Schema):
    """equipment.maintenance_overdue v1 — an order still open after its due date (sent once): the escalation."""

    order_id = _str(required=True)
    plan_id = _str(required=True)
    equipment_id = _str(required=True)
    community_id = _str(required=True)
    due_on = _str(required=True)
    assignee_id = _str(required=True, allow_none=True)
    overdue_days = ma.fields.Integer(required=True)
    detected_at = _str(required=True)


class AcceptanceDefectV1(ma.Schema):
    """acceptance.defect_opened / acceptance.defect_closed v1 — a defect found at a unit's new-building acceptance,
    and its rectification. residents holds the unit's handover while it has open defects (where the community says
    so). The checklist item's name (template text) and the category, never the inspector's description."""

    defect_id = _str(required=True)
    plan_id = _str(required=True)
    community_id = _str(required=True)
    building_id = _str(required=True)
    unit_id = _str(required=True)
    category = _str(required=True)
    item = _str(required=True)
    responsible_party = _str(required=True)
    rectify_by = _str(required=True)
    status = _str(required=True)
    at = _str(required=True)


class PatrolCompletedV1(ma.Schema):
    round_id = _str(required=True)
    plan_id = _str(required=True)
    zone_id = _str(required=True)
    community_id = _str(required=True)
    completed_at = _str(required=True)
    findings = ma.fields.Integer(required=True)
    tickets_opened = ma.fields.Integer(required=True)


class PatrolZoneOverdueV1(ma.Schema):
    zone_id = _str(required=True)
    community_id = _str(required=True)
    last_round_at = _str(required=True, allow_none=True)
    overdue_days = ma.fields.Integer(required=True)
    required_every_days = ma.fields.Integer(required=True)
    detected_at = _str(required=True)


PUBLISHED = {
    TICKET_CREATED: TicketCreatedV1,
    TICKET_ASSIGNED: TicketAssignedV1,
    TICKET_RESOLVED: TicketResolvedV1,
    TICKET_CLOSED: TicketClosedV1,
    TICKET_REOPENED: TicketReopenedV1,
    TICKET_SLA_BREACHED: TicketSlaBreachedV1,
    TICKET_NOTE_ADDED: TicketNoteAddedV1,
    TICKET_VISIT_OVERDUE: TicketVisitOverdueV1,
    INCIDENT_OPENED: IncidentOpenedV1,
    INCIDENT_UPDATED: IncidentUpdatedV1,
    INCIDENT_CLOSED: IncidentClosedV1,
    EQUIPMENT_MAINTENANCE_DUE: EquipmentMaintenanceDueV1,
    EQUIPMENT_MAINTENANCE_OVERDUE: EquipmentMaintenanceOverdueV1,
    ACCEPTANCE_DEFECT_OPENED: AcceptanceDefectV1,
    ACCEPTANCE_DEFECT_CLOSED: AcceptanceDefectV1,
    PATROL_COMPLETED: PatrolCompletedV1,
    PATROL_ZONE_OVERDUE: PatrolZoneOverdueV1,
}
