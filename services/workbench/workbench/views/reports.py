"""报表 — the managers' and finance's periodic reports: the weekly statistics (工作周报), the monthly complaint report
(客户投诉月报), the fee monthly and weekly reports (收费月报 / 收费周报).

Each report is the API's report (tickets `/api/v1/tickets/reports/...`, billing `/api/v1/billing/reports/...`) laid
out here as sections — a summary and tables, with names, not ids — and that one layout is both the screen (and its
printed page) and the XLSX download: the workbook is the same sections in the house style of guanjia.workbook,
always with Chinese sheet names and headers whatever the screen's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import force_locale, gettext, pgettext

from guanjia import web
from guanjia.workbook import XLSX_TYPE, Column, Workbook

from .. import client
from ..i18n import label
from ..nav import CASHIER_ROLES, MANAGER_ROLES
from .common import me
from .forms import chosen_community, q

bp = Blueprint("reports", __name__, url_prefix="/reports")
AGES = ("0-30", "31-90", "91-180", "181-365", "over_365")


@dataclass
class Section:
    """A part of a report: a summary (`pairs`: label, value, kind) or a table (`columns` and `rows`)."""

    id: str
    title: str
    columns: list[Column] = field(default_factory=list)
    rows: list = field(default_factory=list)
    pairs: list = field(default_factory=list)


@dataclass
class Report:
    name: str
    title: str
    period: str
    sections: list[Section]
    found: bool


def _today() -> date:
    return web.now().astimezone(ZoneInfo(current_app.extensions["guanjia.settings"].timezone)).date()


class BadPeriod(ValueError):
    """The request names a week or month that is not one: the report page says so under the field (400)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _week(strict: bool = False) -> date:
    """The Monday of the week the request names (`week`, any day of it), this week when none is named; a malformed
    one is BadPeriod when `strict` (a report), this week otherwise (the index only builds its links)."""
    value = request.args.get("week", "")
    try:
        day = date.fromisoformat(value) if value else _today()
    except ValueError:
        if strict:
            raise BadPeriod("week", gettext("Enter a day like 2026-11-30 (any day of the week).")) from None
        day = _today()
    return day - timedelta(days=day.weekday())


def _month(strict: bool = False) -> str:
    """The month the request names (`month`, like 2026-11), this month when none is named; a malformed one is
    BadPeriod when `strict`, this month otherwise."""
    value = request.args.get("month", "")
    try:
        if len(value) == 7:
            date.fromisoformat(f"{value}-01")
            return value
    except ValueError:
        pass
    if value and strict:
        raise BadPeriod("month", gettext("Enter a month like 2026-11."))
    return _today().strftime("%Y-%m")


def _hours(minutes) -> float | None:
    return None if minutes is None else round(float(minutes) / 60, 1)


def _zone(row: dict, key: str = "name") -> str:
    return row.get(key) or pgettext("report", "(no zone)")


def _counts(title: str, sid: str, header: str, rows: list, name) -> Section:
    return Section(
        sid,
        title,
        [Column(header), Column(pgettext("report", "Tickets"), "int")],
        [[name(r), r["count"]] for r in rows],
    )


# --- the reports ---------------------------------------------------------------------------------------------------


def weekly_statistics(community_id: str, week: date) -> Report:
    """工作周报: the week's tickets by kind and status, SLA compliance, satisfaction, complaints, patrols."""
    found = client.get_or_none(
        "/api/v1/tickets/reports/weekly", {"community_id": community_id, "week": week.isoformat()}
    )
    r = found or {}
    sla, visits = r.get("sla") or {}, r.get("satisfaction") or {}
    complaints, patrols = r.get("complaints") or {}, r.get("patrols") or {}
    summary = [
        (pgettext("report", "Total tickets"), (r.get("totals") or {}).get("tickets"), "int"),
        (pgettext("report", "Response within SLA"), (sla.get("response") or {}).get("compliance"), "percent"),
        (pgettext("report", "Resolution within SLA"), (sla.get("resolution") or {}).get("compliance"), "percent"),
        (pgettext("report", "Resolution breaches"), (sla.get("resolution") or {}).get("breached"), "int"),
        (
            pgettext("report", "Median response time (hours)"),
            _hours((r.get("response_time") or {}).get("p50_minutes")),
            "decimal",
        ),
        (
            pgettext("report", "Median resolution time (hours)"),
            _hours((r.get("resolution_time") or {}).get("p50_minutes")),
            "decimal",
        ),
        (pgettext("report", "Return visits reached"), visits.get("visits_reached"), "int"),
        (pgettext("report", "Average satisfaction (1–5)"), visits.get("average"), "decimal"),
        (pgettext("report", "Satisfied (4–5)"), visits.get("satisfied_rate"), "percent"),
        (pgettext("report", "Complaints"), complaints.get("count"), "int"),
        (pgettext("report", "Complaints overdue"), complaints.get("overdue"), "int"),
        (pgettext("report", "Patrol rounds"), patrols.get("rounds"), "int"),
        (pgettext("report", "Patrol rounds completed"), patrols.get("completed"), "int"),
        (pgettext("report", "Patrol findings"), patrols.get("findings"), "int"),
    ]
    statuses = sorted(((r.get("totals") or {}).get("by_status") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    sections = [
        Section("summary", pgettext("report", "Summary"), pairs=summary),
        _counts(
            pgettext("report", "By kind"),
            "by-kind",
            pgettext("report", "Kind"),
            r.get("by_category") or [],
            lambda x: label(x["key"], "category"),
        ),
        Section(
            "by-status",
            pgettext("report", "By status"),
            [Column(pgettext("report", "Status")), Column(pgettext("report", "Tickets"), "int")],
            [[label(k, "status"), n] for k, n in statuses],
        ),
        _counts(pgettext("report", "By zone"), "by-zone", pgettext("report", "Zone"), r.get("by_zone") or [], _zone),
        _counts(
            pgettext("report", "By department"),
            "by-department",
            pgettext("report", "Department"),
            r.get("by_department") or [],
            lambda x: label(x["key"], "department") or pgettext("report", "(none)"),
        ),
        Section(
            "patrols",
            pgettext("report", "Patrols by zone"),
            [
                Column(pgettext("report", "Zone")),
                Column(pgettext("report", "Rounds"), "int"),
                Column(pgettext("report", "Completed"), "int"),
                Column(pgettext("report", "Findings"), "int"),
            ],
            [[_zone(z), z["rounds"], z["completed"], z["findings"]] for z in patrols.get("by_zone") or []],
        ),
    ]
    period = f"{week.isoformat()} – {(week + timedelta(days=6)).isoformat()}"
    return Report("weekly", TITLES["weekly"](), period, sections, found is not None)


def complaint_report(community_id: str, month: str) -> Report:
    """客户投诉月报: the month's complaints by kind and zone, handling time, overdue, satisfaction, and the list."""
    found = client.get_or_none("/api/v1/tickets/reports/monthly", {"community_id": community_id, "month": month})
    c = (found or {}).get("complaints") or {}
    time_, visits = c.get("resolution_time") or {}, c.get("satisfaction") or {}
    summary = [
        (pgettext("report", "Complaints"), c.get("count"), "int"),
        (pgettext("report", "Resolved complaints"), time_.get("count"), "int"),
        (pgettext("report", "Median handling time (hours)"), _hours(time_.get("p50_minutes")), "decimal"),
        (pgettext("report", "Handling time P90 (hours)"), _hours(time_.get("p90_minutes")), "decimal"),
        (pgettext("report", "Resolved within SLA"), (c.get("sla") or {}).get("compliance"), "percent"),
        (pgettext("report", "Overdue"), c.get("overdue"), "int"),
        (pgettext("report", "Return visits reached"), visits.get("visits_reached"), "int"),
        (pgettext("report", "Average satisfaction (1–5)"), visits.get("average"), "decimal"),
        (pgettext("report", "Satisfied (4–5)"), visits.get("satisfied_rate"), "percent"),
        (pgettext("report", "Repeat complainants"), len(c.get("repeat_complainants") or []), "int"),
    ]
    listed = [
        [
            i.get("number"),
            i.get("created_at"),
            i.get("unit_label") or "",
            _zone(i, "zone_name"),
            label(i.get("subcategory"), "subcategory") or "—",
            label(i.get("status"), "status"),
            i.get("assignee_name") or "",
            i.get("resolved_at"),
            _hours(i.get("resolution_minutes")),
            pgettext("report", "Yes") if i.get("overdue") else pgettext("report", "No"),
            i.get("satisfaction"),
        ]
        for i in c.get("items") or []
    ]
    sections = [
        Section("summary", pgettext("report", "Summary"), pairs=summary),
        _counts(
            pgettext("report", "By kind of complaint"),
            "by-kind",
            pgettext("report", "Kind of complaint"),
            c.get("by_subcategory") or [],
            lambda x: label(x["key"], "subcategory") or pgettext("report", "(none)"),
        ),
        _counts(pgettext("report", "By zone"), "by-zone", pgettext("report", "Zone"), c.get("by_zone") or [], _zone),
        Section(
            "complaints",
            pgettext("report", "List of complaints"),
            [
                Column(pgettext("report", "Ticket")),
                Column(pgettext("report", "Logged"), "datetime"),
                Column(pgettext("report", "Unit")),
                Column(pgettext("report", "Zone")),
                Column(pgettext("report", "Kind of complaint")),
                Column(pgettext("report", "Status")),
                Column(pgettext("report", "Handled by")),
                Column(pgettext("report", "Resolved at"), "datetime"),
                Column(pgettext("report", "Handling time (hours)"), "decimal"),
                Column(pgettext("report", "Overdue")),
                Column(pgettext("report", "Satisfaction"), "int"),
            ],
            listed,
        ),
        Section(
            "repeat",
            pgettext("report", "Repeat complainants"),
            [Column(pgettext("report", "Units")), Column(pgettext("report", "Times complained"), "int")],
            [
                ["、".join(r.get("unit_numbers") or []) or "—", r["complaints"]]
                for r in c.get("repeat_complainants") or []
            ],
        ),
    ]
    return Report("complaints", TITLES["complaints"](), month, sections, found is not None)


def _method_section(report: dict) -> Section:
    return Section(
        "by-method",
        pgettext("report", "Payments by method"),
        [
            Column(pgettext("report", "Method")),
            Column(pgettext("report", "Payments"), "int"),
            Column(pgettext("report", "Amount"), "money"),
        ],
        [[label(m["method"], "method"), m["payments"], m["amount"]] for m in report.get("payments_by_method") or []],
    )


def _ageing_section(rows: list) -> Section:
    ages = {
        "0-30": pgettext("report", "0–30 days"),
        "31-90": pgettext("report", "31–90 days"),
        "91-180": pgettext("report", "91–180 days"),
        "181-365": pgettext("report", "181–365 days"),
        "over_365": pgettext("report", "Over a year"),
    }
    return Section(
        "ageing",
        pgettext("report", "Arrears by age and zone"),
        [
            Column(pgettext("report", "Zone")),
            *(Column(ages[a], "money") for a in AGES),
            Column(pgettext("report", "Total"), "money"),
        ],
        [[_zone(r), *((r.get("buckets") or {}).get(a) for a in AGES), r.get("total")] for r in rows],
    )


def fee_monthly(community_id: str, month: str) -> Report:
    """收费月报: the month's billed and collected, collection rate against the target, arrears — in all and by zone."""
    found = client.get_or_none("/api/v1/billing/reports/monthly", {"community_id": community_id, "month": month})
    r = found or {}
    s = r.get("summary") or {}
    owed = {a.get("key"): a for a in r.get("arrears_by_zone") or []}
    summary = [
        (pgettext("report", "Billed"), s.get("receivable"), "money"),
        (pgettext("report", "Collected"), s.get("collected"), "money"),
        (pgettext("report", "Collection rate"), s.get("collection_rate"), "percent"),
        (pgettext("report", "Target"), s.get("target"), "percent"),
        (pgettext("report", "Arrears at the month's start"), s.get("arrears_at_start"), "money"),
        (pgettext("report", "Arrears recovered"), s.get("recovered"), "money"),
        (pgettext("report", "Arrears recovery rate"), s.get("arrears_recovery_rate"), "percent"),
        (
            pgettext("report", "Arrears at the month's end"),
            ((r.get("arrears") or [{}])[0] or {}).get("total") or "0.00",
            "money",
        ),
    ]
    sections = [
        Section("summary", pgettext("report", "Summary"), pairs=summary),
        Section(
            "by-zone",
            pgettext("report", "By zone"),
            [
                Column(pgettext("report", "Zone")),
                Column(pgettext("report", "Billed"), "money"),
                Column(pgettext("report", "Collected"), "money"),
                Column(pgettext("report", "Collection rate"), "percent"),
                Column(pgettext("report", "Target"), "percent"),
                Column(pgettext("report", "Arrears recovery rate"), "percent"),
                Column(pgettext("report", "Arrears at the month's end"), "money"),
            ],
            [
                [
                    _zone(z),
                    z.get("receivable"),
                    z.get("collected"),
                    z.get("collection_rate"),
                    z.get("target"),
                    z.get("arrears_recovery_rate"),
                    (owed.get(z.get("key")) or {}).get("total") or "0.00",
                ]
                for z in r.get("by_zone") or []
            ],
        ),
        Section(
            "by-fee-item",
            pgettext("report", "By fee item"),
            [
                Column(pgettext("report", "Fee item")),
                Column(pgettext("report", "Billed"), "money"),
                Column(pgettext("report", "Bills"), "int"),
            ],
            [
                [
                    f["fee_item"] if f["fee_item"] != "other charges" else pgettext("report", "Other charges"),
                    f["receivable"],
                    f["bills"],
                ]
                for f in r.get("by_fee_item") or []
            ],
        ),
        _method_section(r),
        _ageing_section(r.get("arrears_by_zone") or []),
    ]
    return Report("fees-monthly", TITLES["fees-monthly"](), month, sections, found is not None)


def fee_weekly(community_id: str, week: date) -> Report:
    """收费周报: the week's collections by day, method and zone, and the month's rate and the arrears at its end."""
    found = client.get_or_none(
        "/api/v1/billing/reports/weekly", {"community_id": community_id, "week_of": week.isoformat()}
    )
    r = found or {}
    owed = {a.get("key"): a for a in r.get("arrears_by_zone") or []}
    summary = [
        (pgettext("report", "Collected this week"), r.get("collected"), "money"),
        (pgettext("report", "Month"), r.get("month")),
        (pgettext("report", "Collection rate at the week's start"), r.get("collection_rate_at_start"), "percent"),
        (pgettext("report", "Collection rate at the week's end"), r.get("collection_rate_at_end"), "percent"),
        (pgettext("report", "Arrears at the week's end"), r.get("arrears_total"), "money"),
    ]
    sections = [
        Section("summary", pgettext("report", "Summary"), pairs=summary),
        Section(
            "by-day",
            pgettext("report", "Collected by day"),
            [Column(pgettext("report", "Date"), "date"), Column(pgettext("report", "Amount"), "money")],
            [[d["date"], d["amount"]] for d in r.get("payments_by_day") or []],
        ),
        Section(
            "by-zone",
            pgettext("report", "By zone"),
            [
                Column(pgettext("report", "Zone")),
                Column(pgettext("report", "Billed this month"), "money"),
                Column(pgettext("report", "Collected this month"), "money"),
                Column(pgettext("report", "Collection rate"), "percent"),
                Column(pgettext("report", "Collected this week"), "money"),
                Column(pgettext("report", "Arrears at the week's end"), "money"),
            ],
            [
                [
                    _zone(z),
                    z.get("receivable"),
                    z.get("collected"),
                    z.get("collection_rate"),
                    z.get("collected_in_week"),
                    (owed.get(z.get("key")) or {}).get("total") or "0.00",
                ]
                for z in r.get("by_zone") or []
            ],
        ),
        _method_section(r),
    ]
    period = f"{week.isoformat()} – {(week + timedelta(days=6)).isoformat()}"
    return Report("fees-weekly", TITLES["fees-weekly"](), period, sections, found is not None)


# The reports' titles (called: translated in the request's or the workbook's language).
TITLES = {
    "weekly": lambda: pgettext("report", "Weekly statistics"),
    "complaints": lambda: pgettext("report", "Monthly complaint report"),
    "fees-monthly": lambda: pgettext("report", "Fee monthly report"),
    "fees-weekly": lambda: pgettext("report", "Fee weekly report"),
}

# name: (builder, the period it takes, the roles the index offers it to — the API still decides)
REPORTS = {
    "weekly": (weekly_statistics, "week", MANAGER_ROLES),
    "complaints": (complaint_report, "month", MANAGER_ROLES),
    "fees-monthly": (fee_monthly, "month", CASHIER_ROLES),
    "fees-weekly": (fee_weekly, "week", CASHIER_ROLES),
}
TEMPLATES = {
    "weekly": "report_weekly.html",
    "complaints": "report_complaints.html",
    "fees-monthly": "report_fees_monthly.html",
    "fees-weekly": "report_fees_weekly.html",
}


def _build(name: str) -> tuple[list, dict, Report, str]:
    if name not in REPORTS:
        abort(404)
    known, community = chosen_community()
    if community is None:
        abort(404)
    builder, kind, _roles = REPORTS[name]
    period = _week(strict=True) if kind == "week" else _month(strict=True)
    return known, community, builder(community["id"], period), period


def _bad_period(name: str, error: BadPeriod):
    """The report's page with its period form and the error under the field, no figures (400)."""
    known, community = chosen_community()
    _builder, kind, _roles = REPORTS[name]
    period = _week() if kind == "week" else _month()
    report = Report(name, TITLES[name](), "", [], True)
    page = render_template(
        TEMPLATES[name],
        communities=known,
        community=community,
        report=report,
        period=period,
        name=name,
        errors={error.field: error.message},
    )
    return page, 400


@bp.get("")
def index():
    role = me().get("role")
    known, community = chosen_community()
    offered = [name for name, (_b, _k, roles) in REPORTS.items() if role in roles]
    return render_template(
        "reports.html", communities=known, community=community, offered=offered, week=_week(), month=_month()
    )


@bp.get("/<name>")
def show(name):
    try:
        known, community, report, period = _build(name)
    except BadPeriod as error:
        return _bad_period(name, error)
    return render_template(
        TEMPLATES[name], communities=known, community=community, report=report, period=period, name=name, errors={}
    )


def workbook(community: dict, report: Report) -> bytes:
    """The report's sections as sheets: a summary of pairs, then one sheet per table."""
    book = Workbook(current_app.extensions["guanjia.settings"].timezone)
    for section in report.sections:
        if section.pairs:
            heading = [(pgettext("report", "Report"), f"{report.title} {community['name']} {report.period}")]
            book.pairs(
                section.title, heading + section.pairs, (pgettext("report", "Item"), pgettext("report", "Value"))
            )
        else:
            book.sheet(section.title, section.columns, section.rows)
    return book.to_bytes()


@bp.get("/<name>.xlsx")
def download(name):
    """The report as an XLSX workbook, in Chinese (sheet names, headers, labels) whatever the screen's language."""
    try:
        with force_locale("zh_CN"):
            _known, community, report, period = _build(name)
            content = workbook(community, report)
            filename = f"{report.title}-{community['name']}-{report.period.replace(' ', '')}.xlsx"
    except BadPeriod as error:
        return _bad_period(name, error)
    return Response(
        content,
        mimetype=XLSX_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="report-{name}-{str(period)}.xlsx"; '
            f"filename*=UTF-8''{q(filename)}"
        },
    )
