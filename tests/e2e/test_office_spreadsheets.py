"""Chinese spreadsheets and a complete billing run, in both run modes, through the gateway as a client would."""

import io
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl

from .conftest import Client, make_household

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(sheets: dict) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # a name typed as text, as an office's file would hold it
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _no_formulas(content: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return all(b"<f>" not in archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/"))


def test_a_chinese_roster_imports_and_a_run_right_after_bills_every_unit(stack, admin):
    household = make_household(admin)
    cid = household["community"]["id"]
    template = admin.get("/api/v1/imports/template.xlsx")
    assert template.status_code == 200 and template.headers["Content-Type"].startswith(XLSX)
    assert openpyxl.load_workbook(io.BytesIO(template.content)).sheetnames == ["楼栋", "房屋", "住户", "说明"]

    units = [["楼栋", "房号", "楼层", "类型", "建筑面积"]] + [
        ["2栋", f"2-{i:03d}", 1 + i // 10, "住宅", 90] for i in range(60)
    ]
    people = [
        ["楼栋", "房号", "姓名", "手机", "身份"],
        ["2栋", "2-000", '=HYPERLINK("http://x.example","点")', "13800138991", "业主"],
    ]
    imported = admin.post(
        "/api/v1/imports",
        params={"community_id": cid, "dry_run": "false"},
        files={"file": ("roster.xlsx", _xlsx({"房屋": units, "住户": people}), XLSX)},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["units"]["created"] == 60

    # At once — billing's projection may not have heard of the new units yet: the run asks residents.
    fee = admin.created(
        "/api/v1/billing/fee-items",
        {
            "community_id": cid,
            "name": "物业服务费",
            "kind": "property_service",
            "basis": "per_m2",
            "rate": 2.5,
            "effective_from": "2026-01-01",
        },
    )
    assert fee["rates"][0]["rate"] == "2.5000"
    run = admin.post("/api/v1/billing-runs", json={"community_id": cid, "period": "2026-11"})
    assert run.status_code == 201, run.text
    body = run.json()
    assert body["units_total"] == 61 and body["bills_created"] == 61, body
    assert body["units_skipped"] == {}

    exported = admin.get(f"/api/v1/communities/{cid}/roster.xlsx")
    assert exported.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(exported.content))
    assert book.sheetnames == ["楼栋", "房屋", "住户"]
    names = {row[2].value: row[2] for row in book["住户"].iter_rows(min_row=2)}
    assert names['=HYPERLINK("http://x.example","点")'].data_type == "s" and _no_formulas(exported.content)

    report = admin.get(
        "/api/v1/billing/reports/monthly", params={"community_id": cid, "month": "2026-11", "format": "xlsx"}
    )
    assert report.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(report.content))["按收费项目"]
    assert [c.value for c in sheet[2]] == ["物业服务费", 13723.75, 61]  # 60 × 90 m² × 2.50 + 89.50 m² × 2.50


def test_a_residents_odd_subcategory_does_not_break_the_months_workbook(stack, admin):
    household = make_household(admin)
    resident = Client(stack.url).login(*household["login"])
    for subcategory in ("噪音\x07", "=cmd|' /C calc'!A0"):
        created = resident.post(
            "/api/v1/tickets",
            json={
                "unit_id": household["unit"]["id"],
                "category": "complaint",
                "subcategory": subcategory,
                "description": "楼上噪音",
            },
        )
        assert created.status_code == 201, created.text
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    report = admin.get(
        "/api/v1/tickets/reports/monthly",
        params={"community_id": household["community"]["id"], "month": month, "format": "xlsx"},
    )
    assert report.status_code == 200, report.text[:300]
    book = openpyxl.load_workbook(io.BytesIO(report.content))
    assert {row[0] for row in book["按子类"].iter_rows(min_row=2, values_only=True)} >= {"噪音", "=cmd|' /C calc'!A0"}
    assert _no_formulas(report.content)
