"""Request and response schemas of renovation control."""

import marshmallow as ma

from guanjia.fields import Phone
from guanjia.web import DayEndDateTime, PageArgs, UtcDateTime, enum_out, page_schema

from ..domain.renovations import VIOLATION_CATEGORIES
from .common import ID_LENGTH, PhotoOut, optional_text, required_text

# Output enums: the values the domain writes into these columns (models.py), so clients see the choices.
VIOLATION_STATUSES = ("open", "rectified")
VIOLATION_SEVERITIES = ("minor", "serious")
RENOVATION_STATUSES = ("submitted", "reviewed", "approved", "rejected", "completed", "failed")


class Contractor(ma.Schema):
    name = required_text(200)
    phone = Phone(required=True)
    licence = optional_text(100)


class Worker(ma.Schema):
    name = required_text(100)
    phone = Phone()


class ScopeItem(ma.Schema):
    description = required_text(500)
    structural = ma.fields.Boolean(required=True)


class RenovationCreate(ma.Schema):
    unit_id = ma.fields.String(required=True, validate=ID_LENGTH)
    applicant_id = ma.fields.String(required=True, validate=ID_LENGTH)
    contractor = ma.fields.Nested(Contractor, required=True)
    workers = ma.fields.List(ma.fields.Nested(Worker), load_default=list)
    items = ma.fields.List(ma.fields.Nested(ScopeItem), required=True, validate=ma.validate.Length(min=1))
    planned_start = ma.fields.Date(required=True)
    planned_end = ma.fields.Date(required=True)


class Review(ma.Schema):
    passed = ma.fields.Boolean(required=True)
    notes = required_text(2000)


class Reject(ma.Schema):
    reason = required_text(2000)


class ViolationCreate(ma.Schema):
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(VIOLATION_CATEGORIES))
    severity = ma.fields.String(required=True, validate=ma.validate.OneOf(VIOLATION_SEVERITIES))
    evidence = required_text(2000)
    rectify_by = DayEndDateTime(
        required=True, metadata={"description": "a time, or a date alone: the end of that local day"}
    )
    refer_to_authorities = ma.fields.Boolean(load_default=False)


class InspectionCreate(ma.Schema):
    findings = required_text(2000)
    inspected_at = ma.fields.AwareDateTime()
    violation = ma.fields.Nested(ViolationCreate, allow_none=True)


class Reinspection(ma.Schema):
    rectified = ma.fields.Boolean(required=True)
    notes = required_text(2000)


class Acceptance(ma.Schema):
    passed = ma.fields.Boolean(required=True)
    notes = required_text(2000)
    close = ma.fields.Boolean(
        load_default=False, metadata={"description": "with passed=false: end the renovation as failed"}
    )


class ViolationOut(ma.Schema):
    id = ma.fields.String()
    renovation_id = ma.fields.String()
    inspection_id = ma.fields.String()
    category = enum_out(VIOLATION_CATEGORIES)
    severity = enum_out(VIOLATION_SEVERITIES)
    evidence = ma.fields.String()
    rectify_by = UtcDateTime()
    referred_to_authorities = ma.fields.Boolean()
    status = enum_out(VIOLATION_STATUSES)
    occurred_at = UtcDateTime()
    reinspected_at = UtcDateTime(allow_none=True)
    reinspection_notes = ma.fields.String(allow_none=True)


class InspectionOut(ma.Schema):
    id = ma.fields.String()
    renovation_id = ma.fields.String()
    inspected_at = UtcDateTime()
    inspector_id = ma.fields.String()
    inspector_name = ma.fields.String(dump_only=True, allow_none=True)
    findings = ma.fields.String()
    violations = ma.fields.List(ma.fields.Nested(ViolationOut))
    photos = ma.fields.List(ma.fields.Nested(PhotoOut), metadata={"description": "photos of the site (staff only)"})


class RenovationOut(ma.Schema):
    """Contractor and worker phones are masked; the permit appears once issued (after approval)."""

    id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    zone_name = ma.fields.String(dump_only=True, allow_none=True)
    community_id = ma.fields.String()
    applicant_id = ma.fields.String()
    applicant_name = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "masked: 张*"})
    contractor = ma.fields.Dict()
    workers = ma.fields.List(ma.fields.Dict())
    items = ma.fields.List(ma.fields.Dict())
    structural = ma.fields.Boolean()
    planned_start = ma.fields.Date()
    planned_end = ma.fields.Date()
    status = enum_out(RENOVATION_STATUSES)
    review_passed = ma.fields.Boolean(allow_none=True)
    review_notes = ma.fields.String(allow_none=True)
    rejection_reason = ma.fields.String(allow_none=True)
    approved_at = UtcDateTime(allow_none=True)
    permit = ma.fields.Dict(allow_none=True)
    deposit_waiver = ma.fields.Dict(allow_none=True)
    history = ma.fields.List(ma.fields.Dict())
    acceptance_notes = ma.fields.String(allow_none=True)
    completed_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class PermitIssue(ma.Schema):
    """`waive_deposit_reason`: a manager issues the permit although the deposit is not paid (recorded, audited)."""

    waive_deposit_reason = ma.fields.String(validate=ma.validate.Length(min=2, max=500))


class RenovationListArgs(PageArgs):
    community_id = ma.fields.String()
    unit_id = ma.fields.String()
    zone_id = ma.fields.String()
    status = ma.fields.String(validate=ma.validate.OneOf(RENOVATION_STATUSES))


RenovationPage = page_schema(RenovationOut, "RenovationPage")
