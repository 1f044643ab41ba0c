"""经营看板 — the managers' KPI dashboard: collection rate against the target by zone and by butler (with the
projection to period end), arrears by age and zone, tickets and SLA compliance by week. Each chart is SVG drawn
here from the API's report, with its table and its XLSX download beside it."""

from __future__ import annotations

from datetime import date, timedelta
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


def collection(community_id: str, period: str, group_by: str) -> dict:
    """The API's collection rates of the period by zone or butler, as chart rows and table rows."""
    found = client.get_or_none(
        "/api/v1/billing/reports/collection-rate",
        {"community_id": community_id, "period": period, "group_by": group_by},
    )
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


def ageing(community_id: str) -> dict:
    found = client.get_or_none("/api/v1/billing/arrears", {"community_id": community_id, "group_by": "zone"})
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


def weekly_tickets(community_id: str) -> dict:
    """The last WEEKS weeks of the tickets' weekly report: volume, SLA compliance, satisfaction."""
    monday = _today() - timedelta(days=_today().weekday())
    rows = []
    for back in range(WEEKS - 1, -1, -1):
        week = monday - timedelta(weeks=back)
        found = client.get_or_none(
            "/api/v1/tickets/reports/weekly", {"community_id": community_id, "week": week.isoformat()}
        )
        if found is None:
            return {"rows": [], "chart": charts.columns_with_line([]), "found": False}
        sla = (found.get("sla") or {}).get("resolution") or {}
        rows.append(
            {
                "label": week.strftime("%m-%d"),
                "week": week.isoformat(),
                "count": (found.get("totals") or {}).get("tickets") or 0,
                "rate": _rate(sla.get("compliance")),
                "breached": sla.get("breached") or 0,
                "satisfaction": (found.get("satisfaction") or {}).get("average"),
            }
        )
    return {"rows": rows, "chart": charts.columns_with_line(rows), "found": True}


@bp.get("")
def index():
    found, community_id, period = _choice()
    return render_template(
        "dashboard.html",
        communities=found,
        community_id=community_id,
        period=period,
        by_zone=collection(community_id, period, "zone"),
        by_butler=collection(community_id, period, "butler"),
        ageing=ageing(community_id),
        weekly=weekly_tickets(community_id),
        ages=AGES,
        age_names=AGE_NAMES,
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
             Column("满意度", "decimal")],
            [(r["week"], r["count"], r["breached"], r["rate"], r["satisfaction"]) for r in data["rows"]],
        )  # fmt: skip
    else:
        abort(404)
    return Response(
        book.to_bytes(),
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="dashboard-{chart}-{period}.xlsx"'},
    )
