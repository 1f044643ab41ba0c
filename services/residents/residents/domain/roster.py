"""Bulk import and export of rosters (buildings, units, residents) as XLSX or CSV.

An import is validated whole before anything is written: a dry run returns every row's errors, a real import
is all-or-nothing, and rows that match what is stored (by building name, unit number, unit + phone) change
nothing — importing the same file twice publishes nothing the second time.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from guanjia import db as dbmod
from guanjia import outbox as outboxmod
from guanjia import workbook
from guanjia.auth import Principal, require_role
from guanjia.db import new_id
from guanjia.errors import Invalid, ProblemError
from guanjia.pii import (
    decrypt_pii,
    encrypt_pii,
    mask_id_card,
    normalize_id_card,
    normalize_phone,
    pii_lookup_hash,
)
from guanjia.workbook import safe_text

from .. import events
from ..models import Building, Community, Resident, Unit, Zone, outbox
from ..values import parse_area
from .common import (
    MANAGERS,
    RESIDENT_ROLES,
    RESIDENT_TAGS,
    UNIT_TYPES,
    keep_households,
    named_community,
    resident_event_data,
    unit_event_data,
)
from .structure import zone_event_data

COLUMNS = {
    "buildings": ["name", "zone"],
    "units": ["building", "number", "floor", "unit_type", "gross_area_m2", "inner_area_m2"],
    "residents": ["building", "unit", "name", "phone", "role", "id_number", "tags", "notes"],
}
REQUIRED = {
    "buildings": {"name"},
    "units": {"building", "number", "floor", "gross_area_m2"},
    "residents": {"building", "unit", "name", "phone", "role"},
}
# The Chinese names of the sheets and columns, per sheet (房号 is a unit's number on 房屋 and the unit a resident
# lives in on 住户). The first header of each column is the one exports and the template write; docs/residents.md
# lists exactly these (a test reads its table).
SHEETS = {"buildings": "楼栋", "units": "房屋", "residents": "住户"}
HEADERS = {
    "buildings": {"name": ("楼栋", "楼栋名称", "名称"), "zone": ("片区",)},
    "units": {
        "building": ("楼栋",),
        "number": ("房号",),
        "floor": ("楼层",),
        "unit_type": ("类型", "房屋类型"),
        "gross_area_m2": ("建筑面积", "area_m2"),
        "inner_area_m2": ("套内面积",),
    },
    "residents": {
        "building": ("楼栋",),
        "unit": ("房号", "房屋"),
        "name": ("姓名",),
        "phone": ("手机", "手机号", "电话"),
        "role": ("身份",),
        "id_number": ("身份证号",),
        "tags": ("标签",),
        "notes": ("备注",),
    },
}
ALIASES = {
    sheet: {alias: column for column, names in columns.items() for alias in names} for sheet, columns in HEADERS.items()
}
LABELS = {
    "unit_type": {"residential": "住宅", "shop": "商铺", "parking": "车位", "storage": "储藏室"},
    "role": {"owner": "业主", "tenant": "租户", "family": "家属"},
    "tags": {
        "living_alone": "独居",
        "hardship": "困难户",
        "key_customer": "重点客户",
        "disabled": "残障",
        "elderly": "老人",
    },
}
VALUE_ALIASES = {name: {label: value for value, label in labels.items()} for name, labels in LABELS.items()}
MAX_ROWS = 200_000
# No roster column holds more than a note (2,000 characters): a longer cell is refused before planning.
READ_LIMITS = workbook.Limits(max_cell=4000)
ANALYZE_AFTER = 1000  # rows written by an import before the planner statistics are refreshed
MAX_REPORTED = 1000  # row errors carried by a rejected real import


class ImportRejected(ProblemError):
    status = 422
    title = "Import rejected"


@dataclass
class Plan:
    errors: list[dict] = field(default_factory=list)
    zones: list[Zone] = field(default_factory=list)
    buildings: list[dict] = field(default_factory=list)
    units_new: list[dict] = field(default_factory=list)
    units_changed: list[tuple[Unit, dict]] = field(default_factory=list)
    residents_new: list[dict] = field(default_factory=list)
    residents_changed: list[tuple[Resident, dict]] = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    def error(self, sheet: str, row: int, column: str, message: str) -> None:
        self.errors.append({"sheet": sheet, "row": row, "field": column, "message": message})


_MAINLAND_MOBILE = re.compile(r"^(?:\+86)?(1\d{10})$")


def fast_phone(raw: str) -> str:
    """normalize_phone, with mainland mobile numbers — nearly every row of a roster — decided by their prefix.

    phonenumbers' validity of an 11-digit mainland mobile number depends on its first five digits only, so the
    full parse (a few hundred microseconds) runs once per prefix instead of once per row.
    """
    match = _MAINLAND_MOBILE.match(raw.replace(" ", "").replace("-", ""))
    if match and _mobile_prefix_valid(match.group(1)[:5]):
        return "+86" + match.group(1)
    return normalize_phone(raw)


@functools.lru_cache(maxsize=4096)
def _mobile_prefix_valid(prefix: str) -> bool:
    try:
        normalize_phone(prefix + "000000")
    except Invalid:
        return False
    return True


# --- reading files ---------------------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # Spreadsheets store 88.5 and 13800138000 as floats; neither is meant as one.
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    return str(value).strip()


def _rows(sheet: str, header: list, records) -> list[tuple[int, dict]]:
    names = [ALIASES[sheet].get(_cell(h), _cell(h).lower()) for h in header]
    unknown = [n for n in names if n and n not in COLUMNS[sheet]]
    label = f"{SHEETS[sheet]} ({sheet})"
    if unknown:
        raise Invalid("file", f"sheet {label}: unknown column(s) {', '.join(safe_text(n)[:50] for n in unknown)}")
    missing = REQUIRED[sheet] - set(names)
    if missing:
        wanted = ", ".join(f"{HEADERS[sheet][m][0]} ({m})" for m in sorted(missing))
        raise Invalid("file", f"sheet {label}: missing column(s) {wanted}")
    out = []
    for number, record in records:
        values = {name: _cell(v) for name, v in zip(names, record, strict=False) if name}
        if any(values.values()):
            out.append((number, values))
        if len(out) > MAX_ROWS:
            raise Invalid("file", f"more than {MAX_ROWS} rows")
    return out


# A sheet is known by our name or its Chinese one (楼栋, 房屋, 住户).
SHEET_NAMES = {**{name: name for name in SHEETS}, **{label: name for name, label in SHEETS.items()}}


def read_xlsx(content: bytes) -> dict[str, list[tuple[int, dict]]]:
    sheets = {}
    for title, rows in workbook.read_xlsx(content, READ_LIMITS):
        name = SHEET_NAMES.get(title.strip().lower())
        if name is None:
            continue
        header = next(rows, None)
        if header is None:
            continue
        sheets[name] = _rows(name, header[1], rows)
    if not sheets:
        raise Invalid("file", "no sheet named 楼栋/buildings, 房屋/units or 住户/residents")
    return sheets


def read_csv(content: bytes, kind: str) -> dict[str, list[tuple[int, dict]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            decoded = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid("file", "neither UTF-8 nor GB18030 text")
    rows = workbook.read_csv_rows(decoded)
    header = next(rows, None)
    if header is None:
        raise Invalid("file", "empty file")
    return {kind: _rows(kind, header[1], rows)}


# --- planning (validation against the file and the stored state) -----------------------------------------------


def _plan(session: Session, settings, community: Community, sheets: dict, now: datetime) -> Plan:
    plan = Plan()
    cid = community.id
    zones = {z.name: z for z in session.execute(select(Zone).where(Zone.community_id == cid)).scalars()}
    buildings = {
        b.name: {"id": b.id, "zone_id": b.zone_id}
        for b in session.execute(select(Building).where(Building.community_id == cid)).scalars()
    }
    units = {}
    for unit, building_name in session.execute(
        select(Unit, Building.name).join(Building, Building.id == Unit.building_id).where(Unit.community_id == cid)
    ).all():
        units[(building_name, unit.number)] = unit
    residents = {}
    for resident in session.execute(
        select(Resident).where(Resident.community_id == cid, Resident.status != "moved_out")
    ).scalars():
        residents[(resident.unit_id, resident.phone)] = resident
    counts = {k: {"created": 0, "updated": 0, "unchanged": 0} for k in ("buildings", "units", "residents")}
    counts["zones"] = {"created": 0}

    def zone_id_for(name: str) -> str:
        if name not in zones:
            zone = Zone(id=new_id(), community_id=cid, name=name, butler_ids=[], created_at=now, updated_at=now)
            zones[name] = zone
            plan.zones.append(zone)
            counts["zones"]["created"] += 1
        return zones[name].id

    def building_for(name: str, zone_name: str = "") -> dict:
        if name not in buildings:
            buildings[name] = {"id": new_id(), "zone_id": zone_id_for(zone_name) if zone_name else None}
            plan.buildings.append(
                {"id": buildings[name]["id"], "community_id": cid, "name": name, "zone_id": buildings[name]["zone_id"]}
            )
            counts["buildings"]["created"] += 1
        return buildings[name]

    def required(sheet, row, values) -> bool:
        ok = True
        for column in sorted(REQUIRED[sheet]):
            if not values.get(column):
                plan.error(sheet, row, column, "required")
                ok = False
        return ok

    for row, values in sheets.get("buildings", []):
        if not required("buildings", row, values):
            continue
        if values["name"] in buildings:
            counts["buildings"]["unchanged"] += 1
        else:
            building_for(values["name"], values.get("zone", ""))

    seen_units = set()
    for row, values in sheets.get("units", []):
        if not required("units", row, values):
            continue
        key = (values["building"], values["number"])
        if key in seen_units:
            plan.error("units", row, "number", "appears twice in the file")
            continue
        seen_units.add(key)
        parsed, ok = {}, True
        try:
            parsed["floor"] = int(values["floor"])
            if not -20 <= parsed["floor"] <= 300:
                raise ValueError
        except ValueError:
            plan.error("units", row, "floor", "a whole number between -20 and 300")
            ok = False
        unit_type = values.get("unit_type") or "residential"
        parsed["unit_type"] = VALUE_ALIASES["unit_type"].get(unit_type, unit_type)
        if parsed["unit_type"] not in UNIT_TYPES:
            plan.error("units", row, "unit_type", f"one of {', '.join(UNIT_TYPES)}")
            ok = False
        for column, attr in (("gross_area_m2", "area_m2"), ("inner_area_m2", "inner_area_m2")):
            if values.get(column):
                try:
                    parsed[attr] = parse_area(values[column])
                except ValueError as exc:
                    plan.error("units", row, column, str(exc))
                    ok = False
            else:
                parsed[attr] = None
        if ok and parsed["inner_area_m2"] is not None and parsed["inner_area_m2"] > parsed["area_m2"]:
            plan.error("units", row, "inner_area_m2", "must not exceed the gross area")
            ok = False
        if len(values["number"]) > 20:
            plan.error("units", row, "number", "at most 20 characters")
            ok = False
        if not ok:
            continue
        existing = units.get(key)
        if existing is None:
            building = building_for(values["building"])
            unit = {
                "id": new_id(),
                "community_id": cid,
                "building_id": building["id"],
                "zone_id": building["zone_id"],
                "number": values["number"],
                "status": "vacant",
                **parsed,
            }
            plan.units_new.append(unit)
            units[key] = unit
            counts["units"]["created"] += 1
        elif isinstance(existing, dict):
            continue
        else:
            changes = {k: v for k, v in parsed.items() if getattr(existing, k) != v}
            if changes:
                plan.units_changed.append((existing, changes))
                counts["units"]["updated"] += 1
            else:
                counts["units"]["unchanged"] += 1

    seen_people = set()
    for row, values in sheets.get("residents", []):
        if not required("residents", row, values):
            continue
        unit = units.get((values["building"], values["unit"]))
        if unit is None:
            plan.error("residents", row, "unit", "no such unit in this community or in the file")
            continue
        unit_id = unit["id"] if isinstance(unit, dict) else unit.id
        parsed, ok = {"name": values["name"]}, True
        if len(values["name"]) > 100:
            plan.error("residents", row, "name", "at most 100 characters")
            ok = False
        try:
            parsed["phone"] = fast_phone(values["phone"])
        except Invalid:
            plan.error("residents", row, "phone", "not a valid phone number")
            ok = False
        role = VALUE_ALIASES["role"].get(values["role"], values["role"])
        parsed["role"] = role
        if role not in RESIDENT_ROLES:
            plan.error("residents", row, "role", f"one of {', '.join(RESIDENT_ROLES)}")
            ok = False
        id_number = values.get("id_number", "")
        if id_number and "*" not in id_number:  # a masked number from an export means "keep what is stored"
            try:
                parsed["id_number"] = normalize_id_card(id_number)
            except Invalid:
                plan.error("residents", row, "id_number", "not a valid Chinese resident ID number")
                ok = False
        tags = sorted(
            {
                VALUE_ALIASES["tags"].get(t.strip(), t.strip())
                for t in re.split(r"[,，、]", values.get("tags", ""))
                if t.strip()
            }
        )
        bad = [t for t in tags if t not in RESIDENT_TAGS]
        if bad:
            plan.error("residents", row, "tags", f"unknown tag(s) {', '.join(safe_text(t)[:50] for t in bad)}")
            ok = False
        parsed["tags"] = tags
        parsed["notes"] = values.get("notes") or None
        if not ok:
            continue
        key = (unit_id, parsed["phone"])
        if key in seen_people:
            plan.error("residents", row, "phone", "appears twice for this unit in the file")
            continue
        seen_people.add(key)
        existing = residents.get(key)
        if existing is None:
            plan.residents_new.append({"unit_id": unit_id, **parsed})
            counts["residents"]["created"] += 1
            continue
        changes = {
            k: parsed[k]
            for k in ("name", "role", "tags", "notes")
            if (getattr(existing, k) or None) != (parsed[k] or None)
        }
        if "id_number" in parsed and existing.id_number_hash != pii_lookup_hash(settings.pii_key, parsed["id_number"]):
            changes["id_number"] = parsed["id_number"]
        if changes:
            plan.residents_changed.append((existing, changes))
            counts["residents"]["updated"] += 1
        else:
            counts["residents"]["unchanged"] += 1
    plan.counts = counts
    return plan


# --- writing ---------------------------------------------------------------------------------------------------


def _event(settings, batches: dict, event_type: str, subject: str, community: str, data: dict) -> None:
    """Add an event to this import's batch of its type: the library builds and validates one envelope per type,
    the rest share it with their own id, subject and data (70,000 in a large import)."""
    batch = batches.get(event_type)
    if batch is None:
        batch = batches[event_type] = outboxmod.Batch(outbox, settings, event_type)
    batch.add(subject=subject, community=community, data=data)


def _write(session: Session, settings, plan: Plan, cid: str, now: datetime) -> None:
    batches: dict = {}
    for zone in plan.zones:
        session.add(zone)
        _event(settings, batches, events.ZONE_UPDATED, f"zone/{zone.id}", cid, zone_event_data(zone))
    session.flush()
    if plan.buildings:
        session.execute(Building.__table__.insert(), [{**b, "created_at": now} for b in plan.buildings])
    chunk = 5000
    rows = [{**u, "created_at": now, "updated_at": now} for u in plan.units_new]
    for start in range(0, len(rows), chunk):
        # Core executemany (pipelined by psycopg), not the ORM bulk path: one round trip per chunk, not per row.
        session.execute(Unit.__table__.insert(), rows[start : start + chunk])
    # Building names give the other services the unit's display label (1栋1-101) in the same events.
    building_names = dict(session.execute(select(Building.id, Building.name).where(Building.community_id == cid)).all())
    for row in rows:
        data = unit_event_data(Unit(**row), building_names.get(row.get("building_id")))
        _event(settings, batches, events.UNIT_CREATED, f"unit/{row['id']}", cid, data)
    for unit, changes in plan.units_changed:
        for name, value in changes.items():
            setattr(unit, name, value)
        unit.updated_at = now
        session.flush()
        data = unit_event_data(unit, building_names.get(unit.building_id))
        _event(settings, batches, events.UNIT_UPDATED, f"unit/{unit.id}", cid, data)
    people = []
    for person in plan.residents_new:
        number = person.pop("id_number", None)
        people.append(
            {
                **person,
                "id": new_id(),
                "community_id": cid,
                "status": "registered",
                "created_at": now,
                "updated_at": now,
                "id_number_enc": encrypt_pii(settings.pii_key, number) if number else None,
                "id_number_hash": pii_lookup_hash(settings.pii_key, number) if number else None,
                "sms_opt_out": False,
            }
        )
    for start in range(0, len(people), chunk):
        session.execute(Resident.__table__.insert(), people[start : start + chunk])
    if people:
        # The units that gained a resident, locked like any other flow's (a move-out of one at the same moment
        # recounts after this import commits, and sees its residents).
        keep_households(session, cid, [person["unit_id"] for person in people])
    for person in people:
        data = {k: person[k] for k in ("unit_id", "community_id", "role", "status")}
        _event(
            settings,
            batches,
            events.RESIDENT_REGISTERED,
            f"resident/{person['id']}",
            cid,
            {"resident_id": person["id"], **data},
        )
    for resident, changes in plan.residents_changed:
        number = changes.pop("id_number", None)
        if number:
            changes["id_number_enc"] = encrypt_pii(settings.pii_key, number)
            changes["id_number_hash"] = pii_lookup_hash(settings.pii_key, number)
        session.execute(update(Resident).where(Resident.id == resident.id).values(**changes, updated_at=now))
        for name, value in changes.items():
            setattr(resident, name, value)
        _event(
            settings,
            batches,
            events.RESIDENT_UPDATED,
            f"resident/{resident.id}",
            cid,
            resident_event_data(resident),
        )
    for batch in batches.values():
        batch.flush(session)


def run_import(
    session: Session,
    settings,
    principal: Principal,
    community_id: str,
    sheets: dict,
    dry_run: bool,
    now: datetime,
) -> dict:
    require_role(principal, *MANAGERS)
    community = named_community(session, principal, community_id)
    if dbmod.is_postgres(session):
        # One import per community at a time: a concurrent twin waits and then finds everything in place.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"residents-import:{community.id}"})
    plan = _plan(session, settings, community, sheets, now)
    result = {
        "community_id": community.id,
        "dry_run": dry_run,
        "valid": not plan.errors,
        "errors": plan.errors,
        **plan.counts,
    }
    if plan.errors and not dry_run:
        errors = {}
        for e in plan.errors[:200]:
            errors.setdefault(f"{e['sheet']}[{e['row']}].{e['field']}", []).append(e["message"])
        # The first rows are enough to act on; a dry run lists them all.
        raise ImportRejected(
            f"{len(plan.errors)} row error(s); nothing was imported",
            errors=errors,
            extra={"rows": plan.errors[:MAX_REPORTED], "error_count": len(plan.errors)},
        )
    if not dry_run:
        _write(session, settings, plan, community.id, now)
    return result


def refresh_statistics(session: Session, result: dict) -> None:
    """After a large import, tell PostgreSQL's planner at once (autovacuum may take minutes): without fresh
    statistics a search by phone right after loading 50,000 residents can pick a poor plan."""
    written = sum(result[k]["created"] + result[k]["updated"] for k in ("units", "residents"))
    if written >= ANALYZE_AFTER and dbmod.is_postgres(session):
        session.execute(text("ANALYZE units, residents"))


# --- export ----------------------------------------------------------------------------------------------------


KINDS = {"floor": "int", "gross_area_m2": "decimal", "inner_area_m2": "decimal"}


def _columns(sheet: str) -> list:
    return [workbook.Column(HEADERS[sheet][name][0], KINDS.get(name, "text")) for name in COLUMNS[sheet]]


def export_xlsx(session: Session, settings, principal: Principal, community_id: str) -> bytes:
    """The community's roster in the import's own shape — sheets 楼栋, 房屋, 住户 with the Chinese headers and values
    the import reads (phones in clear for managers, ID numbers masked)."""
    require_role(principal, *MANAGERS)
    community = session.get(Community, community_id)
    if community is None or not principal.sees_community(community.id):
        from guanjia.errors import NotFound

        raise NotFound(f"community {community_id} not found")
    book = workbook.Workbook(settings.timezone)
    zones = dict(session.execute(select(Zone.id, Zone.name).where(Zone.community_id == community.id)).all())
    names, rows = {}, []
    for b in session.execute(
        select(Building).where(Building.community_id == community.id).order_by(Building.name)
    ).scalars():
        names[b.id] = b.name
        rows.append([b.name, zones.get(b.zone_id)])
    book.sheet(SHEETS["buildings"], _columns("buildings"), rows)
    numbers, rows = {}, []
    for u in session.execute(
        select(Unit).where(Unit.community_id == community.id).order_by(Unit.building_id, Unit.floor, Unit.number)
    ).scalars():
        numbers[u.id] = (names[u.building_id], u.number)
        unit_type = LABELS["unit_type"].get(u.unit_type, u.unit_type)
        rows.append([names[u.building_id], u.number, u.floor, unit_type, u.area_m2, u.inner_area_m2])
    book.sheet(SHEETS["units"], _columns("units"), rows)
    rows = []
    for r in session.execute(
        select(Resident)
        .where(Resident.community_id == community.id, Resident.status != "moved_out")
        .order_by(Resident.unit_id, Resident.created_at)
    ).scalars():
        building, number = numbers[r.unit_id]
        masked = mask_id_card(decrypt_pii(settings.pii_key, r.id_number_enc)) if r.id_number_enc else None
        role = LABELS["role"].get(r.role, r.role)
        tags = "、".join(LABELS["tags"].get(t, t) for t in r.tags or [])
        rows.append([building, number, r.name, r.phone, role, masked, tags, r.notes])
    book.sheet(SHEETS["residents"], _columns("residents"), rows)
    return book.to_bytes()


def require_importer(principal: Principal) -> None:
    require_role(principal, *MANAGERS)


def template_xlsx(settings) -> bytes:
    """An empty roster to fill in: the three sheets with the import's headers, and a sheet 说明 explaining them."""
    book = workbook.Workbook(settings.timezone)
    for sheet in COLUMNS:
        book.sheet(SHEETS[sheet], _columns(sheet), [])
    allowed = {
        "unit_type": "、".join(LABELS["unit_type"].values()),
        "role": "、".join(LABELS["role"].values()),
        "tags": "、".join(LABELS["tags"].values()) + "（多个用顿号或逗号分隔）",
        "floor": "整数，-20 至 300",
        "gross_area_m2": "平方米，最多两位小数",
        "inner_area_m2": "平方米，不大于建筑面积",
        "id_number": "18 位居民身份证号",
        "phone": "手机号",
    }
    rows = []
    for sheet in COLUMNS:
        for name in COLUMNS[sheet]:
            rows.append(
                [
                    SHEETS[sheet],
                    HEADERS[sheet][name][0],
                    "是" if name in REQUIRED[sheet] else "否",
                    "、".join(HEADERS[sheet][name][1:] + (name,)),
                    allowed.get(name),
                ]
            )
    columns = [workbook.Column(h) for h in ("工作表", "列", "必填", "也可写作", "填写说明")]
    book.sheet("说明", columns, rows)
    return book.to_bytes()


XLSX_TYPE = workbook.XLSX_TYPE


def as_file(content: bytes) -> io.BytesIO:
    return io.BytesIO(content)
