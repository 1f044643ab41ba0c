"""Residents: owners, tenants and family; personal data masked per role; search; contacts for other services."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal, require_role
from guanjia.db import new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound
from guanjia.logging import current_request_id
from guanjia.pii import (
    decrypt_pii,
    encrypt_pii,
    mask_id_card,
    mask_name,
    mask_phone,
    normalize_id_card,
    normalize_phone,
    pii_lookup_hash,
)

from .. import events
from ..models import Building, Community, PiiDisclosure, Resident, Unit, Zone
from .common import (
    FRONT_DESK,
    LOCALE,
    emit,
    keep_households,
    load_resident,
    load_unit,
    resident_event_data,
    resident_scope,
    residents_query,
)


def seal_id_number(settings, number: str | None) -> tuple[str | None, str | None]:
    """(ciphertext, lookup hash) of a normalised ID number; (None, None) for none."""
    if not number:
        return None, None
    return encrypt_pii(settings.pii_key, number), pii_lookup_hash(settings.pii_key, number)


def register_resident(session: Session, settings, principal: Principal, data: dict, now: datetime) -> Resident:
    require_role(principal, *FRONT_DESK)
    unit = load_unit(session, principal, data["unit_id"], field="unit_id")
    phone = data["phone"]
    twin = select(Resident.id).where(
        Resident.unit_id == unit.id, Resident.phone == phone, Resident.status != "moved_out"
    )
    if session.execute(twin).first():
        raise Conflict("this phone number is already registered in this unit", errors={"phone": ["already registered"]})
    enc, digest = seal_id_number(settings, data.get("id_number"))
    emergency = data.get("emergency_contact") or {}
    resident = Resident(
        id=new_id(),
        community_id=unit.community_id,
        unit_id=unit.id,
        name=data["name"].strip(),
        phone=phone,
        role=data["role"],
        status="registered",
        moved_in_at=None,
        created_at=now,
        updated_at=now,
        id_number_enc=enc,
        id_number_hash=digest,
        emergency_name=emergency.get("name"),
        emergency_phone=emergency.get("phone"),
        tags=sorted(set(data.get("tags") or [])),
        notes=data.get("notes"),
        sms_opt_out=bool(data.get("sms_opt_out", False)),
    )
    session.add(resident)
    keep_households(session, unit.community_id, [unit.id])
    emit(
        session,
        settings,
        events.RESIDENT_REGISTERED,
        f"resident/{resident.id}",
        resident.community_id,
        resident_event_data(resident),
    )
    return resident


# A resident may keep these of their own record current; everything else goes through the front desk.
SELF_SERVICE = {"emergency_contact", "sms_opt_out"}


def update_resident(
    session: Session, settings, principal: Principal, resident_id: str, data: dict, now: datetime
) -> Resident:
    """Change a resident's record; publishes resident.updated (ids and role/status only) when something changed."""
    resident = load_resident(session, principal, resident_id, lock=True)
    if principal.role == "resident":
        if principal.resident_id != resident.id or set(data) - SELF_SERVICE:
            raise Forbidden("residents may change only their own emergency contact and SMS opt-out")
    else:
        require_role(principal, *FRONT_DESK)
    if resident.status == "moved_out" and principal.role != "admin":
        raise Conflict("a moved-out resident's record is kept as it was", errors={"resident_id": ["moved out"]})
    values = {}
    for name in ("name", "phone", "role", "notes", "sms_opt_out"):
        if name in data:
            values[name] = data[name].strip() if name == "name" else data[name]
    if "tags" in data:
        values["tags"] = sorted(set(data["tags"] or []))
    if "emergency_contact" in data:
        emergency = data["emergency_contact"] or {}
        values["emergency_name"] = emergency.get("name")
        values["emergency_phone"] = emergency.get("phone")
    if "id_number" in data:
        current = decrypt_pii(settings.pii_key, resident.id_number_enc) if resident.id_number_enc else None
        if data["id_number"] != current:
            values["id_number_enc"], values["id_number_hash"] = seal_id_number(settings, data["id_number"])
    changed = {k: v for k, v in values.items() if getattr(resident, k) != v}
    if not changed:
        return resident
    if "phone" in changed:
        twin = select(Resident.id).where(
            Resident.unit_id == resident.unit_id,
            Resident.phone == changed["phone"],
            Resident.status != "moved_out",
            Resident.id != resident.id,
        )
        if session.execute(twin).first():
            raise Conflict(
                "this phone number is already registered in this unit", errors={"phone": ["already registered"]}
            )
    for name, value in changed.items():
        setattr(resident, name, value)
    resident.updated_at = now
    session.flush()
    emit(
        session,
        settings,
        events.RESIDENT_UPDATED,
        f"resident/{resident.id}",
        resident.community_id,
        resident_event_data(resident),
    )
    return resident


# Roles that see residents' names, phones and ID numbers in clear in lists (resident_view). Nobody does today: staff
# see them masked and reveal one person at a time through /personal-data (recorded). A role added here keeps the
# full search; every other caller may look a person up only by an exact phone or ID number (recorded).
CLEAR_LIST_ROLES: frozenset[str] = frozenset()
# Searches that name one person exactly: allowed to every role, and recorded as a disclosure of whom they found.
LOOKUPS = ("phone", "id_number")
AUDIT_SEARCH = "personal_data.searched"


def sees_clear_lists(principal: Principal) -> bool:
    return principal.role in CLEAR_LIST_ROLES


def search_kind(settings, q: str) -> tuple[str, object]:
    """What `q` means, and the condition it becomes: ("phone" | "id_number" | "text", condition).

    A phone or ID number matches by equality only (the ID number by its lookup hash), so the search stays an index
    lookup over any number of rows. Anything else is text: a unit number, or a name fragment.
    """
    q = q.strip()
    digits = q.replace(" ", "").replace("-", "")
    if digits.lstrip("+").isdigit() and len(digits) >= 11:
        try:
            return "phone", Resident.phone == normalize_phone(digits)
        except Invalid:
            pass
    if len(digits) == 18:
        try:
            return "id_number", Resident.id_number_hash == pii_lookup_hash(settings.pii_key, normalize_id_card(digits))
        except Invalid:
            pass
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    units = select(Unit.id).where(Unit.number == q)
    return "text", or_(Resident.name.like(f"%{escaped}%", escape="\\"), Resident.unit_id.in_(units))


def search_condition(settings, q: str, principal: Principal | None = None):
    """The condition `q` becomes for this caller. A caller who sees names masked may search by an exact phone or ID
    number, or a unit number, never by a name fragment: a prefix search would recover `张伟A` from `张**`."""
    kind, condition = search_kind(settings, q)
    if kind != "text" or principal is None or sees_clear_lists(principal):
        return condition
    q = q.strip()
    if not looks_like_unit_number(q):
        raise Invalid(
            "q",
            "names are masked for your role: search by the full phone number, ID number or unit number",
        )
    return Resident.unit_id.in_(select(Unit.id).where(Unit.number == q))


def looks_like_unit_number(q: str) -> bool:
    """Does `q` look like a unit number (1-101, 3-2-1203, B101), never like a name? Decided without the database."""
    return bool(q) and any(c.isdigit() for c in q) and all(c.isascii() and (c.isalnum() or c in "-#") for c in q)


def record_lookup(session: Session, principal: Principal, found, kind: str, now) -> list[str]:
    """A search by exact phone or ID number tells the caller who that person is: each match is a disclosure."""
    if kind not in LOOKUPS or sees_clear_lists(principal):
        return []
    ids = []
    for resident in found:
        if principal.role == "resident" and resident.id == principal.resident_id:
            continue  # finding oneself discloses nothing
        _disclosed(session, principal, resident.id, f"search:{kind}", now)
        ids.append(resident.id)
    return ids


def _disclosed(session: Session, principal: Principal, resident_id: str, fields: str, now) -> None:
    """Record that `principal` saw `fields` of this resident's personal data (listed at /disclosures)."""
    session.add(
        PiiDisclosure(
            id=new_id(),
            resident_id=resident_id,
            actor_id=principal.subject,
            actor_role=principal.role,
            fields=fields,
            request_id=current_request_id(),
            at=now,
        )
    )


def audit_header(action: str, resident_ids) -> dict:
    """The header by which the gateway records, in its audit log, whose personal data this answer disclosed."""
    return {"X-Guanjia-Audit": "; ".join([action, *(f"target=resident/{rid}" for rid in resident_ids)])}


def list_residents(settings, principal: Principal, filters: dict):
    query = resident_scope(residents_query().order_by(Resident.created_at, Resident.id), principal)
    for name in ("unit_id", "community_id", "status", "role"):
        if filters.get(name):
            query = query.where(getattr(Resident, name) == filters[name])
    if filters.get("zone_id"):
        query = query.where(Unit.zone_id == filters["zone_id"])
    if filters.get("tag"):
        # JSON list stored as text on both databases: the quoted tag is an exact element match.
        query = query.where(cast(Resident.tags, String).like(f'%"{filters["tag"]}"%'))
    if filters.get("q"):
        query = query.where(search_condition(settings, filters["q"], principal))
    return query


def get_resident(session: Session, principal: Principal, resident_id: str) -> Resident:
    return load_resident(session, principal, resident_id)


def sees_in_clear(principal: Principal, resident: Resident) -> bool:
    return principal.role == "resident" and principal.resident_id == resident.id


def resident_view(settings, principal: Principal, resident: Resident) -> dict:
    """The record as this caller may see it: personal data in clear only for the resident themself.

    Staff, admin, integrators and other services see `张**` / `138****8000` / `1101**********002X`; a service
    that must contact the person asks the internal contact endpoint instead.
    """
    own = sees_in_clear(principal, resident)
    id_number = decrypt_pii(settings.pii_key, resident.id_number_enc) if resident.id_number_enc else None
    emergency = None
    if resident.emergency_name or resident.emergency_phone:
        emergency = {
            "name": resident.emergency_name if own else mask_name(resident.emergency_name),
            "phone": resident.emergency_phone if own else mask_phone(resident.emergency_phone),
        }
    return {
        "id": resident.id,
        "community_id": resident.community_id,
        "unit_id": resident.unit_id,
        "name": resident.name if own else mask_name(resident.name),
        "phone": resident.phone if own else mask_phone(resident.phone),
        "id_number": id_number if own else mask_id_card(id_number),
        "role": resident.role,
        "status": resident.status,
        "emergency_contact": emergency,
        "tags": resident.tags or [],
        # Free notes are the staff's working notes about the household, not shown to the resident.
        "notes": None if principal.role == "resident" else resident.notes,
        "sms_opt_out": bool(resident.sms_opt_out),
        "moved_in_at": resident.moved_in_at,
        "moved_out_at": resident.moved_out_at,
        "created_at": resident.created_at,
        "updated_at": resident.updated_at or resident.created_at,
    }


# --- for other services (role `service` only) -----------------------------------------------------------------


def resident_contact(session: Session, principal: Principal, resident_id: str) -> dict:
    """Unmasked contact details, for a service that must reach the person now (notifications)."""
    require_role(principal, "service")
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound(f"resident {resident_id} not found")
    return _reach(resident)


def resident_contacts(session: Session, principal: Principal, resident_ids: list[str]) -> dict:
    """`resident_contact` of several residents in one query (notifications, about to send a batch): an unknown id
    is left out."""
    require_role(principal, "service")
    found = session.execute(select(Resident).where(Resident.id.in_(set(resident_ids)))).scalars()
    return {"contacts": [_reach(resident) for resident in found]}


def _reach(resident: Resident) -> dict:
    return {
        "resident_id": resident.id,
        "unit_id": resident.unit_id,
        "community_id": resident.community_id,
        "name": resident.name,
        "phone": resident.phone,
        "locale": LOCALE,
    }


def occupancy(session: Session, principal: Principal, resident_id: str) -> dict:
    """The current stays of the person behind this record (the same phone, not moved out): what a token carries.

    A moved-out record gives no stay, so a token issued or refreshed after the move-out opens nothing of the
    household. The gateway keeps only the stays in units the account was given (same phone is not enough)."""
    require_role(principal, "service")
    own = session.get(Resident, resident_id)
    if own is None:
        raise NotFound(f"resident {resident_id} not found")
    query = select(Resident).where(Resident.phone == own.phone, Resident.status != "moved_out")
    current = list(session.execute(query.order_by(Resident.created_at, Resident.id)).scalars())
    # Their own record first when it is current; else the person's other current record (moved-in first).
    current.sort(key=lambda r: (r.id != own.id, r.status != "moved_in"))
    return {
        "resident_id": own.id,
        "status": own.status,
        "stays": [
            {"resident_id": r.id, "unit_id": r.unit_id, "community_id": r.community_id, "status": r.status}
            for r in current
        ],
    }


def _contact(resident: Resident) -> dict:
    return {
        "resident_id": resident.id,
        "unit_id": resident.unit_id,
        "name": resident.name,
        "phone": resident.phone,
        "role": resident.role,
        "locale": LOCALE,
        "opted_out": bool(resident.sms_opt_out),
    }


def unit_contacts(session: Session, principal: Principal, unit_id: str, roles: list[str] | None) -> dict:
    """The people of a unit to tell about it (current residents, not those who moved out)."""
    require_role(principal, "service")
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    query = select(Resident).where(Resident.unit_id == unit.id, Resident.status != "moved_out")
    if roles:
        query = query.where(Resident.role.in_(roles))
    people = session.execute(query.order_by(Resident.created_at, Resident.id)).scalars()
    return {"unit_id": unit.id, "community_id": unit.community_id, "contacts": [_contact(r) for r in people]}


def residents_by_phone(session: Session, principal: Principal, phone: str) -> dict:
    """Every current record with this phone (one person may live in two units): for the gateway's SMS sign-in."""
    require_role(principal, "service")
    query = select(Resident).where(Resident.phone == phone, Resident.status != "moved_out")
    found = session.execute(query.order_by(Resident.created_at, Resident.id)).scalars()
    return {
        "items": [
            {"resident_id": r.id, "unit_id": r.unit_id, "community_id": r.community_id, "status": r.status}
            for r in found
        ]
    }


def community_recipients(
    session: Session, principal: Principal, community_id: str, scope: str, target_id: str | None
) -> dict:
    """Current residents of a whole community, one building or one zone: the audience of a notice."""
    require_role(principal, "service")
    if session.get(Community, community_id) is None:
        raise NotFound(f"community {community_id} not found")
    query = (
        select(Resident)
        .join(Unit, Unit.id == Resident.unit_id)
        .where(Resident.community_id == community_id, Resident.status != "moved_out")
    )
    if scope in ("building", "zone"):
        if not target_id:
            raise Invalid("target_id", f"required for scope {scope}")
        model, column = (Building, Unit.building_id) if scope == "building" else (Zone, Unit.zone_id)
        target = session.get(model, target_id)
        if target is None or target.community_id != community_id:
            raise Invalid("target_id", f"no such {scope} in this community")
        query = query.where(column == target_id)
    people = session.execute(query.order_by(Resident.unit_id, Resident.created_at, Resident.id)).scalars()
    return {"community_id": community_id, "scope": scope, "contacts": [_contact(r) for r in people]}


# --- personal data in clear, for staff who must reach the person (recorded) ------------------------------------

# Butlers call and visit their households; managers also verify identities (ID numbers).
REVEAL_CONTACT = FRONT_DESK
REVEAL_ID_NUMBER = ("admin", "senior_butler", "cs_manager")


def reveal(session: Session, settings, principal: Principal, resident_id: str, now) -> dict:
    """The resident's contact details (and ID number for managers) in clear; each disclosure is recorded."""
    require_role(principal, *REVEAL_CONTACT)
    resident = load_resident(session, principal, resident_id)
    with_id = principal.role in REVEAL_ID_NUMBER
    fields = ["name", "phone", "emergency_contact"] + (["id_number"] if with_id else [])
    _disclosed(session, principal, resident.id, ",".join(fields), now)
    id_number = None
    if resident.id_number_enc:
        id_number = decrypt_pii(settings.pii_key, resident.id_number_enc)
        id_number = id_number if with_id else mask_id_card(id_number)
    emergency = None
    if resident.emergency_name or resident.emergency_phone:
        emergency = {"name": resident.emergency_name, "phone": resident.emergency_phone}
    return {
        "resident_id": resident.id,
        "name": resident.name,
        "phone": resident.phone,
        "emergency_contact": emergency,
        "id_number": id_number,
    }


def disclosures(session: Session, principal: Principal, resident_id: str) -> list[PiiDisclosure]:
    """Who saw this resident's personal data in clear (managers)."""
    require_role(principal, "admin", "senior_butler", "cs_manager")
    load_resident(session, principal, resident_id)
    query = select(PiiDisclosure).where(PiiDisclosure.resident_id == resident_id)
    return list(session.execute(query.order_by(PiiDisclosure.at.desc(), PiiDisclosure.id)).scalars())
