"""Everyday affairs: resident cards, keys in custody, vacant-unit checks, home visits and contact coverage."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, literal, or_, select, update
from sqlalchemy.orm import Session

from guanjia.auth import Principal, require_role
from guanjia.db import UtcDateTime, as_utc, new_id
from guanjia.errors import Conflict, Invalid, NotFound
from guanjia.pii import mask_name, mask_phone

from ..models import Building, ContactLog, Key, KeyLoan, Resident, ResidentCard, Unit, VacancyCheck, Zone
from .common import FRONT_DESK, load_resident, load_unit, since_move_in, unit_scope
from .structure import get_community, get_zone, visible_zones

# The seeds' targets for a zone: households contacted at all (familiarity), and reached in a real conversation.
FAMILIARITY_TARGET = 0.95
EFFECTIVE_TARGET = 0.60
VACANT = ("vacant", "delivered")


# --- resident cards --------------------------------------------------------------------------------------------


def issue_card(session: Session, principal: Principal, resident_id: str, data: dict, now: datetime) -> ResidentCard:
    require_role(principal, *FRONT_DESK)
    resident = load_resident(session, principal, resident_id)
    if resident.status == "moved_out":
        raise Invalid("resident_id", "has moved out")
    number = data["card_number"].strip()
    taken = select(ResidentCard.id).where(ResidentCard.card_number == number, ResidentCard.status == "active")
    if session.execute(taken).first():
        raise Conflict(f"card {number} is already active", errors={"card_number": ["already active"]})
    card = ResidentCard(id=new_id(), resident_id=resident.id, card_number=number, status="active", issued_at=now)
    session.add(card)
    session.flush()
    return card


def list_cards(session: Session, principal: Principal, resident_id: str) -> list[ResidentCard]:
    load_resident(session, principal, resident_id)
    query = select(ResidentCard).where(ResidentCard.resident_id == resident_id)
    return list(session.execute(query.order_by(ResidentCard.issued_at)).scalars())


def change_card(
    session: Session, principal: Principal, resident_id: str, card_id: str, to_status: str, now: datetime
) -> ResidentCard:
    """active → lost (the resident may report their own) or → revoked; a lost card can still be revoked."""
    resident = load_resident(session, principal, resident_id)
    if not (to_status == "lost" and principal.role == "resident" and principal.resident_id == resident.id):
        require_role(principal, *FRONT_DESK)
    card = session.get(ResidentCard, card_id)
    if card is None or card.resident_id != resident.id:
        raise NotFound(f"card {card_id} not found")
    allowed = {"lost": ("active",), "revoked": ("active", "lost")}[to_status]
    if card.status not in allowed:
        raise Conflict(f"a {card.status} card cannot be marked {to_status}")
    card.status, card.status_changed_at = to_status, now
    session.flush()
    return card


# --- keys in custody -------------------------------------------------------------------------------------------


def deposit_key(session: Session, principal: Principal, unit_id: str, data: dict, now: datetime) -> Key:
    """The household leaves a key with the office, naming who may collect it (residents of the unit or others)."""
    require_role(principal, *FRONT_DESK)
    unit = load_unit(session, principal, unit_id)
    authorized = []
    for index, person in enumerate(data["authorized"]):
        if person.get("resident_id"):
            resident = session.get(Resident, person["resident_id"])
            if resident is None or resident.unit_id != unit.id:
                raise Invalid(f"authorized.{index}.resident_id", "not a resident of this unit")
            authorized.append({"resident_id": resident.id, "name": resident.name, "phone": resident.phone})
        elif person.get("name") and person.get("phone"):
            authorized.append({"resident_id": None, "name": person["name"].strip(), "phone": person["phone"]})
        else:
            raise Invalid(f"authorized.{index}", "a resident_id, or a name and a phone")
    key = Key(
        id=new_id(),
        unit_id=unit.id,
        label=data["label"].strip(),
        authorized=authorized,
        status="in_custody",
        deposited_at=now,
        recorded_by=principal.subject,
    )
    session.add(key)
    session.flush()
    return key


def _load_key(session: Session, principal: Principal, unit_id: str, key_id: str, lock=False) -> Key:
    query = unit_scope(select(Key).join(Unit, Unit.id == Key.unit_id).where(Key.id == key_id), principal)
    if lock:
        query = query.with_for_update(of=Key)
    key = session.execute(query).scalar_one_or_none()
    if key is None or key.unit_id != unit_id:
        raise NotFound(f"key {key_id} not found")
    return key


def open_loan(session: Session, key: Key) -> KeyLoan | None:
    query = select(KeyLoan).where(KeyLoan.key_id == key.id, KeyLoan.returned_at.is_(None))
    return session.execute(query).scalar_one_or_none()


# Who hands keys out: they check the collector against the list, so they read the names (phones stay masked).
KEY_DESK = FRONT_DESK


def _collector(principal: Principal, person: dict) -> dict:
    """One person allowed to collect a key, masked like a resident for everyone but the key desk and the person."""
    own = principal.role == "resident" and person.get("resident_id") and person["resident_id"] == principal.resident_id
    return {
        "resident_id": person.get("resident_id"),
        "name": person.get("name") if own or principal.role in KEY_DESK else mask_name(person.get("name")),
        "phone": person.get("phone") if own else mask_phone(person.get("phone")),
    }


def loan_view(principal: Principal, loan: KeyLoan | None) -> dict | None:
    if loan is None:
        return None
    borrower = _collector(principal, {"resident_id": loan.borrower_resident_id, "name": loan.borrower_name})
    return {
        "id": loan.id,
        "borrower_name": borrower["name"],
        "borrower_resident_id": loan.borrower_resident_id,
        "reason": loan.reason,
        "lent_at": loan.lent_at,
        "due_back_at": loan.due_back_at,
        "returned_at": loan.returned_at,
    }


def key_view(principal: Principal, key: Key, loan: KeyLoan | None) -> dict:
    """A key in custody as this caller may see it: family members and integrators see `张**` / `138****8000`."""
    return {
        "id": key.id,
        "unit_id": key.unit_id,
        "label": key.label,
        "status": key.status,
        "authorized": [_collector(principal, p) for p in key.authorized],
        "deposited_at": key.deposited_at,
        "loan": loan_view(principal, loan),
    }


def list_keys(session: Session, principal: Principal, unit_id: str) -> list[tuple[Key, KeyLoan | None]]:
    load_unit(session, principal, unit_id)
    query = since_move_in(select(Key).where(Key.unit_id == unit_id), principal, unit_id, Key.deposited_at)
    keys = session.execute(query.order_by(Key.deposited_at)).scalars()
    return [(key, open_loan(session, key)) for key in keys]


def lend_key(
    session: Session, principal: Principal, unit_id: str, key_id: str, data: dict, now: datetime
) -> tuple[Key, KeyLoan]:
    """Lend a key to someone on its list, with why and until when."""
    require_role(principal, *FRONT_DESK)
    key = _load_key(session, principal, unit_id, key_id, lock=True)
    if key.status != "in_custody":
        raise Conflict("this key is out on loan; it must be returned first")
    borrower = data["borrower"]
    match = next(
        (
            p
            for p in key.authorized
            if (borrower.get("resident_id") and p.get("resident_id") == borrower["resident_id"])
            or (borrower.get("phone") and p.get("phone") == borrower["phone"])
        ),
        None,
    )
    if match is None:
        raise Invalid("borrower", "not on the list of people allowed to collect this key")
    if as_utc(data["due_back_at"]) <= now:
        raise Invalid("due_back_at", "must be in the future")
    loan = KeyLoan(
        id=new_id(),
        key_id=key.id,
        borrower_name=match["name"],
        borrower_phone=match.get("phone"),
        borrower_resident_id=match.get("resident_id"),
        reason=data["reason"].strip(),
        lent_at=now,
        due_back_at=data["due_back_at"],
        lent_by=principal.subject,
    )
    key.status = "lent"
    session.add(loan)
    session.flush()
    return key, loan


def return_key(session: Session, principal: Principal, unit_id: str, key_id: str, now: datetime) -> tuple[Key, KeyLoan]:
    require_role(principal, *FRONT_DESK)
    key = _load_key(session, principal, unit_id, key_id, lock=True)
    loan = open_loan(session, key)
    if loan is None:
        raise Conflict("this key is in custody, not out on loan")
    loan.returned_at = now
    key.status = "in_custody"
    session.flush()
    return key, loan


def overdue_keys(session: Session, principal: Principal, community_id: str, zone_id: str | None, now: datetime):
    """Keys lent out and not back by their due time (a butler sees those of their zones)."""
    get_community(session, principal, community_id)
    query = unit_scope(
        select(Key, KeyLoan, Unit)
        .join(KeyLoan, KeyLoan.key_id == Key.id)
        .join(Unit, Unit.id == Key.unit_id)
        .where(Unit.community_id == community_id, KeyLoan.returned_at.is_(None), KeyLoan.due_back_at < now),
        principal,
    )
    if zone_id:
        query = query.where(Unit.zone_id == zone_id)
    return list(session.execute(query.order_by(KeyLoan.due_back_at)).all())


# --- vacant units ----------------------------------------------------------------------------------------------


def record_vacancy_check(session: Session, principal: Principal, unit_id: str, data: dict, now: datetime):
    require_role(principal, *FRONT_DESK)
    unit = load_unit(session, principal, unit_id)
    if unit.status not in VACANT:
        raise Conflict(f"unit {unit.number} is {unit.status}, not vacant")
    check = VacancyCheck(
        id=new_id(),
        unit_id=unit.id,
        checked_at=as_utc(data.get("checked_at") or now),
        checked_by=principal.subject,
        issues_found=data["issues_found"],
        findings=data["findings"].strip(),
    )
    session.add(check)
    session.flush()
    return check


def list_vacancy_checks(session: Session, principal: Principal, unit_id: str) -> list[VacancyCheck]:
    load_unit(session, principal, unit_id)
    query = since_move_in(
        select(VacancyCheck).where(VacancyCheck.unit_id == unit_id), principal, unit_id, VacancyCheck.checked_at
    )
    return list(session.execute(query.order_by(VacancyCheck.checked_at.desc())).scalars())


def vacant_units(session: Session, principal: Principal, zone_id: str, every_days: int, now: datetime) -> list[dict]:
    """The zone's vacant units with their last check, and whether a check is due (none in `every_days`)."""
    zone = get_zone(session, principal, zone_id)
    last = (
        select(VacancyCheck.unit_id, func.max(VacancyCheck.checked_at).label("last"))
        .group_by(VacancyCheck.unit_id)
        .subquery()
    )
    query = unit_scope(
        select(Unit, last.c.last)
        .outerjoin(last, last.c.unit_id == Unit.id)
        .where(Unit.zone_id == zone.id, Unit.status.in_(VACANT)),
        principal,
    ).order_by(Unit.building_id, Unit.floor, Unit.number)
    due_before = now - timedelta(days=every_days)
    return [
        {
            "unit": unit,
            "last_checked_at": last_at,
            "check_due": last_at is None or as_utc(last_at) < due_before,
        }
        for unit, last_at in session.execute(query).all()
    ]


# --- home visits and contacts ----------------------------------------------------------------------------------


def log_contact(session: Session, principal: Principal, resident_id: str, data: dict, now: datetime) -> ContactLog:
    require_role(principal, *FRONT_DESK)
    resident = load_resident(session, principal, resident_id)
    at = as_utc(data.get("contacted_at") or now)
    if at > now + timedelta(minutes=5):
        raise Invalid("contacted_at", "must not be in the future")
    entry = ContactLog(
        id=new_id(),
        resident_id=resident.id,
        unit_id=resident.unit_id,
        kind=data["kind"],
        effective=data["effective"],
        contacted_at=at,
        staff_id=principal.subject,
        notes=data.get("notes"),
    )
    session.add(entry)
    session.flush()
    _keep_last_contact(session, entry)
    return entry


def _later(column, at: datetime):
    """The column, or `at` when that is later: a backdated contact leaves a later one in place."""
    at = literal(at, UtcDateTime())
    return case((or_(column.is_(None), column < at), at), else_=column)


def _keep_last_contact(session: Session, entry: ContactLog) -> None:
    """The unit's last contact (and last effective one), in the entry's own transaction. One UPDATE: of two
    contacts of a unit logged at once, the second waits for the first's row and compares with its value."""
    units = Unit.__table__
    values = {"last_contacted_at": _later(units.c.last_contacted_at, entry.contacted_at)}
    if entry.effective:
        values["last_effective_at"] = _later(units.c.last_effective_at, entry.contacted_at)
    session.execute(update(units).where(units.c.id == entry.unit_id).values(values))


def list_contacts(session: Session, principal: Principal, resident_id: str) -> list[ContactLog]:
    load_resident(session, principal, resident_id)
    query = select(ContactLog).where(ContactLog.resident_id == resident_id)
    return list(session.execute(query.order_by(ContactLog.contacted_at.desc())).scalars())


def _is_household():
    """The unit has a current resident (one who has not moved out), as the unit keeps it (common.keep_households):
    the figures read the units alone, without joining the residents."""
    return Unit.household.is_(True)


def _reached(since: datetime):
    """(contacted, effective): the unit had a contact from `since` to now, and an effective one. The unit's kept
    last contacts say it without reading the log (no contact is logged in the future)."""
    return Unit.last_contacted_at >= since, Unit.last_effective_at >= since


def _contacted_between(community_id: str, since: datetime, until: datetime):
    """Per unit of the community: contacts from `since` and before `until`, and how many were effective (a window
    that does not end now, such as a past month, needs the log itself)."""
    return (
        select(
            ContactLog.unit_id,
            func.count().label("contacts"),
            func.count().filter(ContactLog.effective.is_(True)).label("effective"),
        )
        .where(ContactLog.contacted_at >= since, ContactLog.contacted_at < until)
        .where(ContactLog.unit_id.in_(select(Unit.id).where(Unit.community_id == community_id)))
        .group_by(ContactLog.unit_id)
        .subquery()
    )


def _household_counts(
    session: Session, community_id: str, since: datetime, until: datetime | None = None, zone_id: str | None = None
) -> dict[str | None, tuple[int, int, int]]:
    """Per zone of the community (or of the one zone): (households, how many were contacted from `since` — to now,
    or before `until` when given — and how many effectively)."""
    if until is None:
        contacted, effective = _reached(since)
        query = select(Unit.zone_id, func.count(), func.count().filter(contacted), func.count().filter(effective))
    else:
        window = _contacted_between(community_id, since, until)
        query = select(
            Unit.zone_id,
            func.count(),
            func.count().filter(window.c.contacts > 0),
            func.count().filter(window.c.effective > 0),
        ).outerjoin(window, window.c.unit_id == Unit.id)
    query = query.where(Unit.community_id == community_id, _is_household())
    if zone_id is not None:
        query = query.where(Unit.zone_id == zone_id)
    return {zone: tuple(counts) for zone, *counts in session.execute(query.group_by(Unit.zone_id))}


def _familiarity_figures(zone, days: int, households: int, contacted: int, effective: int) -> dict:
    def share(n: int) -> float:
        return round(n / households, 4) if households else 0.0

    return {
        "zone_id": zone.id,
        "community_id": zone.community_id,
        "days": days,
        "households": households,
        "contacted": contacted,
        "effective": effective,
        "contacted_share": share(contacted),
        "effective_share": share(effective),
        "familiarity_target": FAMILIARITY_TARGET,
        "effective_target": EFFECTIVE_TARGET,
        "meets_targets": households > 0
        and share(contacted) >= FAMILIARITY_TARGET
        and share(effective) >= EFFECTIVE_TARGET,
    }


def butler_familiarity(
    session: Session, community_id: str, month: str, timezone: str, group_by: str = "butler"
) -> dict:
    """Per butler of a community (the zones' butler_ids), for a month: their zones' households, how many were
    contacted in it (熟悉率) and reached effectively (沟通); staff's monthly scorecards and plan summaries ask this
    (role `service`). group_by zone: a row per zone (keyed by its id); community: one row (keyed by its id)."""
    from zoneinfo import ZoneInfo

    try:
        first = datetime.strptime(month, "%Y-%m").replace(tzinfo=ZoneInfo(timezone))
    except ValueError:
        raise Invalid("month", "a month like 2026-11") from None
    after = first.replace(year=first.year + (first.month == 12), month=first.month % 12 + 1)
    by_zone = _household_counts(session, community_id, first, after)
    totals: dict[str, dict] = {}
    for zone in session.execute(select(Zone).where(Zone.community_id == community_id)).scalars():
        counts = by_zone.get(zone.id, (0, 0, 0))
        keys = {"butler": zone.butler_ids or [], "zone": [zone.id], "community": [community_id]}[group_by]
        for butler in keys:
            row = totals.setdefault(butler, {"key": butler, "households": 0, "contacted": 0, "effective": 0})
            for name, n in zip(("households", "contacted", "effective"), counts, strict=True):
                row[name] += n
    for row in totals.values():
        households = row["households"]
        row["familiarity"] = round(row["contacted"] / households, 4) if households else None
        row["communication"] = round(row["effective"] / households, 4) if households else None
    return {"community_id": community_id, "month": month, "items": [totals[k] for k in sorted(totals)]}


def familiarity(session: Session, principal: Principal, zone_id: str, days: int, now: datetime) -> dict:
    zone = get_zone(session, principal, zone_id)
    counts = _household_counts(session, zone.community_id, now - timedelta(days=days), zone_id=zone.id)
    return _familiarity_figures(zone, days, *counts.get(zone.id, (0, 0, 0)))


def community_familiarity(
    session: Session, principal: Principal, community_id: str, days: int, now: datetime
) -> list[dict]:
    """The zone figures of `familiarity` for every zone of the community the caller sees, in one query."""
    get_community(session, principal, community_id)
    zones = list(session.execute(visible_zones(principal).where(Zone.community_id == community_id)).scalars())
    # Every zone's counts, then the visible ones: a filter on the zones would cost more than the rows it saves.
    counts = _household_counts(session, community_id, now - timedelta(days=days))
    return [{**_familiarity_figures(zone, days, *counts.get(zone.id, (0, 0, 0))), "name": zone.name} for zone in zones]


def unreached(session: Session, principal: Principal, zone_id: str, days: int, now: datetime) -> list[dict]:
    zone = get_zone(session, principal, zone_id)
    contacted, _ = _reached(now - timedelta(days=days))
    query = (
        select(Unit.id, Building.name, Unit.number)
        .join(Building, Building.id == Unit.building_id)
        .where(Unit.zone_id == zone.id, _is_household(), or_(Unit.last_contacted_at.is_(None), ~contacted))
        .order_by(Building.name, Unit.floor, Unit.number)
    )
    return [
        {"unit_id": unit_id, "building": building, "number": number}
        for unit_id, building, number in session.execute(query)
    ]
