"""设施设备台账: a community's equipment, its location, makers, contractor, certificates, state and history."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound

from ..models import Equipment, EquipmentCertificate, MaintenanceOrder, Ticket, Zone
from . import people
from .projections import building_community
from .tickets import open_ticket

EQUIPMENT_KINDS = (
    "elevator",  # 电梯
    "escalator",  # 扶梯
    "water_pump",  # 水泵
    "fire_system",  # 消防系统
    "generator",  # 发电机
    "power_distribution",  # 配电
    "hvac",  # 空调暖通
    "gate",  # 道闸
    "access_control",  # 门禁
    "cctv",  # 监控
    "boiler",  # 锅炉
    "other",
)
EQUIPMENT_STATES = ("operating", "fault", "under_maintenance", "stopped", "retired")
CERTIFICATE_KINDS = (
    "elevator_annual_inspection",  # 电梯年检
    "special_equipment_registration",  # 特种设备使用登记
    "fire_inspection",  # 消防检测
    "pressure_vessel_inspection",  # 压力容器检验
    "other",
)
KEEPERS = ("admin", "engineer", "senior_butler", "cs_manager")  # keep the register, change the state
READERS = (*KEEPERS, "butler", "integrator")
# Who may report a fault of a piece of equipment (a repair ticket linked to it): the butlers walk past it too.
FAULT_REPORTERS = (*KEEPERS, "butler")
FIELDS = (
    "name",
    "code",
    "zone_id",
    "building_id",
    "floor",
    "room",
    "location_note",
    "maker",
    "model",
    "serial_number",
    "installed_on",
    "contractor",
)


def require(principal: Principal, roles: tuple[str, ...], what: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not {what}")


def _sees(principal: Principal, equipment: Equipment) -> bool:
    """Butlers the equipment of their zones and the community-wide pieces (no zone: the main gate, the pump room);
    the other readers every piece of their communities."""
    if principal.role not in READERS or not principal.sees_community(equipment.community_id):
        return False
    return equipment.zone_id is None or principal.sees_zone(equipment.community_id, equipment.zone_id)


def get(session: Session, principal: Principal, equipment_id: str, lock: bool = False) -> Equipment:
    query = select(Equipment).where(Equipment.id == equipment_id)
    found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if found is None or not _sees(principal, found):
        raise NotFound(f"equipment {equipment_id} not found")
    return found


def _check_zone(session: Session, community_id: str, zone_id: str | None) -> None:
    if zone_id:
        zone = session.get(Zone, zone_id)
        if zone is None or zone.community_id != community_id:
            raise Invalid("zone_id", "no such zone in this community")


def _check_building(session: Session, community_id: str, building_id: str | None, directory) -> None:
    if building_id and building_community(session, directory or people.People(), community_id, building_id) != (
        community_id
    ):
        raise Invalid("building_id", "no such building in this community")


def _save(session: Session, equipment: Equipment) -> Equipment:
    try:
        with session.begin_nested():
            session.add(equipment)
            session.flush()
    except IntegrityError:
        raise Invalid("code", "another piece of equipment of this community has this code") from None
    return equipment


def register(session: Session, principal: Principal, data: dict, now: datetime, directory=None) -> Equipment:
    require(principal, KEEPERS, "keep the equipment register")
    community_id = data["community_id"]
    if not principal.sees_community(community_id):
        raise Invalid("community_id", "not one of your communities")
    _check_zone(session, community_id, data.get("zone_id"))
    _check_building(session, community_id, data.get("building_id"), directory)
    equipment = Equipment(
        id=new_id(),
        community_id=community_id,
        kind=data["kind"],
        state=data.get("state") or "operating",
        state_changed_at=now,
        created_by=principal.subject,
        created_at=now,
        updated_at=now,
        **{name: data.get(name) for name in FIELDS},
    )
    return _save(session, equipment)


def update(
    session: Session, principal: Principal, equipment_id: str, data: dict, now: datetime, directory=None
) -> Equipment:
    """Change what the register says of it (location, maker, contractor, ...); the state has its own action."""
    require(principal, KEEPERS, "keep the equipment register")
    equipment = get(session, principal, equipment_id, lock=True)
    if "zone_id" in data:
        _check_zone(session, equipment.community_id, data["zone_id"])
    if "building_id" in data:
        _check_building(session, equipment.community_id, data["building_id"], directory)
    for name in FIELDS:
        if name in data:
            setattr(equipment, name, data[name])
    if "kind" in data:
        equipment.kind = data["kind"]
    equipment.updated_at = now
    return _save(session, equipment)


def set_state(session, settings, principal, equipment_id: str, data: dict, now: datetime) -> Equipment:
    """Operating, fault, under maintenance, stopped; retired is for good."""
    require(principal, KEEPERS, "change the state of equipment")
    equipment = get(session, principal, equipment_id, lock=True)
    if equipment.state == "retired":
        raise Conflict("the equipment is retired", extra={"current_status": "retired", "allowed_actions": []})
    equipment.state, equipment.state_note = data["state"], data.get("note")
    equipment.state_changed_at = equipment.updated_at = now
    return equipment


def visible(principal: Principal, filters: dict):
    query = select(Equipment).order_by(Equipment.community_id, Equipment.kind, Equipment.name, Equipment.id)
    if principal.role not in READERS:
        return query.where(Equipment.id.is_(None))
    if not principal.instance_wide:
        query = query.where(Equipment.community_id.in_(principal.communities or ("",)))
    if principal.role == "butler":
        query = query.where(or_(Equipment.zone_id.is_(None), Equipment.zone_id.in_(principal.zones or ("",))))
    for name in ("community_id", "kind", "state", "building_id", "zone_id"):
        if filters.get(name):
            query = query.where(getattr(Equipment, name) == filters[name])
    return query


def add_certificate(session, settings, principal, equipment_id: str, data: dict, now: datetime) -> Equipment:
    require(principal, KEEPERS, "keep the equipment register")
    equipment = get(session, principal, equipment_id, lock=True)
    if data.get("issued_on") and data["issued_on"] > data["expires_on"]:
        raise Invalid("expires_on", "before the date of issue")
    session.add(
        EquipmentCertificate(
            id=new_id(),
            equipment_id=equipment.id,
            community_id=equipment.community_id,
            kind=data["kind"],
            number=data.get("number"),
            issued_on=data.get("issued_on"),
            expires_on=data["expires_on"],
            created_at=now,
        )
    )
    equipment.updated_at = now
    session.flush()
    return equipment


def certificates(session: Session, equipment_id: str) -> list[EquipmentCertificate]:
    query = select(EquipmentCertificate).where(EquipmentCertificate.equipment_id == equipment_id)
    return list(session.execute(query.order_by(EquipmentCertificate.expires_on)).scalars())


def expiring(session: Session, principal: Principal, community_id: str, today: date, within_days: int) -> list:
    """Certificates of a community's equipment (not retired) expired or expiring within `within_days`."""
    if principal.role not in READERS or not principal.sees_community(community_id):
        raise NotFound(f"community {community_id} not found")
    query = (
        select(EquipmentCertificate, Equipment)
        .join(Equipment, Equipment.id == EquipmentCertificate.equipment_id)
        .where(
            EquipmentCertificate.community_id == community_id,
            EquipmentCertificate.expires_on <= today + timedelta(days=within_days),
            Equipment.state != "retired",
        )
        .order_by(EquipmentCertificate.expires_on, EquipmentCertificate.id)
    )
    return [
        {
            **certificate_out(certificate, today),
            "equipment_id": equipment.id,
            "equipment_name": equipment.name,
            "equipment_kind": equipment.kind,
        }
        for certificate, equipment in session.execute(query)
    ]


def certificate_out(certificate: EquipmentCertificate, today: date) -> dict:
    columns = {c.name: getattr(certificate, c.name) for c in EquipmentCertificate.__table__.columns}
    return {**columns, "days_left": (certificate.expires_on - today).days}


def out(session: Session, equipment: Equipment, today: date) -> dict:
    columns = {c.name: getattr(equipment, c.name) for c in Equipment.__table__.columns}
    return {**columns, "certificates": [certificate_out(c, today) for c in certificates(session, equipment.id)]}


def report_fault(session, settings, principal, equipment_id: str, data: dict, now: datetime) -> Ticket:
    """A fault of the equipment: a repair ticket in its zone, for engineering, linked to it (its history)."""
    require(principal, FAULT_REPORTERS, "report faults of equipment")
    equipment = get(session, principal, equipment_id)
    if (
        principal.role == "butler"
        and equipment.zone_id
        and not principal.sees_zone(equipment.community_id, equipment.zone_id)
    ):
        raise NotFound(f"equipment {equipment_id} not found")
    return fault_ticket(session, settings, equipment, principal.subject, data, now)


def fault_ticket(session, settings, equipment: Equipment, actor: str, data: dict, now: datetime) -> Ticket:
    return open_ticket(
        session,
        settings,
        actor=actor,
        now=now,
        default_department="engineering",
        community_id=equipment.community_id,
        zone_id=equipment.zone_id,
        unit_id=None,
        location="public_area",
        category="repair",
        subcategory=f"equipment_{equipment.kind}",
        priority=data.get("priority") or "normal",
        channel=data.get("channel") or "phone",
        description=f"{equipment.name}：{data['description']}",
        reporter_id=None,
        equipment_id=equipment.id,
    )


def history(session: Session, principal: Principal, equipment_id: str) -> dict:
    """Its repair tickets and maintenance orders, newest first."""
    equipment = get(session, principal, equipment_id)
    tickets = session.execute(
        select(Ticket).where(Ticket.equipment_id == equipment.id).order_by(Ticket.created_at.desc(), Ticket.id)
    ).scalars()
    orders = session.execute(
        select(MaintenanceOrder)
        .where(MaintenanceOrder.equipment_id == equipment.id)
        .order_by(MaintenanceOrder.due_on.desc(), MaintenanceOrder.id)
        .limit(200)
    ).scalars()
    return {"equipment_id": equipment.id, "tickets": list(tickets), "maintenance": list(orders)}
