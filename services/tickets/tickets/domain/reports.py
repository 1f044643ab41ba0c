"""Weekly statistics and the monthly complaint report (客户投诉月报), as JSON and as an XLSX workbook."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc, is_postgres
from guanjia.errors import Forbidden, Invalid, NotFound

from ..models import Finding, PatrolRound, ReturnVisit, Ticket, Unit, Zone

REPORT_ROLES = ("admin", "senior_butler", "cs_manager")


def period_bounds(kind: str, value: str, timezone: str) -> tuple[datetime, datetime, str]:
    """[start, end) in UTC of a month ("2026-11") or a week (any date in it; weeks start on Monday)."""
    zone = ZoneInfo(timezone)
    try:
        if kind == "monthly":
            first = date.fromisoformat(f"{value}-01")
            after = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
            label = first.strftime("%Y-%m")
        else:
            day = date.fromisoformat(value)
            first = day - timedelta(days=day.weekday())
            after = first + timedelta(days=7)
            label = f"{first.isoformat()}/{(after - timedelta(days=1)).isoformat()}"
    except ValueError:
        field = "month" if kind == "monthly" else "week"
        raise Invalid(field, "YYYY-MM for a month, YYYY-MM-DD for a week") from None
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(after, time(0), zone)
    return start, end, label


def _percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return round(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo), 1)


def _minutes_stats(values: list[float]) -> dict:
    values.sort()
    return {"count": len(values), "p50_minutes": _percentile(values, 0.5), "p90_minutes": _percentile(values, 0.9)}


def _compliance(sla: dict) -> dict:
    for clock in sla.values():
        judged = clock["met"] + clock["breached"]
        clock["compliance"] = round(clock["met"] / judged, 4) if judged else None
    return sla


def clock_figures_python(session: Session, in_period, now) -> tuple[dict, dict, dict]:
    """Response/resolution times and SLA compliance in one pass over the period's rows (embedded SQLite)."""
    response_times, resolution_times = [], []
    sla = {"response": {"met": 0, "breached": 0}, "resolution": {"met": 0, "breached": 0}}
    rows = session.execute(
        select(
            Ticket.created_at,
            Ticket.responded_at,
            Ticket.resolved_at,
            Ticket.response_due_at,
            Ticket.resolution_due_at,
            Ticket.status,
        ).where(*in_period)
    )
    for created, responded, resolved, response_due, resolution_due, status in rows:
        created = as_utc(created)
        for clock, done, due, sink in (
            ("response", responded, response_due, response_times),
            ("resolution", resolved, resolution_due, resolution_times),
        ):
            if done is not None:
                sink.append((as_utc(done) - created).total_seconds() / 60)
            if status == "cancelled" or due is None:
                continue
            due = as_utc(due)
            if done is not None:
                sla[clock]["met" if as_utc(done) <= due else "breached"] += 1
            elif due < now:
                sla[clock]["breached"] += 1
    return _minutes_stats(response_times), _minutes_stats(resolution_times), _compliance(sla)


def clock_figures_sql(session: Session, in_period, now) -> tuple[dict, dict, dict]:
    """The same figures computed inside PostgreSQL (percentile_cont interpolates like _percentile)."""
    columns = []
    for done, due in (
        (Ticket.responded_at, Ticket.response_due_at),
        (Ticket.resolved_at, Ticket.resolution_due_at),
    ):
        minutes = func.extract("epoch", done - Ticket.created_at) / 60
        judged = and_(Ticket.status != "cancelled", due.is_not(None))
        columns += [
            func.count(done),
            func.percentile_cont(0.5).within_group(minutes),
            func.percentile_cont(0.9).within_group(minutes),
            func.count().filter(and_(judged, done.is_not(None), done <= due)),
            func.count().filter(and_(judged, or_(done > due, and_(done.is_(None), due < now)))),
        ]
    row = session.execute(select(*columns).where(*in_period)).one()

    def stats(count, p50, p90) -> dict:
        rounded = (None if v is None else round(float(v), 1) for v in (p50, p90))
        return dict(zip(("count", "p50_minutes", "p90_minutes"), (count, *rounded), strict=True))

    sla = {
        "response": {"met": row[3], "breached": row[4]},
        "resolution": {"met": row[8], "breached": row[9]},
    }
    return stats(*row[0:3]), stats(*row[5:8]), _compliance(sla)


def build(session: Session, principal: Principal, community_id: str, kind: str, value: str, timezone: str, now) -> dict:
    if principal.role not in REPORT_ROLES:
        raise Forbidden(f"role {principal.role} may not read reports")
    if not principal.sees_community(community_id):
        raise NotFound(f"community {community_id} not found")
    start, end, label = period_bounds(kind, value, timezone)
    in_period = (Ticket.community_id == community_id, Ticket.created_at >= start, Ticket.created_at < end)

    def counts_of(where, column) -> list[dict]:
        query = select(column, func.count()).where(*where).group_by(column).order_by(func.count().desc(), column)
        return [{"key": key, "count": n} for key, n in session.execute(query)]

    def counts(column) -> list[dict]:
        return counts_of(in_period, column)

    totals = dict(session.execute(select(Ticket.status, func.count()).where(*in_period).group_by(Ticket.status)).all())

    figures = clock_figures_sql if is_postgres(session) else clock_figures_python
    response_time, resolution_time, sla = figures(session, in_period, now)

    complaint = (*in_period, Ticket.category == "complaint")
    repeat = session.execute(
        select(Ticket.reporter_id, func.count())
        .where(*complaint, Ticket.reporter_id.is_not(None))
        .group_by(Ticket.reporter_id)
        .having(func.count() >= 2)
        .order_by(func.count().desc(), Ticket.reporter_id)
        .limit(50)
    ).all()
    recurring = session.execute(
        select(Ticket.category, Ticket.subcategory, Ticket.zone_id, func.count())
        .where(*in_period)
        .group_by(Ticket.category, Ticket.subcategory, Ticket.zone_id)
        .having(func.count() >= 2)
        .order_by(func.count().desc(), Ticket.category, Ticket.subcategory, Ticket.zone_id)
        .limit(10)
    ).all()
    complaint_list = _complaint_list(session, complaint, now)
    _response, complaint_time, complaint_sla = figures(session, complaint, now)
    complaint_visits = _satisfaction(session, complaint)
    patrol = _patrols(session, community_id, start, end)
    zone_ids = (
        {r["key"] for r in counts(Ticket.zone_id)}
        | {z for _, _, z, _ in recurring}
        | {row["zone_id"] for row in complaint_list}
        | {row["key"] for row in patrol["by_zone"]}
    )
    zones = _zone_names(session, zone_ids)
    units = _complainant_units(session, complaint, [r for r, _ in repeat])
    return {
        "kind": kind,
        "period": label,
        "community_id": community_id,
        "from": start,
        "to": end,
        "generated_at": now,
        "totals": {"tickets": sum(totals.values()), "by_status": totals},
        "by_category": counts(Ticket.category),
        "by_subcategory": counts(Ticket.subcategory),
        "by_zone": [{**row, "name": zones.get(row["key"])} for row in counts(Ticket.zone_id)],
        "by_department": counts(Ticket.department),
        "by_channel": counts(Ticket.channel),
        "by_priority": counts(Ticket.priority),
        "response_time": response_time,
        "resolution_time": resolution_time,
        "sla": sla,
        "satisfaction": _satisfaction(session, in_period),
        "complaints": {
            "count": next((row["count"] for row in counts(Ticket.category) if row["key"] == "complaint"), 0),
            "repeat_complainants": [
                {"reporter_id": r, "complaints": n, "unit_numbers": units.get(r, [])} for r, n in repeat
            ],
            "by_subcategory": counts_of(complaint, Ticket.subcategory),
            "by_zone": [{**row, "name": zones.get(row["key"])} for row in counts_of(complaint, Ticket.zone_id)],
            "resolution_time": complaint_time,
            "sla": complaint_sla["resolution"],
            "overdue": complaint_sla["resolution"]["breached"],
            "satisfaction": complaint_visits,
            "items": complaint_list,
        },
        "patrols": {
            **patrol,
            "by_zone": [{**row, "name": zones.get(row["key"])} for row in patrol["by_zone"]],
        },
        "top_recurring_issues": [
            {"category": c, "subcategory": s, "zone_id": z, "zone_name": zones.get(z), "count": n}
            for c, s, z, n in recurring
        ],
    }


def _satisfaction(session: Session, where) -> dict:
    """The reached return visits of the tickets `where` selects: how many, the average, the 4–5 share."""
    visits = session.execute(
        select(ReturnVisit.satisfaction, func.count())
        .join(Ticket, Ticket.id == ReturnVisit.ticket_id)
        .where(*where, ReturnVisit.outcome == "reached")
        .group_by(ReturnVisit.satisfaction)
    ).all()
    distribution = {str(score): 0 for score in range(1, 6)}
    for score, n in visits:
        distribution[str(score)] = n
    reached = sum(distribution.values())
    satisfied = distribution["4"] + distribution["5"]
    return {
        "visits_reached": reached,
        "average": round(sum(int(k) * n for k, n in distribution.items()) / reached, 2) if reached else None,
        "satisfied_rate": round(satisfied / reached, 4) if reached else None,
        "distribution": distribution,
    }


COMPLAINT_LIST_LIMIT = 500


def _complaint_list(session: Session, complaint, now) -> list[dict]:
    """The period's complaints, oldest first (at most COMPLAINT_LIST_LIMIT): each with how long it took to resolve,
    whether it missed its resolution deadline (late, or open past it) and its latest reached visit's score. Ids
    only: the API adds the unit label, zone and assignee names (display fields)."""
    tickets = session.execute(
        select(
            Ticket.id,
            Ticket.number,
            Ticket.created_at,
            Ticket.unit_id,
            Ticket.zone_id,
            Ticket.subcategory,
            Ticket.status,
            Ticket.assignee_id,
            Ticket.resolved_at,
            Ticket.resolution_due_at,
            Ticket.satisfaction,
        )
        .where(*complaint)
        .order_by(Ticket.created_at, Ticket.number)
        .limit(COMPLAINT_LIST_LIMIT)
    ).all()
    rows = []
    for tid, number, created, unit, zone, sub, status, assignee, resolved, due, score in tickets:
        created, resolved, due = as_utc(created), resolved and as_utc(resolved), due and as_utc(due)
        late = due is not None and status != "cancelled" and ((resolved or now) > due)
        rows.append(
            {
                "id": tid,
                "number": number,
                "created_at": created,
                "unit_id": unit,
                "zone_id": zone,
                "subcategory": sub,
                "status": status,
                "assignee_id": assignee,
                "resolved_at": resolved,
                "resolution_minutes": round((resolved - created).total_seconds() / 60, 1) if resolved else None,
                "resolution_due_at": due,
                "overdue": bool(late),
                "satisfaction": score,
            }
        )
    return rows


def _patrols(session: Session, community_id: str, start: datetime, end: datetime) -> dict:
    """Patrol rounds started in the period (and how many were completed) with their findings, in all and by zone."""
    found = dict(
        session.execute(
            select(Finding.round_id, func.count())
            .join(PatrolRound, PatrolRound.id == Finding.round_id)
            .where(
                PatrolRound.community_id == community_id, PatrolRound.started_at >= start, PatrolRound.started_at < end
            )
            .group_by(Finding.round_id)
        ).all()
    )
    zones: dict = {}
    for round_id, zone_id, status in session.execute(
        select(PatrolRound.id, PatrolRound.zone_id, PatrolRound.status).where(
            PatrolRound.community_id == community_id, PatrolRound.started_at >= start, PatrolRound.started_at < end
        )
    ):
        row = zones.setdefault(zone_id, {"key": zone_id, "rounds": 0, "completed": 0, "findings": 0})
        row["rounds"] += 1
        row["completed"] += status == "completed"
        row["findings"] += found.get(round_id, 0)
    by_zone = sorted(zones.values(), key=lambda r: (-r["rounds"], str(r["key"])))
    return {
        "rounds": sum(r["rounds"] for r in by_zone),
        "completed": sum(r["completed"] for r in by_zone),
        "findings": sum(r["findings"] for r in by_zone),
        "by_zone": by_zone,
    }


def _zone_names(session: Session, zone_ids: set) -> dict:
    ids = [z for z in zone_ids if z]
    if not ids:
        return {}
    return dict(session.execute(select(Zone.id, Zone.name).where(Zone.id.in_(ids))).all())


def _complainant_units(session: Session, complaint, reporter_ids: list) -> dict:
    """{reporter: [unit numbers of their complaints]} — a complainant is named by their unit, not by a name."""
    if not reporter_ids:
        return {}
    rows = session.execute(
        select(Ticket.reporter_id, Unit.number)
        .join(Unit, Unit.id == Ticket.unit_id)
        .where(*complaint, Ticket.reporter_id.in_(reporter_ids))
        .distinct()
        .order_by(Ticket.reporter_id, Unit.number)
    ).all()
    out: dict = {}
    for reporter, number in rows:
        if number:
            out.setdefault(reporter, []).append(number)
    return out


# Chinese labels of the values a report shows, as a service desk names them.
LABELS = {
    "category": {
        "repair": "报修",
        "complaint": "投诉",
        "inquiry": "咨询",
        "suggestion": "建议",
        "praise": "表扬",
        "service_request": "服务需求",
        "dispute": "纠纷",
    },
    "status": {
        "new": "待处理",
        "assigned": "已派单",
        "in_progress": "处理中",
        "on_hold": "挂起",
        "resolved": "已解决",
        "closed": "已关闭",
        "reopened": "重新打开",
        "cancelled": "已取消",
    },
    "department": {
        "engineering": "工程部",
        "security": "秩序部",
        "cleaning": "保洁部",
        "landscaping": "绿化部",
        "customer_service": "客服中心",
    },
    "channel": {
        "phone": "电话",
        "walk_in": "到访",
        "app": "线上",
        "wechat": "微信",
        "patrol": "巡查",
        "survey": "满意度调查",
    },
    "priority": {"low": "低", "normal": "普通", "high": "高", "emergency": "紧急"},
}
BREAKDOWNS = (
    ("category", "按类别", "类别"),
    ("subcategory", "按子类", "子类"),
    ("zone", "按片区", "片区"),
    ("department", "按部门", "部门"),
    ("channel", "按渠道", "渠道"),
    ("priority", "按优先级", "优先级"),
)


def label(kind: str, value) -> str:
    if value is None or value == "":
        return "—"
    return LABELS.get(kind, {}).get(value, value)


def to_xlsx(report: dict, timezone: str = "Asia/Shanghai") -> bytes:
    """The same report as a workbook (guanjia.workbook's house style): 汇总 and one sheet per breakdown."""
    from guanjia.workbook import Column, Workbook

    book = Workbook(timezone)
    title = {"monthly": "客户服务月报", "weekly": "客户服务周报"}[report["kind"]]
    sla, satisfaction = report["sla"], report["satisfaction"]
    book.pairs(
        "汇总",
        [
            ("报表", f"{title} {report['period']}"),
            ("统计开始", report["from"], "datetime"),
            ("统计截止", report["to"], "datetime"),
            ("生成时间", report["generated_at"], "datetime"),
            ("工单总数", report["totals"]["tickets"], "int"),
            *((f"状态：{label('status', k)}", v, "int") for k, v in sorted(report["totals"]["by_status"].items())),
            ("响应时长中位数（分钟）", report["response_time"]["p50_minutes"], "decimal"),
            ("响应时长 P90（分钟）", report["response_time"]["p90_minutes"], "decimal"),
            ("解决时长中位数（分钟）", report["resolution_time"]["p50_minutes"], "decimal"),
            ("解决时长 P90（分钟）", report["resolution_time"]["p90_minutes"], "decimal"),
            ("响应及时率", sla["response"]["compliance"], "percent"),
            ("解决及时率", sla["resolution"]["compliance"], "percent"),
            ("回访接通数", satisfaction["visits_reached"], "int"),
            ("平均满意度（1-5）", satisfaction["average"], "decimal"),
            ("满意率（4-5 分）", satisfaction["satisfied_rate"], "percent"),
            ("投诉数", report["complaints"]["count"], "int"),
        ],
    )
    for name, sheet, header in BREAKDOWNS:
        rows = [
            [row.get("name") or label(name, row["key"]), row["count"]]
            if name == "zone"
            else [label(name, row["key"]), row["count"]]
            for row in report[f"by_{name}"]
        ]
        book.sheet(sheet, [Column(header), Column("工单数", "int")], rows)
    book.sheet(
        "重复投诉",
        [Column("房号"), Column("投诉次数", "int"), Column("投诉人编号")],
        [
            ["、".join(row.get("unit_numbers") or []) or "—", row["complaints"], row["reporter_id"]]
            for row in report["complaints"]["repeat_complainants"]
        ],
    )
    book.sheet(
        "高频问题",
        [Column("类别"), Column("子类"), Column("片区"), Column("工单数", "int")],
        [
            [
                label("category", r["category"]),
                label("subcategory", r["subcategory"]),
                r.get("zone_name") or label("zone", r["zone_id"]),
                r["count"],
            ]
            for r in report["top_recurring_issues"]
        ],
    )
    book.sheet(
        "投诉清单",
        [
            Column("工单号"),
            Column("登记时间", "datetime"),
            Column("房屋"),
            Column("片区"),
            Column("子类"),
            Column("状态"),
            Column("处理人"),
            Column("解决时间", "datetime"),
            Column("处理时长（分钟）", "decimal"),
            Column("是否超时"),
            Column("满意度", "int"),
        ],
        [
            [
                c["number"],
                c["created_at"],
                c.get("unit_label") or "—",
                c.get("zone_name") or "—",
                label("subcategory", c["subcategory"]),
                label("status", c["status"]),
                c.get("assignee_name") or "—",
                c["resolved_at"],
                c["resolution_minutes"],
                "是" if c["overdue"] else "否",
                c["satisfaction"],
            ]
            for c in report["complaints"]["items"]
        ],
    )
    book.sheet(
        "巡查",
        [Column("片区"), Column("巡查次数", "int"), Column("已完成", "int"), Column("发现问题", "int")],
        [
            [r.get("name") or label("zone", r["key"]), r["rounds"], r["completed"], r["findings"]]
            for r in report["patrols"]["by_zone"]
        ],
    )
    return book.to_bytes()


def butler_figures(
    session: Session, community_id: str, month: str, timezone: str, now, group_by: str = "butler"
) -> dict:
    """Per butler, over the zones they look after (tickets' zone projection), for a month: the tickets of those
    zones created in it and how many are resolved, resolution SLA compliance, satisfaction of the reached return
    visits, and patrol coverage (the share of their zones with a completed round started in the month). Staff's
    monthly scorecards and plan summaries ask this (role `service`); one row per butler, keyed by their gateway
    user id — or per zone (keyed by the zone id) or one for the community's zones (keyed by the community id).
    The counts behind each ratio come along so that months can be combined (a quarter's ratios from its sums)."""
    start, end, label = period_bounds("monthly", month, timezone)
    butlers: dict[str, list[str]] = {}
    for zone_id, raw in session.execute(select(Zone.id, Zone.butler_ids).where(Zone.community_id == community_id)):
        keys = {"butler": json.loads(raw or "[]"), "zone": [zone_id], "community": [community_id]}[group_by]
        for butler in keys:
            butlers.setdefault(butler, []).append(zone_id)
    patrolled = set(
        session.execute(
            select(PatrolRound.zone_id).where(
                PatrolRound.community_id == community_id,
                PatrolRound.status == "completed",
                PatrolRound.started_at >= start,
                PatrolRound.started_at < end,
            )
        ).scalars()
    )
    figures = clock_figures_sql if is_postgres(session) else clock_figures_python
    items = []
    for butler, zones in sorted(butlers.items()):
        in_zones = (
            Ticket.community_id == community_id,
            Ticket.zone_id.in_(zones),
            Ticket.created_at >= start,
            Ticket.created_at < end,
        )
        tickets, resolved = session.execute(select(func.count(), func.count(Ticket.resolved_at)).where(*in_zones)).one()
        _response, _resolution, sla = figures(session, in_zones, now)
        satisfaction = _satisfaction(session, in_zones)
        covered = sum(1 for z in zones if z in patrolled)
        items.append(
            {
                "key": butler,
                "zones": len(zones),
                "tickets": tickets,
                "tickets_resolved": resolved,
                "sla_compliance": sla["resolution"]["compliance"],
                "sla_met": sla["resolution"]["met"],
                "sla_breached": sla["resolution"]["breached"],
                "satisfaction_average": satisfaction["average"],
                "satisfied_rate": satisfaction["satisfied_rate"],
                "visits_reached": satisfaction["visits_reached"],
                "visits_score": sum(int(k) * n for k, n in satisfaction["distribution"].items()),
                "visits_satisfied": satisfaction["distribution"]["4"] + satisfaction["distribution"]["5"],
                "zones_patrolled": covered,
                "patrol_coverage": round(covered / len(zones), 4),
            }
        )
    return {"community_id": community_id, "month": label, "items": items}


def weekly_series(
    session: Session, principal: Principal, community_id: str, last_week: date, weeks: int, timezone: str, now
) -> dict:
    """The weekly report's headline figures for `weeks` weeks ending with the week holding `last_week`, in two
    grouped queries: tickets filed, SLA compliance of both clocks, satisfaction of the reached return visits —
    the same figures as `build` gives week by week."""
    if principal.role not in REPORT_ROLES:
        raise Forbidden(f"role {principal.role} may not read reports")
    if not principal.sees_community(community_id):
        raise NotFound(f"community {community_id} not found")
    zone = ZoneInfo(timezone)
    monday = last_week - timedelta(days=last_week.weekday())
    days = [monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    starts = [datetime.combine(day, time(0), zone) for day in [*days, monday + timedelta(days=7)]]
    week = case(*((Ticket.created_at < starts[i + 1], i) for i in range(weeks - 1)), else_=weeks - 1)
    in_series = (Ticket.community_id == community_id, Ticket.created_at >= starts[0], Ticket.created_at < starts[-1])
    columns = []
    for done, due in ((Ticket.responded_at, Ticket.response_due_at), (Ticket.resolved_at, Ticket.resolution_due_at)):
        judged = and_(Ticket.status != "cancelled", due.is_not(None))
        columns += [
            func.count().filter(and_(judged, done.is_not(None), done <= due)),
            func.count().filter(and_(judged, or_(done > due, and_(done.is_(None), due < now)))),
        ]
    counted = {
        row[0]: row[1:]
        for row in session.execute(select(week, func.count(), *columns).where(*in_series).group_by(week))
    }
    visits = {
        row[0]: row[1:]
        for row in session.execute(
            select(
                week,
                func.count(),
                func.sum(ReturnVisit.satisfaction),
                func.count().filter(ReturnVisit.satisfaction >= 4),
            )
            .join(Ticket, Ticket.id == ReturnVisit.ticket_id)
            .where(*in_series, ReturnVisit.outcome == "reached", ReturnVisit.satisfaction.is_not(None))
            .group_by(week)
        )
    }
    items = []
    for index, day in enumerate(days):
        tickets, response_met, response_breached, resolution_met, resolution_breached = counted.get(index, (0,) * 5)
        reached, score, satisfied = visits.get(index, (0, 0, 0))
        sla = {
            "response": {"met": response_met, "breached": response_breached},
            "resolution": {"met": resolution_met, "breached": resolution_breached},
        }
        items.append(
            {
                "week": day,
                "period": f"{day.isoformat()}/{(day + timedelta(days=6)).isoformat()}",
                "from": starts[index],
                "to": starts[index + 1],
                "tickets": tickets,
                "sla": _compliance(sla),
                "satisfaction": {
                    "visits_reached": reached,
                    "average": round(int(score) / reached, 2) if reached else None,
                    "satisfied_rate": round(satisfied / reached, 4) if reached else None,
                },
            }
        )
    return {"community_id": community_id, "generated_at": now, "weeks": items}
