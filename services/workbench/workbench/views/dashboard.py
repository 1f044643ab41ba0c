"""经营看板 — the managers' KPI dashboard: collection rate against the target by zone and by butler (with the
projection to period end), arrears by age and zone, tickets and SLA compliance by week. Each chart is SVG drawn
here from the API's report, with its table and its XLSX download beside it."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _

from guanjia import web
from guanjia.workbook import Column, Workbook

from .. import charts, client
from .forms import communities as forms_communities

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
AGES = ("0-30", "31-90", "91-180", "181-365", "over_365")
AGE_NAMES = {"0-30": "0–30天", "31-90": "31–90天", "91-180": "91–180天", "181-365": "181–365天", "over_365": "一年以上"}
WEEKS = 8
FAMILIARITY_DAYS = 90  # the butler's home page's window
PATROL_DAYS = 30
VIOLATION_MONTHS = 6
MISSING = object()  # a panel's answer not fetched yet (None is the API's 403/404: the panel left out)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today() -> date:
    return web.now().astimezone(ZoneInfo(current_app.extensions["guanjia.settings"].timezone)).date()


def _choice() -> tuple[list, str, str]:
    found = forms_communities()
    community_id = request.args.get("community_id") or (found[0]["id"] if found else "")
    if found and community_id not in {c["id"] for c in found}:
        abort(404)
    period = request.args.get("period") or _today().strftime("%Y-%m")
    return found, community_id, period


def _rate(value) -> float | None:
    return None if value in (None, "") else float(value)


def _collection_call(community_id: str, period: str, group_by: str) -> tuple[str, dict]:
    return (
        "/api/v1/billing/reports/collection-rate",
        {"community_id": community_id, "period": period, "group_by": group_by},
    )


def _by(found: dict | None, group_by: str) -> dict | None:
    """One grouping's report of a several-groupings collection-rate answer (None: the panel is left out)."""
    return None if found is None else (found.get("by") or {}).get(group_by)


def collection(community_id: str, period: str, group_by: str, found=MISSING) -> dict:
    """The API's collection rates of the period by zone or butler, as chart rows and table rows."""
    if found is MISSING:
        found = client.get_or_none(*_collection_call(community_id, period, group_by))
    items = (found or {}).get("items") or []
    target = _rate(items[0]["target"]) if items else 0.85
    rows = [
        {
            "label": item.get("name") or (_("(no zone)") if group_by == "zone" else _("(no butler)")),
            "rate": _rate(item.get("collection_rate")),
            "projected": _rate(item.get("projected_rate")),
            "item": item,
        }
        for item in items
    ]
    return {"rows": rows, "target": target, "chart": charts.rate_bars(rows, target), "found": found is not None}


def _ageing_call(community_id: str) -> tuple[str, dict]:
    return "/api/v1/billing/arrears", {"community_id": community_id, "group_by": "zone"}


def ageing(community_id: str, found=MISSING) -> dict:
    if found is MISSING:
        found = client.get_or_none(*_ageing_call(community_id))
    rows = [
        {"label": item.get("name") or _("(no zone)"), "values": item.get("buckets") or {}, "item": item}
        for item in (found or {}).get("items") or []
    ]
    return {
        "rows": rows,
        "chart": charts.stacked_bars(rows, list(AGES)),
        "total": (found or {}).get("total"),
        "found": found is not None,
    }


def _weekly_call(community_id: str) -> tuple[str, dict]:
    return (
        "/api/v1/tickets/reports/weekly-series",
        {"community_id": community_id, "week": _today().isoformat(), "weeks": WEEKS},
    )


def weekly_tickets(community_id: str, found=MISSING) -> dict:
    """The last WEEKS weeks of the tickets' weekly figures in one call: volume, SLA compliance, satisfaction."""
    if found is MISSING:
        found = client.get_or_none(*_weekly_call(community_id))
    if found is None:
        return {"rows": [], "chart": charts.columns_with_line([]), "found": False}
    rows = []
    for item in found.get("weeks") or []:
        sla = (item.get("sla") or {}).get("resolution") or {}
        week = date.fromisoformat(item["week"])
        rows.append(
            {
                "label": week.strftime("%m-%d"),
                "week": week.isoformat(),
                "count": item.get("tickets") or 0,
                "rate": _rate(sla.get("compliance")),
                "breached": sla.get("breached") or 0,
                "satisfaction": (item.get("satisfaction") or {}).get("average"),
                "visits": (item.get("satisfaction") or {}).get("visits_reached") or 0,
            }
        )
    return {"rows": rows, "chart": charts.columns_with_line(rows), "found": True}


def _familiarity_call(community_id: str) -> tuple[str, dict]:
    return f"/api/v1/communities/{community_id}/familiarity", {"days": FAMILIARITY_DAYS}


def familiarity(community_id: str, found=MISSING) -> dict:
    """Each zone's familiarity (households contacted in the last FAMILIARITY_DAYS days) and effective
    communication against their targets (95 % / 60 %), from one residents call."""
    if found is MISSING:
        found = client.get_or_none(*_familiarity_call(community_id))
    items = (found or {}).get("items") or []
    targets = (items[0]["familiarity_target"], items[0]["effective_target"]) if items else (0.95, 0.60)
    rows = [
        {
            "label": item.get("name") or _("(no zone)"),
            "rates": (item.get("contacted_share"), item.get("effective_share")),
            "item": item,
        }
        for item in items
    ]
    return {"rows": rows, "targets": targets, "chart": charts.twin_rate_bars(rows, targets), "found": found is not None}


def _patrols_call(community_id: str) -> tuple[str, dict]:
    return "/api/v1/tickets/patrols/coverage", {"community_id": community_id, "days": PATROL_DAYS}


def patrols(community_id: str, found=MISSING) -> dict:
    """Per zone: days since the last patrol round against the community's required interval (tickets' coverage)."""
    if found is MISSING:
        found = client.get_or_none(*_patrols_call(community_id))
    every = float((found or {}).get("required_every_days") or 0)
    rows = [
        {
            "label": zone.get("name") or _("(no zone)"),
            "value": zone.get("days_since_last_round"),
            "item": zone,
            "gap_days": round(sum(g.get("days") or 0 for g in zone.get("gaps") or []), 1),
        }
        for zone in (found or {}).get("zones") or []
    ]
    return {"rows": rows, "every": every, "chart": charts.value_bars(rows, every, "天"), "found": found is not None}


def _violations_call(community_id: str) -> tuple[str, dict]:
    return f"/api/v1/communities/{community_id}/renovation-violations", {"months": VIOLATION_MONTHS}


def violations(community_id: str, found=MISSING) -> dict:
    """Renovation violations of the last VIOLATION_MONTHS months: per month (columns) and per zone (the table)."""
    if found is MISSING:
        found = client.get_or_none(*_violations_call(community_id))
    months = (found or {}).get("months") or []
    rows = [{"label": item.get("name") or _("(no zone)"), "item": item} for item in (found or {}).get("items") or []]
    per_month = [
        {"label": month[2:], "count": sum(r["item"]["by_month"].get(month, 0) for r in rows)} for month in months
    ]
    return {
        "rows": rows,
        "months": months,
        "chart": charts.columns_with_line(per_month),
        "total": sum(r["item"]["violations"] for r in rows),
        "found": found is not None,
    }


@bp.get("")
def index():
    found, community_id, period = _choice()
    # The six calls are independent: made at once, the page waits for the slowest, not for their sum.
    answers = client.gather(
        {
            # By zone and by butler in one call: billing reads the bills once for both.
            "collection": _collection_call(community_id, period, "zone,butler"),
            "ageing": _ageing_call(community_id),
            "weekly": _weekly_call(community_id),
            "familiarity": _familiarity_call(community_id),
            "patrols": _patrols_call(community_id),
            "violations": _violations_call(community_id),
        }
    )
    return render_template(
        "dashboard.html",
        communities=found,
        community_id=community_id,
        period=period,
        by_zone=collection(community_id, period, "zone", _by(answers["collection"], "zone")),
        by_butler=collection(community_id, period, "butler", _by(answers["collection"], "butler")),
        ageing=ageing(community_id, answers["ageing"]),
        weekly=weekly_tickets(community_id, answers["weekly"]),
        familiarity=familiarity(community_id, answers["familiarity"]),
        patrols=patrols(community_id, answers["patrols"]),
        violations=violations(community_id, answers["violations"]),
        ages=AGES,
        age_names=AGE_NAMES,
        familiarity_days=FAMILIARITY_DAYS,
        patrol_days=PATROL_DAYS,
    )


def _rate_sheet(book: Workbook, title: str, data: dict, who: str) -> None:
    book.sheet(
        title,
        [
            Column(who),
            Column("应收", "money"),
            Column("实收", "money"),
            Column("收缴率", "percent"),
            Column("目标", "percent"),
            Column("预计期末收缴率", "percent"),
        ],
        [
            (
                row["label"],
                row["item"].get("receivable"),
                row["item"].get("collected"),
                row["rate"],
                row["item"].get("target"),
                row["projected"],
            )
            for row in data["rows"]
        ],
    )


@bp.get("/<chart>.xlsx")
def download(chart):
    """The table of one chart as a workbook, with Chinese headers and money and rates as numbers."""
    _found, community_id, period = _choice()
    book = Workbook(current_app.extensions["guanjia.settings"].timezone)
    if chart == "collection-zone":
        _rate_sheet(book, f"收缴率 按片区 {period}", collection(community_id, period, "zone"), "片区")
    elif chart == "collection-butler":
        _rate_sheet(book, f"收缴率 按管家 {period}", collection(community_id, period, "butler"), "管家")
    elif chart == "ageing":
        data = ageing(community_id)
        book.sheet(
            "欠费账龄 按片区",
            [Column("片区"), *(Column(AGE_NAMES[a], "money") for a in AGES), Column("合计", "money")],
            [(r["label"], *(r["values"].get(a) for a in AGES), r["item"].get("total")) for r in data["rows"]],
        )
    elif chart == "tickets":
        data = weekly_tickets(community_id)
        book.sheet(
            "工单 按周",
            [Column("周一", "text"), Column("工单数", "int"), Column("处理超时", "int"), Column("SLA达标率", "percent"),
             Column("满意度", "decimal"), Column("回访成功", "int")],
            [(r["week"], r["count"], r["breached"], r["rate"], r["satisfaction"], r["visits"]) for r in data["rows"]],
        )  # fmt: skip
    elif chart == "familiarity":
        data = familiarity(community_id)
        book.sheet(
            f"熟悉率与有效沟通率 按片区 近{FAMILIARITY_DAYS}天",
            [Column("片区"), Column("住户数", "int"), Column("已联系", "int"), Column("熟悉率", "percent"),
             Column("有效沟通", "int"), Column("有效沟通率", "percent"), Column("达标", "text")],
            [(r["label"], r["item"]["households"], r["item"]["contacted"], r["item"]["contacted_share"],
              r["item"]["effective"], r["item"]["effective_share"], "是" if r["item"]["meets_targets"] else "否")
             for r in data["rows"]],
        )  # fmt: skip
    elif chart == "patrols":
        data = patrols(community_id)
        book.sheet(
            f"巡逻覆盖 按片区 近{PATROL_DAYS}天",
            [Column("片区"), Column("最近巡逻", "datetime"), Column("距今天数", "decimal"), Column("巡逻次数", "int"),
             Column("超期空档天数", "decimal"), Column("已超期", "text")],
            [(r["label"], r["item"].get("last_round_at"), r["value"], r["item"].get("rounds_in_window"),
              r["gap_days"], "是" if r["item"].get("overdue") else "否") for r in data["rows"]],
        )  # fmt: skip
    elif chart == "violations":
        data = violations(community_id)
        book.sheet(
            f"装修违规 按片区 近{VIOLATION_MONTHS}个月",
            [Column("片区"), *(Column(m, "int") for m in data["months"]), Column("合计", "int"),
             Column("严重", "int"), Column("未整改", "int")],
            [(r["label"], *(r["item"]["by_month"].get(m, 0) for m in data["months"]), r["item"]["violations"],
              r["item"]["serious"], r["item"]["open"]) for r in data["rows"]],
        )  # fmt: skip
    else:
        abort(404)
    return Response(
        book.to_bytes(),
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="dashboard-{chart}-{period}.xlsx"'},
    )
