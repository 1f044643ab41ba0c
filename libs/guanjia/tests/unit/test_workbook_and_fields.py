"""guanjia.workbook (house style, text never a formula, bounded reading) and guanjia.fields (decimal input)."""

import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import marshmallow as ma
import openpyxl
import pytest

from guanjia import fields, workbook
from guanjia.errors import Invalid


def _book() -> openpyxl.Workbook:
    book = workbook.Workbook("Asia/Shanghai")
    columns = [
        workbook.Column("名称"),
        workbook.Column("金额", "money"),
        workbook.Column("收缴率", "percent"),
        workbook.Column("日期", "date"),
        workbook.Column("时间", "datetime"),
        workbook.Column("户数", "int"),
    ]
    rows = [
        ["=1+1", "1234.50", "0.8512", date(2026, 11, 30), datetime(2026, 11, 30, 16, 30, tzinfo=UTC), 3],
        ["@SUM(A1)", Decimal("-0.05"), None, "2026-12-01", None, 0],
        ["张\x00三\x1f", "x", "0.5", None, None, None],
    ]
    book.sheet("明细", columns, rows)
    book.pairs("汇总", [("合计", "1234.45", "money"), ("备注", "-注意")])
    return openpyxl.load_workbook(io.BytesIO(book.to_bytes()))


def test_cells_are_typed_formatted_and_user_text_never_runs():
    book = _book()
    sheet = book["明细"]
    assert [c.value for c in sheet[1]] == ["名称", "金额", "收缴率", "日期", "时间", "户数"]
    assert sheet.freeze_panes == "A2" and sheet.column_dimensions["A"].width >= 8
    first = sheet[2]
    assert first[0].value == "=1+1" and first[0].data_type == "s"
    assert first[1].value == 1234.5 and first[1].number_format == '"¥"#,##0.00'
    assert first[2].value == 0.8512 and first[2].number_format == "0.00%"
    assert first[3].value.date() == date(2026, 11, 30)
    assert first[4].value == datetime(2026, 12, 1, 0, 30)  # local time, as staff read it
    assert sheet["A3"].data_type == "s" and sheet["B3"].value == -0.05
    assert sheet["A4"].value == "张三" and sheet["B4"].value == "x"  # not a number: kept as text
    assert book["汇总"]["B3"].value == "-注意" and book["汇总"]["B3"].data_type == "s"


def _bomb(unpacked: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/sharedStrings.xml", "w") as part:
            for _ in range(unpacked // (1024 * 1024)):
                part.write(b"A" * 1024 * 1024)
    return out.getvalue()


def test_an_upload_that_unpacks_too_far_is_refused_from_its_directory():
    with pytest.raises(workbook.TooLarge):
        workbook.check_xlsx(_bomb(64 * 1024 * 1024))
    with pytest.raises(Invalid):
        workbook.check_xlsx(b"PK not a zip")
    workbook.check_xlsx(_bomb(1024 * 1024))  # well within the ratio for its size


def test_a_csv_field_over_the_limit_is_invalid_not_a_parser_error():
    rows = workbook.read_csv_rows("a,b\n1," + "x" * (128 * 1024 + 1) + "\n")
    assert next(rows) == (1, ["a", "b"])
    with pytest.raises(Invalid) as error:
        next(rows)
    assert "row 2" in str(error.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2.35", Decimal("2.3500")), (2.35, Decimal("2.3500")), (3, Decimal("3.0000")), ("0", Decimal("0.0000"))],
)
def test_a_decimal_is_read_from_a_string_or_a_json_number(value, expected):
    class Schema(ma.Schema):
        rate = fields.Decimal(places=4)

    assert Schema().load({"rate": value}) == {"rate": expected}
    assert Schema().dump({"rate": expected}) == {"rate": str(expected)}


@pytest.mark.parametrize("value", [True, None, "1e3", "NaN", float("inf"), "2.35001", 1e300, "", " 2", [1]])
def test_anything_else_is_refused(value):
    class Schema(ma.Schema):
        rate = fields.Decimal(places=4)

    with pytest.raises(ma.ValidationError):
        Schema().load({"rate": value})
