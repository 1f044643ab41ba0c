"""欠费 — arrears by zone, building or butler with the ageing buckets, drilled down to the collection list
(催缴清单) a butler works through: unit, payer (masked by the residents API), amount owed, months overdue, the last
reminder and the latest contact note — on screen, printable, and as XLSX with Chinese sheet and column names."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for

from guanjia import web
from guanjia.workbook import XLSX_TYPE, Column, Workbook

from .. import client
from ..i18n import label
from .common import items
from .forms import attempt, chosen_community, form_values, q

bp = Blueprint("arrears", __name__, url_prefix="/arrears")
GROUPS = ("zone", "building", "butler")
AGES = ("0-30", "31-90", "91-180", "181-365", "over_365")
AGE_NAMES = {"0-30": "0–30天", "31-90": "31–90天", "91-180": "91–180天", "181-365": "181–365天", "over_365": "一年以上"}
GROUP_NAMES = {"zone": "片区", "building": "楼栋", "butler": "管家"}
STAGE_NAMES = {"first": "首次催缴", "second": "二次催缴", "final": "最后催缴"}
OUTCOMES = ("reached", "unreachable", "promised", "refused")
FILTERS = ("zone_id", "building_id", "butler_id", "as_of")


def _as_of() -> date:
    """The day the figures are as of: `as_of` (a list printed for a month's end) or today, local."""
    try:
        return date.fromisoformat(request.values.get("as_of", ""))
    except ValueError:
        return web.now().astimezone(ZoneInfo(current_app.extensions["guanjia.settings"].timezone)).date()


def months_overdue(oldest_due: str | date | None, as_of: date) -> int:
    """Months begun since the oldest unpaid due date: 1 day to a month late is 1, a month and a day is 2."""
    if not oldest_due:
        return 0
    due = date.fromisoformat(oldest_due) if isinstance(oldest_due, str) else oldest_due
    if due >= as_of:
        return 0
    whole = (as_of.year - due.year) * 12 + as_of.month - due.month - (1 if as_of.day < due.day else 0)
    started = as_of.day != due.day or whole == 0
    return whole + (1 if started else 0)


@bp.get("")
def index():
    """The arrears of a community grouped by zone, building or butler, each group opening its collection list."""
    known, community = chosen_community()
    group_by = request.args.get("group_by") if request.args.get("group_by") in GROUPS else "zone"
    found = None
    if community:
        found = client.get_or_none(
            "/api/v1/billing/arrears",
            {"community_id": community["id"], "group_by": group_by, "as_of": _as_of().isoformat()},
        )
    rows = (found or {}).get("items") or []
    if group_by == "building" and rows:
        # Billing names zones and butlers; buildings by name come from residents (the structure's source).
        buildings = items(client.get("/api/v1/buildings", {"community_id": community["id"], "page_size": 100}))
        names = {b["id"]: b["name"] for b in buildings}
        rows = [{**row, "name": row.get("name") or names.get(row["key"], "")} for row in rows]
    return render_template(
        "arrears.html",
        communities=known,
        community=community,
        group_by=group_by,
        as_of=_as_of(),
        groups=GROUPS,
        rows=rows,
        total=(found or {}).get("total"),
        can_read=found is not None,
        ages=AGES,
        age_names=AGE_NAMES,
    )


def _all(path: str, params: dict) -> list:
    """Every row of a paged list of the API (at its largest page)."""
    found, page = [], 1
    while True:
        rows = items(client.get(path, {**params, "page": page, "page_size": 100}))
        found += rows
        if len(rows) < 100:
            return found
        page += 1


def _by_id(path: str, params: dict, ids: set) -> dict:
    """{id: record} of these ids: one GET each for a short list, else the whole scoped list page by page (and a GET
    for any it did not hold, e.g. a payer who has moved out)."""
    found = {row["id"]: row for row in _all(path, params)} if len(ids) > 20 else {}
    for missing in ids - found.keys():
        found[missing] = client.get_or_none(f"{path}/{q(missing)}") or {}
    return found


def collection_rows(community_id: str, scope: dict) -> tuple[list, date, str]:
    """(rows of the collection list for the zone, building or butler in `scope`, the date it is as of, its title)."""
    as_of = _as_of()
    params = {"community_id": community_id, "as_of": as_of.isoformat()}
    zone_ids, unit_ids, title = None, None, ""
    if scope.get("zone_id"):
        zone = client.get(f"/api/v1/zones/{q(scope['zone_id'])}")
        params["zone_id"], title = zone["id"], zone["name"]
    elif scope.get("building_id"):
        building = client.get(f"/api/v1/buildings/{q(scope['building_id'])}")
        unit_ids = {unit["id"] for unit in _all("/api/v1/units", {"building_id": building["id"]})}
        title = building["name"]
    elif scope.get("butler_id"):
        zones = items(client.get("/api/v1/zones", {"community_id": community_id, "page_size": 100}))
        mine = [z for z in zones if scope["butler_id"] in (z.get("butler_ids") or [])]
        zone_ids = {z["id"] for z in mine}
        for zone in mine:
            title = title or dict(zip(zone["butler_ids"], zone.get("butler_names") or [], strict=False)).get(
                scope["butler_id"], ""
            )
    found = [
        item
        for item in client.get("/api/v1/billing/collection-list", params).get("items") or []
        if (unit_ids is None or item["unit_id"] in unit_ids) and (zone_ids is None or item.get("zone_id") in zone_ids)
    ]
    lookup = {"community_id": community_id, "zone_id": params.get("zone_id")}
    units = _by_id("/api/v1/units", lookup, {item["unit_id"] for item in found})
    payers = _by_id("/api/v1/residents", lookup, {item["payer_id"] for item in found if item.get("payer_id")})
    rows = []
    for item in found:
        unit, payer = units.get(item["unit_id"]) or {}, payers.get(item.get("payer_id")) or {}
        notes = item.get("notes") or []
        rows.append(
            {
                **item,
                "unit_label": unit.get("unit_label") or item.get("unit_number") or "",
                "payer_name": payer.get("name") or "",
                "payer_phone": payer.get("phone") or "",
                "months": months_overdue(item.get("oldest_due_date"), as_of),
                "note": notes[0] if notes else None,
            }
        )
    return rows, as_of, title


def _scope() -> dict:
    return {k: request.values[k] for k in FILTERS if request.values.get(k)}


def _list_page(values: dict, errors: dict, status: int = 200):
    _known, community = chosen_community()
    if community is None:
        abort(404)
    scope = _scope()
    rows, as_of, title = collection_rows(community["id"], scope)
    page = render_template(
        "arrears_list.html",
        community=community,
        scope=scope,
        title=title,
        rows=rows,
        as_of=as_of,
        outcomes=OUTCOMES,
        values=values,
        errors=errors,
    )
    return page, status


@bp.get("/list")
def collection_list():
    return _list_page({}, {})


@bp.post("/list/notes")
def add_note():
    """A contact note (who was reached, what was promised) on a unit of the list; back to the same list."""
    values = form_values("unit_id", "outcome", "promised_on", "note")
    _done, errors = attempt(client.post, "/api/v1/billing/collection-notes", values)
    if errors:
        return _list_page({values.get("unit_id", ""): values}, {values.get("unit_id", ""): errors}, 422)
    community_id = request.form.get("community_id", "")
    return redirect(url_for("arrears.collection_list", community_id=community_id, **_scope()), code=303)


@bp.get("/list.xlsx")
def collection_xlsx():
    """The collection list as a workbook: sheet 催缴清单, Chinese headers, amounts as numbers in yuan."""
    _known, community = chosen_community()
    if community is None:
        abort(404)
    rows, as_of, title = collection_rows(community["id"], _scope())
    book = Workbook(current_app.extensions["guanjia.settings"].timezone)
    book.sheet(
        "催缴清单",
        [Column("房屋"), Column("缴费人"), Column("联系电话"), Column("欠费金额", "money"), Column("欠费月数", "int"),
         Column("最早应缴日", "date"), Column("欠费账单数", "int"), Column("最近催缴"), Column("最近催缴日", "date"),
         Column("最近联系"), Column("承诺缴费日", "date"), Column("备注")],
        [
            (r["unit_label"], r["payer_name"], r["payer_phone"], r["amount_due"], r["months"], r["oldest_due_date"],
             r["bills"], STAGE_NAMES.get((r.get("last_reminder") or {}).get("stage"), ""),
             (r.get("last_reminder") or {}).get("noticed_on"),
             label(r["note"]["outcome"], "outcome") if r["note"] else "",
             (r["note"] or {}).get("promised_on"), (r["note"] or {}).get("note"))
            for r in rows
        ],
    )  # fmt: skip
    name = f"催缴清单-{community['name']}{('-' + title) if title else ''}-{as_of.isoformat()}.xlsx"
    return Response(
        book.to_bytes(),
        mimetype=XLSX_TYPE,
        headers={"Content-Disposition": f"attachment; filename=\"collection-list-{as_of.isoformat()}.xlsx\"; "
                 f"filename*=UTF-8''{q(name)}"},
    )  # fmt: skip
