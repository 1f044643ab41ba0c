"""突发事件: an incident's scope (units, buildings, zones), severity, on-site timeline, people, aftermath, report."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanjia import outbox as outboxmod
from guanjia.auth import Principal
from guanjia.db import as_utc, new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound, UpstreamUnavailable

from .. import events
from ..models import Incident, IncidentLog, IncidentScope, IncidentTask, Unit, Zone, outbox
from . import attachments, people
from .projections import building_community

INCIDENT_TYPES = (
    "water_outage",  # 停水
    "power_outage",  # 停电
    "elevator_entrapment",  # 电梯困人
    "fire",  # 火警
    "flooding",  # 水浸
    "gas_leak",  # 燃气泄漏
    "security",  # 治安
    "other",
)
INCIDENT_SEVERITIES = ("minor", "major", "critical")
INCIDENT_STATUSES = ("open", "contained", "resolved", "closed")
SCOPE_KINDS = ("unit", "building", "zone")
# The on-site timeline: arrived, contained, resolved — each once; arrival may be recorded late (it is a time).
STEPS = ("arrived", "contained", "resolved")
STEP_STATUS = {"arrived": None, "contained": "contained", "resolved": "resolved"}
COMMANDERS = ("admin", "butler", "senior_butler", "cs_manager")
ON_SITE_ROLES = (*COMMANDERS, "engineer")
READERS = (*ON_SITE_ROLES, "integrator")


def _visible(principal: Principal, incident: Incident | None) -> bool:
    return incident is not None and principal.role in READERS and principal.sees_community(incident.community_id)


def get(session: Session, principal: Principal, incident_id: str, lock: bool = False) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    incident = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if not _visible(principal, incident):
        raise NotFound(f"incident {incident_id} not found")
    return incident


def _require(principal: Principal, roles: tuple[str, ...], what: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not {what}")


def _log(session: Session, incident: Incident, actor: str, action: str, now: datetime, note=None) -> None:
    # The incident row is locked (or new) in this transaction: its step counter orders the log without a race.
    incident.log_steps = (incident.log_steps or 0) + 1
    entry = IncidentLog(id=new_id(), incident_id=incident.id, position=incident.log_steps, at=now, actor=actor)
    entry.action, entry.note = action, note
    session.add(entry)


def _emit(session: Session, settings, incident: Incident, event_type: str, data: dict, now: datetime) -> None:
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=event_type,
        subject=f"incident/{incident.id}",
        community=incident.community_id,
        data=events.PUBLISHED[event_type]().dump(data),
        time=now,
    )


def _updated(session, settings, incident: Incident, change: str, now: datetime) -> None:
    incident.updated_at = now
    _emit(
        session,
        settings,
        incident,
        events.INCIDENT_UPDATED,
        {
            "incident_id": incident.id,
            "community_id": incident.community_id,
            "status": incident.status,
            "change": change,
            "at": now.isoformat(),
        },
        now,
    )


def _check_scope(session: Session, community_id: str, scope: dict, directory) -> dict[str, list[str]]:
    """Every unit, building and zone named is of the incident's community (asked of residents on a miss)."""
    checked = {}
    for kind in SCOPE_KINDS:
        field = f"scope.{kind}_ids"
        ids = list(dict.fromkeys(scope.get(f"{kind}_ids") or []))
        for target in ids:
            if kind == "unit":
                unit = session.get(Unit, target)
                found = unit.community_id if unit else (directory.unit(target) or {}).get("community_id")
            elif kind == "building":
                found = building_community(session, directory, community_id, target)
            else:
                zone = session.get(Zone, target)
                found = zone.community_id if zone else people.zone_community(directory, target)
            if found != community_id:
                raise Invalid(field, f"no such {kind} in this community: {target}")
        checked[kind] = ids
    if not any(checked.values()):
        raise Invalid("scope", "name at least one affected unit, building or zone")
    return checked


def open_incident(session: Session, settings, principal: Principal, data: dict, now: datetime, directory=None):
    """Open an incident; with notify_residents (the default) notifications sends the urgent notice to exactly
    the households of its scope, on incident.opened."""
    _require(principal, COMMANDERS, "open incidents")
    community_id = data["community_id"]
    if not principal.sees_community(community_id):
        raise Invalid("community_id", "not one of your communities")
    directory = directory or people.People()
    scope = _check_scope(session, community_id, data["scope"], directory)
    for staff_id in data.get("on_site") or []:
        people.check_assignee(directory, staff_id, community_id, field="on_site")
    incident = Incident(
        id=new_id(),
        community_id=community_id,
        type=data["type"],
        severity=data["severity"],
        status="open",
        title=data["title"],
        description=data.get("description") or "",
        notify_residents=data.get("notify_residents", True),
        on_site=json.dumps(list(dict.fromkeys(data.get("on_site") or []))),
        reported_by=principal.subject,
        reported_at=data.get("reported_at") or now,
        log_steps=0,
        updated_at=now,
    )
    session.add(incident)
    for kind, ids in scope.items():
        for target in ids:
            session.add(IncidentScope(id=new_id(), incident_id=incident.id, kind=kind, target_id=target))
    session.flush()
    _log(session, incident, principal.subject, "opened", now, data.get("description"))
    _emit(
        session,
        settings,
        incident,
        events.INCIDENT_OPENED,
        {
            "incident_id": incident.id,
            "community_id": community_id,
            "type": incident.type,
            "severity": incident.severity,
            "status": incident.status,
            "scope": {f"{kind}_ids": ids for kind, ids in scope.items()},
            "notify_residents": incident.notify_residents,
            "reported_at": as_utc(incident.reported_at).isoformat(),
        },
        now,
    )
    return incident


def allowed_steps(incident: Incident) -> list[str]:
    """The on-site steps not recorded yet; none once it is resolved (or closed)."""
    if incident.resolved_at is not None or incident.status == "closed":
        return []
    return [step for step in STEPS if getattr(incident, f"{step}_at") is None]


def record_step(session, settings, principal, incident_id: str, data: dict, now: datetime) -> Incident:
    """The on-site timeline: arrived, contained, resolved (each once; nothing after resolution)."""
    _require(principal, ON_SITE_ROLES, "record an incident's progress")
    incident = get(session, principal, incident_id, lock=True)
    step = data["step"]
    allowed = allowed_steps(incident)
    if step not in allowed:
        raise Conflict(
            f"cannot record {step} on an incident that is {incident.status}; allowed: {', '.join(allowed) or 'nothing'}",
            extra={"current_status": incident.status, "allowed_actions": allowed},
        )
    at = data.get("at") or now
    if as_utc(at) > now:
        raise Invalid("at", "not in the future")
    if as_utc(at) < as_utc(incident.reported_at):
        raise Invalid("at", "before the incident was reported")
    setattr(incident, f"{step}_at", at)
    if STEP_STATUS[step]:
        incident.status = STEP_STATUS[step]
    _log(session, incident, principal.subject, step, now, data.get("note"))
    _updated(session, settings, incident, step, now)
    return incident


def add_on_site(session, settings, principal, incident_id: str, data: dict, now: datetime, directory=None):
    _require(principal, COMMANDERS, "send people to an incident")
    incident = get(session, principal, incident_id, lock=True)
    _not_closed(incident)
    present = json.loads(incident.on_site)
    for staff_id in data["staff_ids"]:
        people.check_assignee(directory or people.People(), staff_id, incident.community_id, field="staff_ids")
    added = [s for s in dict.fromkeys(data["staff_ids"]) if s not in present]
    incident.on_site = json.dumps(present + added)
    _log(session, incident, principal.subject, "on_site", now, data.get("note"))
    _updated(session, settings, incident, "on_site", now)
    return incident


def photo_subject(session: Session, principal: Principal, incident_id: str, log_id: str | None = None) -> Incident:
    """The incident a photo is of (those on site see and add them; integrators read the facts only), and the
    log entry it shows, which must be one of the incident's (422 naming log_id)."""
    incident = get(session, principal, incident_id)
    _require(principal, ON_SITE_ROLES, "see or add photos of incidents")
    if log_id is not None:
        entry = session.get(IncidentLog, log_id)
        if entry is None or entry.incident_id != incident.id:
            raise Invalid("log_id", "not an entry of this incident's log")
    return incident


def _not_closed(incident: Incident) -> None:
    if incident.status == "closed":
        raise Conflict("the incident is closed", extra={"current_status": "closed", "allowed_actions": []})


def add_task(session, settings, principal, incident_id: str, data: dict, now: datetime, directory=None):
    """An aftermath task (善后) for a staff member of the community."""
    _require(principal, COMMANDERS, "give incident tasks")
    incident = get(session, principal, incident_id, lock=True)
    _not_closed(incident)
    people.check_assignee(directory or people.People(), data["owner_id"], incident.community_id, field="owner_id")
    task = IncidentTask(
        id=new_id(),
        incident_id=incident.id,
        title=data["title"],
        owner_id=data["owner_id"],
        due_at=data.get("due_at"),
        created_at=now,
    )
    session.add(task)
    _log(session, incident, principal.subject, "task_added", now, data["title"])
    _updated(session, settings, incident, "task_added", now)
    return incident


def finish_task(session, settings, principal, incident_id: str, task_id: str, now: datetime):
    incident = get(session, principal, incident_id, lock=True)
    task = session.get(IncidentTask, task_id)
    if task is None or task.incident_id != incident.id:
        raise NotFound(f"task {task_id} not found")
    if principal.role not in COMMANDERS and task.owner_id != principal.subject:
        raise Forbidden("the task's owner or a commander marks it done")
    _not_closed(incident)
    if task.done_at is not None:
        raise Conflict("the task is done already", extra={"current_status": incident.status, "allowed_actions": []})
    task.done_at = now
    _log(session, incident, principal.subject, "task_done", now, task.title)
    _updated(session, settings, incident, "task_done", now)
    return incident


def close(session, settings, principal, incident_id: str, data: dict, now: datetime) -> Incident:
    """Close a resolved incident whose aftermath tasks are all done, with the closure summary."""
    _require(principal, COMMANDERS, "close incidents")
    incident = get(session, principal, incident_id, lock=True)
    open_tasks = session.execute(
        select(func.count()).where(IncidentTask.incident_id == incident.id, IncidentTask.done_at.is_(None))
    ).scalar_one()
    if incident.status != "resolved" or open_tasks:
        why = "its aftermath tasks are not all done" if incident.status == "resolved" else f"it is {incident.status}"
        raise Conflict(
            f"cannot close the incident: {why}",
            extra={"current_status": incident.status, "allowed_actions": allowed_steps(incident)},
        )
    incident.status = "closed"
    incident.closed_at = now
    incident.summary = data["summary"]
    incident.updated_at = now
    tasks = session.execute(select(func.count()).where(IncidentTask.incident_id == incident.id)).scalar_one()
    _log(session, incident, principal.subject, "closed", now, data["summary"])

    def iso(value):
        return as_utc(value).isoformat() if value else None

    _emit(
        session,
        settings,
        incident,
        events.INCIDENT_CLOSED,
        {
            "incident_id": incident.id,
            "community_id": incident.community_id,
            "type": incident.type,
            "severity": incident.severity,
            "reported_at": iso(incident.reported_at),
            "arrived_at": iso(incident.arrived_at),
            "contained_at": iso(incident.contained_at),
            "resolved_at": iso(incident.resolved_at),
            "closed_at": iso(now),
            "tasks": tasks,
        },
        now,
    )
    return incident


def visible(principal: Principal, filters: dict):
    query = select(Incident).order_by(Incident.reported_at.desc(), Incident.id)
    if principal.role not in READERS:
        return query.where(Incident.id.is_(None))
    if principal.role != "admin":
        query = query.where(Incident.community_id.in_(principal.communities or ("",)))
    for name in ("community_id", "status", "type", "severity"):
        if filters.get(name):
            query = query.where(getattr(Incident, name) == filters[name])
    if filters.get("open"):
        query = query.where(Incident.status != "closed")
    return query


def out(session: Session, incident: Incident) -> dict:
    """The incident with its scope, people on site, tasks, log and what may be recorded next."""
    scope = {f"{kind}_ids": [] for kind in SCOPE_KINDS}
    for row in session.execute(select(IncidentScope).where(IncidentScope.incident_id == incident.id)).scalars():
        scope[f"{row.kind}_ids"].append(row.target_id)
    tasks = session.execute(
        select(IncidentTask).where(IncidentTask.incident_id == incident.id).order_by(IncidentTask.created_at)
    ).scalars()
    log = session.execute(
        select(IncidentLog).where(IncidentLog.incident_id == incident.id).order_by(IncidentLog.position)
    ).scalars()
    columns = {c.name: getattr(incident, c.name) for c in Incident.__table__.columns}
    return {
        **columns,
        "on_site": json.loads(incident.on_site),
        "scope": scope,
        "tasks": list(tasks),
        "log": list(log),
        "photos": attachments.photos_of(session, "incident", [incident.id]),
        "allowed_steps": allowed_steps(incident),
    }


# ---------------------------------------------------------------- the incident report for headquarters

LABELS = {
    "type": {
        "water_outage": "停水",
        "power_outage": "停电",
        "elevator_entrapment": "电梯困人",
        "fire": "火警",
        "flooding": "水浸",
        "gas_leak": "燃气泄漏",
        "security": "治安",
        "other": "其他",
    },
    "severity": {"minor": "一般", "major": "较大", "critical": "重大"},
    "status": {"open": "处置中", "contained": "已控制", "resolved": "已解决", "closed": "已结案"},
    "kind": {"unit": "房屋", "building": "楼栋", "zone": "片区"},
    "action": {
        "opened": "上报",
        "arrived": "到场",
        "contained": "控制",
        "resolved": "解决",
        "on_site": "增派人员",
        "task_added": "善后任务",
        "task_done": "任务完成",
        "closed": "结案",
    },
}


def label(kind: str, value) -> str:
    return LABELS.get(kind, {}).get(value, value or "—")


def _minutes(start, end) -> float | None:
    if start is None or end is None:
        return None
    return round((as_utc(end) - as_utc(start)).total_seconds() / 60, 1)


def scope_labels(session: Session, scope: dict, directory) -> dict[str, str]:
    """Names for the scope's ids: unit labels and zone names from the projections, building names from residents."""
    labels = {}
    for unit in session.execute(select(Unit).where(Unit.id.in_(scope["unit_ids"] or [""]))).scalars():
        labels[unit.id] = unit.label or unit.number or unit.id
    for zone in session.execute(select(Zone).where(Zone.id.in_(scope["zone_ids"] or [""]))).scalars():
        labels[zone.id] = zone.name or zone.id
    for building_id in scope["building_ids"]:
        try:
            found = directory.building(building_id) or {}
        except UpstreamUnavailable:
            found = {}  # the report still prints while residents is away: the building's id stands in
        labels[building_id] = found.get("name") or building_id
    return labels


def report(session: Session, principal: Principal, incident_id: str, names, directory=None) -> dict:
    """The incident report (事件报告): facts, minutes to arrive, contain and resolve, scope, people, tasks, log.
    `names(ids)` gives staff display names (one lookup for the whole report)."""
    incident = get(session, principal, incident_id)
    shown = out(session, incident)
    shown["scope_labels"] = scope_labels(session, shown["scope"], directory or people.People())
    staff = set(shown["on_site"]) | {t.owner_id for t in shown["tasks"]} | {e.actor for e in shown["log"]}
    staff.add(incident.reported_by)
    known = names(staff) or {}
    return {
        **shown,
        "minutes_to_arrive": _minutes(incident.reported_at, incident.arrived_at),
        "minutes_to_contain": _minutes(incident.reported_at, incident.contained_at),
        "minutes_to_resolve": _minutes(incident.reported_at, incident.resolved_at),
        "names": {uid: known.get(uid) or uid for uid in staff},
    }


def to_xlsx(found: dict, timezone: str = "Asia/Shanghai") -> bytes:
    """The report as a workbook: 概况, 影响范围, 现场记录, 善后任务 — Chinese headers and labels, local times."""
    from guanjia.workbook import Column, Workbook

    names = found["names"]
    book = Workbook(timezone)
    book.pairs(
        "概况",
        [
            ("事件", found["title"]),
            ("类型", label("type", found["type"])),
            ("等级", label("severity", found["severity"])),
            ("状态", label("status", found["status"])),
            ("上报人", names.get(found["reported_by"], found["reported_by"])),
            ("上报时间", found["reported_at"], "datetime"),
            ("到场时间", found["arrived_at"], "datetime"),
            ("控制时间", found["contained_at"], "datetime"),
            ("解决时间", found["resolved_at"], "datetime"),
            ("结案时间", found["closed_at"], "datetime"),
            ("到场用时（分钟）", found["minutes_to_arrive"], "decimal"),
            ("控制用时（分钟）", found["minutes_to_contain"], "decimal"),
            ("解决用时（分钟）", found["minutes_to_resolve"], "decimal"),
            ("现场人员", "、".join(names.get(s, s) for s in found["on_site"]) or "—"),
            ("事件经过", found["description"]),
            ("结案总结", found["summary"] or "—"),
        ],
    )
    scope_rows = [
        [label("kind", kind[:-4]), found["scope_labels"].get(target, target)]
        for kind, ids in found["scope"].items()
        for target in ids
    ]
    book.sheet("影响范围", [Column("范围"), Column("名称")], scope_rows)
    book.sheet(
        "现场记录",
        [Column("时间", "datetime"), Column("人员"), Column("事项"), Column("说明")],
        [[e.at, names.get(e.actor, e.actor), label("action", e.action), e.note or ""] for e in found["log"]],
    )
    book.sheet(
        "善后任务",
        [Column("任务"), Column("负责人"), Column("期限", "datetime"), Column("完成时间", "datetime")],
        [[t.title, names.get(t.owner_id, t.owner_id), t.due_at, t.done_at] for t in found["tasks"]],
    )
    return book.to_bytes()
