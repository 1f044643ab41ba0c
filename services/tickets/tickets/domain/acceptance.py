"""新楼验收 / 承接查验: a building's acceptance plan, each unit's checklist from a template, the defects found (with
photos, the party that must put them right and by when), their re-inspection, the progress, the developer's list.

residents holds a unit's handover while it has open defects (a setting of the community there): it learns of them
from acceptance.defect_opened / acceptance.defect_closed.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from guanjia import outbox as outboxmod
from guanjia import uploads
from guanjia.auth import Principal
from guanjia.db import new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound

from .. import events
from ..models import (
    AcceptanceCheck,
    AcceptanceDefect,
    AcceptanceDefectPhoto,
    AcceptancePlan,
    AcceptanceTemplate,
    Unit,
    outbox,
)
from . import people
from .projections import building_community, find_unit

CATEGORIES = (
    "walls_ceilings",  # 墙面天花
    "doors_windows",  # 门窗
    "plumbing_drainage",  # 给排水
    "electrical",  # 电气
    "waterproofing",  # 防水
    "fittings",  # 配套设施
)
CATEGORY_LABELS = {
    "walls_ceilings": "墙面天花",
    "doors_windows": "门窗",
    "plumbing_drainage": "给排水",
    "electrical": "电气",
    "waterproofing": "防水",
    "fittings": "配套设施",
}
PARTIES = ("developer", "contractor")  # 开发商, 施工单位
PARTY_LABELS = {"developer": "开发商", "contractor": "施工单位"}
RESULTS = ("pass", "defect")
PLAN_STATUSES = ("open", "closed")
DEFECT_STATUSES = ("open", "closed")
DEFECT_STATUS_LABELS = {"open": "待整改", "closed": "已整改"}
OUTCOMES = ("rectified", "still_open")
# Supervisors make the plans and the community's templates; the plan's inspectors (any of these staff) inspect.
PLANNERS = ("admin", "senior_butler", "cs_manager")
INSPECTOR_ROLES = ("admin", "butler", "senior_butler", "cs_manager", "engineer")
READERS = (*INSPECTOR_ROLES, "integrator")
DEFAULT_TEMPLATE_ID = "default"
DEFAULT_ITEMS = (
    ("walls_ceilings", "墙面平整，无空鼓、开裂、渗水"),
    ("walls_ceilings", "天花无裂缝、霉斑、水渍"),
    ("walls_ceilings", "地面平整，无空鼓、起砂"),
    ("doors_windows", "入户门开关顺畅，门锁、猫眼完好"),
    ("doors_windows", "窗户开关灵活、密封严实，玻璃无破损"),
    ("doors_windows", "室内门、五金件齐全完好"),
    ("plumbing_drainage", "给水管无渗漏，水压正常"),
    ("plumbing_drainage", "排水畅通，地漏坡向正确"),
    ("plumbing_drainage", "水表读数正常、阀门可用"),
    ("electrical", "开关、插座通电正常"),
    ("electrical", "配电箱标识清楚，漏电保护有效"),
    ("electrical", "弱电（网络、电视、对讲）线路通"),
    ("waterproofing", "卫生间、厨房闭水试验无渗漏"),
    ("waterproofing", "阳台、外窗、外墙无渗水"),
    ("fittings", "燃气表具、管道完好"),
    ("fittings", "可视对讲、门禁可用"),
    ("fittings", "信箱、楼层及房号标识齐全"),
)


# ---------------------------------------------------------------- pure rules


def default_items() -> list[dict]:
    return [{"category": category, "item": item} for category, item in DEFAULT_ITEMS]


def check_results(items: list[dict], results: list[dict], today: date) -> list[dict]:
    """Every checklist item given exactly one result; a defect needs its description, responsible party and a
    rectification deadline not in the past. Returns the results in checklist order; Invalid names the field."""
    by_position: dict[int, dict] = {}
    for index, result in enumerate(results):
        position = result["position"]
        if not 0 <= position < len(items):
            raise Invalid(f"results.{index}.position", f"no checklist item {position} (0–{len(items) - 1})")
        if position in by_position:
            raise Invalid(f"results.{index}.position", f"item {position} is given twice")
        if result["result"] == "defect":
            for name in ("description", "responsible_party", "rectify_by"):
                if not result.get(name):
                    raise Invalid(f"results.{index}.{name}", "required for a defect")
            if result["rectify_by"] < today:
                raise Invalid(f"results.{index}.rectify_by", "a date from today on")
        by_position[position] = result
    missing = [p for p in range(len(items)) if p not in by_position]
    if missing:
        first = items[missing[0]]
        raise Invalid(
            "results",
            f"no result for {len(missing)} item(s), the first {missing[0]} "
            f"({CATEGORY_LABELS[first['category']]}：{first['item']})",
        )
    return [by_position[p] for p in range(len(items))]


def progress(units_total: int, units_inspected: int, defects_open: int, defects_closed: int) -> dict:
    """A building's progress: units inspected of all, defects open and closed, the share inspected."""
    return {
        "units_total": units_total,
        "units_inspected": units_inspected,
        "units_pending": max(0, units_total - units_inspected),
        "defects_open": defects_open,
        "defects_closed": defects_closed,
        "percent_inspected": round(100 * units_inspected / units_total) if units_total else 0,
    }


def plan_actions(plan: AcceptancePlan) -> list[str]:
    return ["inspect", "close"] if plan.status == "open" else []


def defect_actions(defect: AcceptanceDefect) -> list[str]:
    return ["reinspect", "photos"] if defect.status == "open" else []


def overdue(defect: AcceptanceDefect, today: date) -> bool:
    return defect.status == "open" and defect.rectify_by < today


# ---------------------------------------------------------------- templates


def _require(principal: Principal, roles: tuple[str, ...], what: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not {what}")


def _readable_community(principal: Principal, community_id: str) -> None:
    if principal.role not in READERS or not principal.sees_community(community_id):
        raise NotFound(f"community {community_id} not found")


def templates(session: Session, principal: Principal, community_id: str) -> list[dict]:
    """The default checklist, then the community's own templates."""
    _readable_community(principal, community_id)
    rows = session.execute(
        select(AcceptanceTemplate)
        .where(AcceptanceTemplate.community_id == community_id)
        .order_by(AcceptanceTemplate.created_at, AcceptanceTemplate.id)
    ).scalars()
    default = {"id": DEFAULT_TEMPLATE_ID, "community_id": None, "name": "默认验收清单", "items": default_items()}
    return [default, *(template_out(t) for t in rows)]


def template_out(template: AcceptanceTemplate) -> dict:
    return {
        "id": template.id,
        "community_id": template.community_id,
        "name": template.name,
        "items": json.loads(template.items),
        "created_at": template.created_at,
    }


def create_template(session: Session, principal: Principal, data: dict, now: datetime) -> AcceptanceTemplate:
    _require(principal, PLANNERS, "make acceptance templates")
    if not principal.sees_community(data["community_id"]):
        raise Invalid("community_id", "not one of your communities")
    template = AcceptanceTemplate(
        id=new_id(),
        community_id=data["community_id"],
        name=data["name"],
        items=json.dumps([{"category": i["category"], "item": i["item"]} for i in data["items"]], ensure_ascii=False),
        created_by=principal.subject,
        created_at=now,
    )
    session.add(template)
    session.flush()
    return template


def _template_items(session: Session, community_id: str, template_id: str | None) -> list[dict]:
    if not template_id or template_id == DEFAULT_TEMPLATE_ID:
        return default_items()
    template = session.get(AcceptanceTemplate, template_id)
    if template is None or template.community_id != community_id:
        raise Invalid("template_id", "no such template in this community")
    return json.loads(template.items)


# ---------------------------------------------------------------- plans


def _sees_plan(principal: Principal, plan: AcceptancePlan) -> bool:
    """Butlers the plans of their zones' buildings and those they inspect; the other readers their communities'."""
    if principal.role not in READERS or not principal.sees_community(plan.community_id):
        return False
    if principal.role == "butler":
        return principal.subject in json.loads(plan.inspector_ids) or principal.sees_zone(
            plan.community_id, plan.zone_id
        )
    return True


def get_plan(session: Session, principal: Principal, plan_id: str, lock: bool = False) -> AcceptancePlan:
    query = select(AcceptancePlan).where(AcceptancePlan.id == plan_id)
    plan = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if plan is None or not _sees_plan(principal, plan):
        raise NotFound(f"acceptance plan {plan_id} not found")
    return plan


def _building_zone(session: Session, directory, building_id: str) -> str | None:
    zone = session.execute(
        select(Unit.zone_id).where(Unit.building_id == building_id, Unit.zone_id.is_not(None)).limit(1)
    ).scalar_one_or_none()
    return zone or (directory.building(building_id) or {}).get("zone_id")


def create_plan(session: Session, principal: Principal, data: dict, now: datetime, directory=None) -> AcceptancePlan:
    _require(principal, PLANNERS, "make acceptance plans")
    directory = directory or people.People()
    community_id, building_id = data["community_id"], data["building_id"]
    if not principal.sees_community(community_id):
        raise Invalid("community_id", "not one of your communities")
    if building_community(session, directory, community_id, building_id) != community_id:
        raise Invalid("building_id", "no such building in this community")
    if data["ends_on"] < data["starts_on"]:
        raise Invalid("ends_on", "before starts_on")
    inspectors = list(dict.fromkeys(data["inspector_ids"]))
    for inspector in inspectors:
        people.check_assignee(directory, inspector, community_id, field="inspector_ids")
    items = _template_items(session, community_id, data.get("template_id"))
    plan = AcceptancePlan(
        id=new_id(),
        community_id=community_id,
        building_id=building_id,
        zone_id=_building_zone(session, directory, building_id),
        name=data["name"],
        inspector_ids=json.dumps(inspectors),
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        template_id=None if data.get("template_id") in (None, DEFAULT_TEMPLATE_ID) else data["template_id"],
        items=json.dumps(items, ensure_ascii=False),
        status="open",
        created_by=principal.subject,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(plan)
            session.flush()
    except IntegrityError:
        raise Conflict(
            "this building has an acceptance plan under way; close it first",
            errors={"building_id": ["an open acceptance plan exists"]},
        ) from None
    return plan


def visible_plans(principal: Principal, filters: dict):
    query = select(AcceptancePlan).order_by(AcceptancePlan.status.desc(), AcceptancePlan.starts_on, AcceptancePlan.id)
    if principal.role not in READERS:
        return query.where(AcceptancePlan.id.is_(None))
    if not principal.instance_wide:
        query = query.where(AcceptancePlan.community_id.in_(principal.communities or ("",)))
    if principal.role == "butler":
        query = query.where(
            or_(
                AcceptancePlan.zone_id.in_(principal.zones or ("",)),
                AcceptancePlan.inspector_ids.contains(json.dumps(principal.subject), autoescape=True),
            )
        )
    for name in ("community_id", "building_id", "status"):
        if filters.get(name):
            query = query.where(getattr(AcceptancePlan, name) == filters[name])
    return query


def close_plan(session, settings, principal, plan_id: str, data: dict, now: datetime) -> AcceptancePlan:
    """The acceptance is over (defects still open stay open, and keep holding their units' handover)."""
    _require(principal, PLANNERS, "close acceptance plans")
    plan = get_plan(session, principal, plan_id, lock=True)
    _plan_open(plan)
    plan.status, plan.closed_at, plan.updated_at = "closed", now, now
    return plan


def _plan_open(plan: AcceptancePlan) -> None:
    if plan.status != "open":
        raise Conflict("the acceptance plan is closed", extra={"current_status": plan.status, "allowed_actions": []})


def _building_units(session: Session, plan: AcceptancePlan) -> list[Unit]:
    query = select(Unit).where(Unit.building_id == plan.building_id, Unit.community_id == plan.community_id)
    return sorted(session.execute(query).scalars(), key=lambda u: (u.label or u.number or "", u.id))


def _defect_counts(session: Session, column, value) -> dict[tuple[str, str], int]:
    """{(unit id, status): number of defects} of a plan."""
    rows = session.execute(
        select(AcceptanceDefect.unit_id, AcceptanceDefect.status, func.count())
        .where(column == value)
        .group_by(AcceptanceDefect.unit_id, AcceptanceDefect.status)
    ).all()
    return {(unit_id, status): count for unit_id, status, count in rows}


def plan_progress(session: Session, plans: list[AcceptancePlan]) -> dict[str, dict]:
    """{plan id: progress} for a page of plans, in four queries whatever the page's size."""
    ids = [p.id for p in plans]
    if not ids:
        return {}
    buildings = {p.building_id for p in plans}
    totals = dict(
        session.execute(
            select(Unit.building_id, func.count()).where(Unit.building_id.in_(buildings)).group_by(Unit.building_id)
        ).all()
    )
    inspected = dict(
        session.execute(
            select(AcceptanceCheck.plan_id, func.count())
            .where(AcceptanceCheck.plan_id.in_(ids))
            .group_by(AcceptanceCheck.plan_id)
        ).all()
    )
    defects: dict[tuple[str, str], int] = {}
    for plan_id, status, count in session.execute(
        select(AcceptanceDefect.plan_id, AcceptanceDefect.status, func.count())
        .where(AcceptanceDefect.plan_id.in_(ids))
        .group_by(AcceptanceDefect.plan_id, AcceptanceDefect.status)
    ):
        defects[(plan_id, status)] = count
    return {
        p.id: progress(
            totals.get(p.building_id, 0),
            inspected.get(p.id, 0),
            defects.get((p.id, "open"), 0),
            defects.get((p.id, "closed"), 0),
        )
        for p in plans
    }


def plan_summary(plan: AcceptancePlan, plan_progress_: dict) -> dict:
    columns = {c.name: getattr(plan, c.name) for c in AcceptancePlan.__table__.columns}
    return {
        **columns,
        "inspector_ids": json.loads(plan.inspector_ids),
        "checklist": json.loads(plan.items),  # not `items`: a dict with items reads as a page to the display
        "progress": plan_progress_,
        "allowed_actions": plan_actions(plan),
    }


def plan_out(session: Session, plan: AcceptancePlan) -> dict:
    """The plan, its progress, and each unit of the building: inspected or not, its defects open and closed."""
    checks = {
        c.unit_id: c
        for c in session.execute(select(AcceptanceCheck).where(AcceptanceCheck.plan_id == plan.id)).scalars()
    }
    counts = _defect_counts(session, AcceptanceDefect.plan_id, plan.id)
    units = [
        {
            "unit_id": unit.id,
            "inspected": unit.id in checks,
            "inspected_at": checks[unit.id].inspected_at if unit.id in checks else None,
            "defects_open": counts.get((unit.id, "open"), 0),
            "defects_closed": counts.get((unit.id, "closed"), 0),
        }
        for unit in _building_units(session, plan)
    ]
    return {**plan_summary(plan, plan_progress(session, [plan])[plan.id]), "units": units}


# ---------------------------------------------------------------- one unit's checklist


def _plan_unit(session: Session, plan: AcceptancePlan, unit_id: str, directory) -> Unit:
    unit = find_unit(session, unit_id, (directory or people.People()).unit)
    if unit is None or unit.building_id != plan.building_id or unit.community_id != plan.community_id:
        raise NotFound(f"unit {unit_id} not found in this plan's building")
    return unit


def _check(session: Session, plan_id: str, unit_id: str) -> AcceptanceCheck | None:
    return session.execute(
        select(AcceptanceCheck).where(AcceptanceCheck.plan_id == plan_id, AcceptanceCheck.unit_id == unit_id)
    ).scalar_one_or_none()


def checklist(session: Session, principal: Principal, plan_id: str, unit_id: str, today: date, directory=None):
    """A unit's checklist: the plan's items with their results once inspected, and the unit's defects."""
    plan = get_plan(session, principal, plan_id)
    unit = _plan_unit(session, plan, unit_id, directory)
    check = _check(session, plan.id, unit.id)
    results = {r["position"]: r for r in json.loads(check.results)} if check else {}
    rows = []
    for position, item in enumerate(json.loads(plan.items)):
        result = results.get(position, {})
        rows.append({"position": position, **item, "result": result.get("result"), "note": result.get("note")})
    defects = session.execute(
        select(AcceptanceDefect)
        .where(AcceptanceDefect.plan_id == plan.id, AcceptanceDefect.unit_id == unit.id)
        .order_by(AcceptanceDefect.position, AcceptanceDefect.created_at)
    ).scalars()
    may_inspect = plan.status == "open" and check is None and _may_inspect(principal, plan)
    return {
        "plan_id": plan.id,
        "plan_name": plan.name,
        "plan_status": plan.status,
        "building_id": plan.building_id,
        "community_id": plan.community_id,
        "unit_id": unit.id,
        "inspected": check is not None,
        "inspected_by": check.inspected_by if check else None,
        "inspected_at": check.inspected_at if check else None,
        "checklist": rows,
        "defects": [defect_out(session, d, today) for d in defects],
        "allowed_actions": ["inspect"] if may_inspect else [],
    }


def _may_inspect(principal: Principal, plan: AcceptancePlan) -> bool:
    return principal.role in PLANNERS or (
        principal.role in INSPECTOR_ROLES and principal.subject in json.loads(plan.inspector_ids)
    )


def _require_inspector(principal: Principal, plan: AcceptancePlan) -> None:
    if not _may_inspect(principal, plan):
        raise Forbidden("only the plan's inspectors (or a supervisor) inspect")


def inspect_unit(
    session: Session,
    settings,
    principal: Principal,
    plan_id: str,
    unit_id: str,
    data: dict,
    now: datetime,
    today: date,
    directory=None,
) -> None:
    """Record a unit's inspection: one result per checklist item; each defect is opened (acceptance.defect_opened).
    A unit is inspected once per plan; its defects are then re-inspected one by one."""
    plan = get_plan(session, principal, plan_id, lock=True)
    unit = _plan_unit(session, plan, unit_id, directory)
    _require_inspector(principal, plan)
    _plan_open(plan)
    if _check(session, plan.id, unit.id) is not None:
        raise Conflict(
            "this unit is inspected already; re-inspect its defects one by one",
            extra={"current_status": "inspected", "allowed_actions": []},
        )
    items = json.loads(plan.items)
    results = check_results(items, data["results"], today)
    check = AcceptanceCheck(
        id=new_id(),
        plan_id=plan.id,
        unit_id=unit.id,
        community_id=plan.community_id,
        results=json.dumps(
            [{"position": r["position"], "result": r["result"], "note": r.get("note")} for r in results],
            ensure_ascii=False,
        ),
        inspected_by=principal.subject,
        inspected_at=now,
    )
    session.add(check)
    for result in results:
        if result["result"] != "defect":
            continue
        item = items[result["position"]]
        defect = AcceptanceDefect(
            id=new_id(),
            plan_id=plan.id,
            check_id=check.id,
            unit_id=unit.id,
            community_id=plan.community_id,
            building_id=plan.building_id,
            position=result["position"],
            category=item["category"],
            item=item["item"],
            description=result["description"],
            responsible_party=result["responsible_party"],
            rectify_by=result["rectify_by"],
            status="open",
            reinspections=0,
            created_by=principal.subject,
            created_at=now,
            updated_at=now,
        )
        session.add(defect)
        _emit(session, settings, defect, events.ACCEPTANCE_DEFECT_OPENED, now)
    plan.updated_at = now
    session.flush()


def _emit(session: Session, settings, defect: AcceptanceDefect, event_type: str, now: datetime) -> None:
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=event_type,
        subject=f"acceptance_defect/{defect.id}",
        community=defect.community_id,
        data=events.PUBLISHED[event_type]().dump(
            {
                "defect_id": defect.id,
                "plan_id": defect.plan_id,
                "community_id": defect.community_id,
                "building_id": defect.building_id,
                "unit_id": defect.unit_id,
                "category": defect.category,
                "item": defect.item,
                "responsible_party": defect.responsible_party,
                "rectify_by": defect.rectify_by.isoformat(),
                "status": defect.status,
                "at": now.isoformat(),
            }
        ),
        time=now,
    )


# ---------------------------------------------------------------- defects


def get_defect(session: Session, principal: Principal, defect_id: str, lock: bool = False) -> AcceptanceDefect:
    query = select(AcceptanceDefect).where(AcceptanceDefect.id == defect_id)
    defect = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if defect is None:
        raise NotFound(f"acceptance defect {defect_id} not found")
    plan = session.get(AcceptancePlan, defect.plan_id)
    if plan is None or not _sees_plan(principal, plan):
        raise NotFound(f"acceptance defect {defect_id} not found")
    return defect


def visible_defects(principal: Principal, filters: dict, today: date):
    """Defects of the plans the caller sees, by unit and checklist order."""
    plans = visible_plans(principal, {}).with_only_columns(AcceptancePlan.id).order_by(None)
    query = (
        select(AcceptanceDefect)
        .where(AcceptanceDefect.plan_id.in_(plans.scalar_subquery()))
        .order_by(AcceptanceDefect.unit_id, AcceptanceDefect.position, AcceptanceDefect.created_at)
    )
    for name in ("plan_id", "community_id", "building_id", "unit_id", "status", "responsible_party", "category"):
        if filters.get(name):
            query = query.where(getattr(AcceptanceDefect, name) == filters[name])
    if filters.get("overdue"):
        query = query.where(AcceptanceDefect.status == "open", AcceptanceDefect.rectify_by < today)
    return query


def photo_counts(session: Session, defect_ids) -> dict[str, int]:
    ids = list(defect_ids)
    if not ids:
        return {}
    query = (
        select(AcceptanceDefectPhoto.defect_id, func.count())
        .where(AcceptanceDefectPhoto.defect_id.in_(ids))
        .group_by(AcceptanceDefectPhoto.defect_id)
    )
    return dict(session.execute(query).all())


def defect_out(session: Session, defect: AcceptanceDefect, today: date, photos: list | None = None) -> dict:
    columns = {c.name: getattr(defect, c.name) for c in AcceptanceDefect.__table__.columns}
    if photos is None:
        photos = list_photos_of(session, defect.id)
    return {
        **columns,
        "overdue": overdue(defect, today),
        "photos": photos,
        "allowed_actions": defect_actions(defect),
    }


def defects_page(session: Session, defects: list[AcceptanceDefect], today: date) -> list[dict]:
    """A page of defects with their photo counts (no photo list: one query whatever the page's size)."""
    counts = photo_counts(session, [d.id for d in defects])
    return [{**defect_out(session, d, today, photos=[]), "photo_count": counts.get(d.id, 0)} for d in defects]


def reinspect(session, settings, principal, defect_id: str, data: dict, now: datetime, today: date):
    """复查: rectified closes the defect (acceptance.defect_closed); still open records the visit, with a new
    deadline if one is given."""
    defect = get_defect(session, principal, defect_id, lock=True)
    plan = session.get(AcceptancePlan, defect.plan_id)
    _require_inspector(principal, plan)
    if defect.status != "open":
        raise Conflict(
            "the defect is rectified already", extra={"current_status": defect.status, "allowed_actions": []}
        )
    if data.get("rectify_by") is not None:
        if data["outcome"] != "still_open":
            raise Invalid("rectify_by", "a new deadline only for a defect still open")
        if data["rectify_by"] < today:
            raise Invalid("rectify_by", "a date from today on")
        defect.rectify_by = data["rectify_by"]
    defect.reinspections += 1
    defect.last_reinspected_at, defect.last_reinspection_note = now, data.get("note")
    defect.updated_at = now
    if data["outcome"] == "rectified":
        defect.status, defect.closed_by, defect.closed_at = "closed", principal.subject, now
        _emit(session, settings, defect, events.ACCEPTANCE_DEFECT_CLOSED, now)
    session.flush()
    return defect


# ---------------------------------------------------------------- photos


def add_photo(database, store, principal: Principal, defect_id: str, upload, max_bytes: int, now: datetime):
    """Store a photo (its type proven by its content) of an open defect, as ticket attachments are kept."""
    with database.transaction() as session:
        defect = get_defect(session, principal, defect_id)
        _require_inspector(principal, session.get(AcceptancePlan, defect.plan_id))
        if defect.status != "open":
            raise Conflict("the defect is rectified already", extra={"current_status": "closed", "allowed_actions": []})

    return uploads.keep_row(
        database, store, upload, max_bytes, AcceptanceDefectPhoto, uploaded_by=principal.subject, now=now,
        defect_id=defect_id,
    )  # fmt: skip


def list_photos_of(session: Session, defect_id: str) -> list[AcceptanceDefectPhoto]:
    query = select(AcceptanceDefectPhoto).where(AcceptanceDefectPhoto.defect_id == defect_id)
    return list(session.execute(query.order_by(AcceptanceDefectPhoto.created_at, AcceptanceDefectPhoto.id)).scalars())


def find_photo(session: Session, principal: Principal, defect_id: str, photo_id: str) -> AcceptanceDefectPhoto:
    get_defect(session, principal, defect_id)
    photo = session.get(AcceptanceDefectPhoto, photo_id)
    if photo is None or photo.defect_id != defect_id:
        raise NotFound(f"photo {photo_id} not found")
    return photo


# ---------------------------------------------------------------- the developer's list


def defects_xlsx(rows: list[dict], timezone: str = "Asia/Shanghai") -> bytes:
    """The defect list for the developer (整改清单): Chinese headers and labels, local times."""
    from guanjia.workbook import Column, Workbook

    book = Workbook(timezone)
    book.sheet(
        "验收问题清单",
        [
            Column("序号", "int"),
            Column("房号"),
            Column("类别"),
            Column("检查项"),
            Column("问题描述"),
            Column("责任方"),
            Column("整改期限", "date"),
            Column("状态"),
            Column("复查次数", "int"),
            Column("最近复查", "datetime"),
            Column("复查说明"),
            Column("照片（张）", "int"),
            Column("发现时间", "datetime"),
            Column("整改完成时间", "datetime"),
        ],
        [
            [
                number,
                row.get("unit_label") or row["unit_id"],
                CATEGORY_LABELS.get(row["category"], row["category"]),
                row["item"],
                row["description"],
                PARTY_LABELS.get(row["responsible_party"], row["responsible_party"]),
                row["rectify_by"],
                DEFECT_STATUS_LABELS.get(row["status"], row["status"]) + ("（逾期）" if row["overdue"] else ""),
                row["reinspections"],
                row["last_reinspected_at"],
                row["last_reinspection_note"] or "",
                row.get("photo_count", 0),
                row["created_at"],
                row["closed_at"],
            ]
            for number, row in enumerate(rows, start=1)
        ],
    )
    return book.to_bytes()
