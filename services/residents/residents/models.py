"""Tables of the residents database: property structure, residents, occupancy, everyday affairs, renovations."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from guanjia.db import UtcDateTime
from guanjia.idempotency import define_idempotency
from guanjia.inbox import define_inbox
from guanjia.outbox import define_outbox


class Base(DeclarativeBase):
    pass


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)
idempotency_keys = define_idempotency(Base.metadata)


class Community(Base):
    __tablename__ = "communities"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Permitted renovation working hours, printed on every permit: "08:00-12:00,14:00-18:00".
    renovation_hours: Mapped[str | None] = mapped_column(String(100))
    # Whether a renovation permit waits for the deposit to be paid (companies differ; the default is yes).
    deposit_before_permit: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Whether a unit's handover (交付) waits while it has open new-building acceptance defects (the default is no).
    hold_handover_on_defects: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class Zone(Base):
    """片区: a part of a community looked after by one or more butlers (gateway user ids)."""

    __tablename__ = "zones"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    butler_ids: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Building(Base):
    __tablename__ = "buildings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    zone_id: Mapped[str | None] = mapped_column(String(36))  # new units take their building's zone


class Unit(Base):
    __tablename__ = "units"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Denormalised from the building: every scope check and list filter is by community (and zone).
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id"))
    number: Mapped[str] = mapped_column(String(20))
    floor: Mapped[int] = mapped_column(Integer)
    area_m2: Mapped[Decimal] = mapped_column(Numeric(10, 2))  # gross area (建筑面积)
    status: Mapped[str] = mapped_column(String(20))  # vacant | delivered | occupied | renovating
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    zone_id: Mapped[str | None] = mapped_column(String(36), index=True)
    unit_type: Mapped[str] = mapped_column(String(20), server_default="residential")
    inner_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # 套内面积
    handed_over_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The unit's latest contact and latest effective one (contact_logs, kept by log_contact as the later of the
    # two, for contacts may be backdated): "contacted in the last N days" reads one row a unit, not the log.
    last_contacted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_effective_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # A household: the unit has a resident who has not moved out (kept by domain.common.keep_households wherever
    # residents are added, move out or are removed), so the familiarity figures read the units alone.
    household: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    __table_args__ = (UniqueConstraint("building_id", "number", name="uq_units_building_number"),)


class UnitStatusChange(Base):
    """Every change of a unit's status, with the flow that made it (the status changes only through flows)."""

    __tablename__ = "unit_status_changes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class Resident(Base):
    __tablename__ = "residents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"))
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(20))  # E.164, validated by guanjia.pii.normalize_phone
    role: Mapped[str] = mapped_column(String(20))  # owner | tenant | family
    status: Mapped[str] = mapped_column(String(20))  # registered | moved_in | moved_out
    moved_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    moved_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # AES-GCM ciphertext (guanjia.pii.encrypt_pii) and a keyed lookup hash for search; never the number itself.
    id_number_enc: Mapped[str | None] = mapped_column(Text)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    emergency_name: Mapped[str | None] = mapped_column(String(100))
    emergency_phone: Mapped[str | None] = mapped_column(String(20))
    tags: Mapped[list | None] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    sms_opt_out: Mapped[bool] = mapped_column(Boolean, server_default="0")

    __table_args__ = (
        Index("ix_residents_community_created", "community_id", "created_at"),
        Index("ix_residents_unit", "unit_id"),
        Index("ix_residents_phone", "phone"),
        Index("ix_residents_community_name", "community_id", "name"),
    )


class Handover(Base):
    """交付/入伙: the keys of a unit handed to its owner."""

    __tablename__ = "handovers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("residents.id"))
    handed_over_at: Mapped[datetime] = mapped_column(UtcDateTime())
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))


class MovingAppointment(Base):
    __tablename__ = "moving_appointments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"))
    kind: Mapped[str] = mapped_column(String(20))  # move_in | move_out
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime())
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReleasePass(Base):
    """放行条: goods leaving the community, authorised by a member of the household."""

    __tablename__ = "release_passes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"))
    carrier_name: Mapped[str] = mapped_column(String(100))
    items: Mapped[str] = mapped_column(Text)
    valid_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # issued | used | cancelled
    issued_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ResidentCard(Base):
    """住户卡: issued, reported lost, revoked."""

    __tablename__ = "resident_cards"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    card_number: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(20))  # active | lost | revoked
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Key(Base):
    """钥匙托管: a unit's key in the property office's custody, with who may collect it."""

    __tablename__ = "keys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    authorized: Mapped[list] = mapped_column(JSON)  # [{name, phone, resident_id?}]
    status: Mapped[str] = mapped_column(String(20))  # in_custody | lent
    deposited_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(100))


class KeyLoan(Base):
    __tablename__ = "key_loans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("keys.id"), index=True)
    borrower_name: Mapped[str] = mapped_column(String(100))
    borrower_phone: Mapped[str | None] = mapped_column(String(20))
    borrower_resident_id: Mapped[str | None] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(Text)
    lent_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_back_at: Mapped[datetime] = mapped_column(UtcDateTime())
    returned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lent_by: Mapped[str] = mapped_column(String(100))


class VacancyCheck(Base):
    """空置房巡查: a periodic look inside a vacant unit."""

    __tablename__ = "vacancy_checks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    checked_by: Mapped[str] = mapped_column(String(100))
    issues_found: Mapped[bool] = mapped_column(Boolean)
    findings: Mapped[str] = mapped_column(Text)


class ContactLog(Base):
    """入户走访 and calls: the butler's contact with a household."""

    __tablename__ = "contact_logs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(20))  # visit | call | message
    effective: Mapped[bool] = mapped_column(Boolean)
    contacted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    staff_id: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_contact_logs_unit_time", "unit_id", "contacted_at"),)


class Renovation(Base):
    """装修申请 → review → approval (permit) → inspections → acceptance."""

    __tablename__ = "renovations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("residents.id"))
    contractor: Mapped[dict] = mapped_column(JSON)
    workers: Mapped[list] = mapped_column(JSON)
    items: Mapped[list] = mapped_column(JSON)
    structural: Mapped[bool] = mapped_column(Boolean)
    planned_start: Mapped[date] = mapped_column(Date)
    planned_end: Mapped[date] = mapped_column(Date)
    # submitted | reviewed | approved | rejected | completed | failed
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    review_passed: Mapped[bool | None] = mapped_column(Boolean)
    review_notes: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    permit_number: Mapped[str | None] = mapped_column(String(40))
    permit_hours: Mapped[str | None] = mapped_column(String(100))
    permit_issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    permit_issued_by: Mapped[str | None] = mapped_column(String(100))
    # A manager's waiver of the paid-deposit rule for this permit: who, when and why (the audit trail).
    deposit_waived_by: Mapped[str | None] = mapped_column(String(100))
    deposit_waived_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    deposit_waiver_reason: Mapped[str | None] = mapped_column(Text)
    unit_status_before: Mapped[str | None] = mapped_column(String(20))
    acceptance_notes: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Inspection(Base):
    __tablename__ = "renovation_inspections"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    renovation_id: Mapped[str] = mapped_column(ForeignKey("renovations.id"), index=True)
    inspected_at: Mapped[datetime] = mapped_column(UtcDateTime())
    inspector_id: Mapped[str] = mapped_column(String(100))
    findings: Mapped[str] = mapped_column(Text)


class Photo(Base):
    """A photo of a renovation site inspection or of a vacancy check: metadata and the key under which the file
    store (GUANJIA_RESIDENTS_FILES_DIR) keeps it."""

    __tablename__ = "photos"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20))  # inspection | vacancy_check
    subject_id: Mapped[str] = mapped_column(String(36))
    storage_key: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_photos_subject", "subject_kind", "subject_id", "created_at"),)


class Violation(Base):
    __tablename__ = "renovation_violations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    renovation_id: Mapped[str] = mapped_column(ForeignKey("renovations.id"), index=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("renovation_inspections.id"))
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20))  # minor | serious
    evidence: Mapped[str] = mapped_column(Text)
    rectify_by: Mapped[datetime] = mapped_column(UtcDateTime())
    referred_to_authorities: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))  # open | rectified
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reinspected_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reinspection_notes: Mapped[str | None] = mapped_column(Text)


class RecordCorrection(Base):
    """An audited correction of a resident record: a removal, a merge of a duplicate, a note on a moved-out record.

    Kept after the record itself is gone; holds ids, the reason and who did it — no name, no phone number."""

    __tablename__ = "record_corrections"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    unit_id: Mapped[str] = mapped_column(String(36))
    resident_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(20))  # removed | merged | noted
    into_resident_id: Mapped[str | None] = mapped_column(String(36), index=True)
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class PiiDisclosure(Base):
    """Every time staff asked to see a resident's personal data in clear: who, whose, what, when."""

    __tablename__ = "pii_disclosures"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    actor_id: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(20))
    fields: Mapped[str] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class ButlerCover(Base):
    """A stand-in's cover of an absent butler's zones (代岗), projected from staff.absence_started/_ended: the
    butler's zones stay theirs; the stand-in is named for them only between starts_at and ends_at."""

    __tablename__ = "butler_covers"
    absence_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    butler_id: Mapped[str] = mapped_column(String(36))
    stand_in_id: Mapped[str] = mapped_column(String(36), index=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class AcceptanceDefect(Base):
    """A defect found at a unit's new-building acceptance (tickets), projected from acceptance.defect_opened /
    acceptance.defect_closed: while one is open, the unit's handover waits where the community says so."""

    __tablename__ = "acceptance_defects"
    defect_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(36), index=True)
    community_id: Mapped[str] = mapped_column(String(36))
    category: Mapped[str] = mapped_column(String(30))
    item: Mapped[str] = mapped_column(String(200))
    responsible_party: Mapped[str] = mapped_column(String(20))
    rectify_by: Mapped[str] = mapped_column(String(10))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)  # once closed, closed
