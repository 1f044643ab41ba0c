"""Spreadsheets: one house style for every service's XLSX exports and reports, and bounded reading of uploads.

Writing: Chinese headers, numbers as numbers with number formats (money ¥ with two decimals, rates as %), a
frozen header row, column widths, and every user-supplied text written as text — never as a formula (a name
starting with = + - @ stays a name) and stripped of the control characters XLSX cannot hold.

Reading: an upload is checked before it is parsed — total and per-part decompressed size, compression ratio —
so a small file that unpacks to hundreds of MB (a sharedStrings bomb) is refused with 413, and an over-long cell
with 422, instead of being loaded in full.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from .errors import Invalid, ProblemError

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Number formats (Excel codes): what a finance office expects to see and to SUM.
FORMATS = {
    "int": "#,##0",
    "decimal": "#,##0.00",
    "money": '"¥"#,##0.00',
    "percent": "0.00%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}
KINDS = ("text", *FORMATS)

# XLSX (XML 1.0) cannot hold C0 controls other than tab/newline/CR; openpyxl raises on them.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A text that a spreadsheet would run as a formula (or DDE) if it were typed in.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
MAX_CELL = 32_767  # Excel's limit on the characters of one cell


@dataclass(frozen=True)
class Column:
    """A column of a sheet: its (Chinese) header, the kind of value, an optional fixed width."""

    header: str
    kind: str = "text"
    width: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind}")


def safe_text(value) -> str:
    """A user-supplied text as it may stand in a cell: control characters dropped, at most 32,767 characters."""
    text = _ILLEGAL.sub("", str(value))
    return text[:MAX_CELL]


def _display_width(value) -> int:
    text = value if isinstance(value, str) else _shown(value)
    # CJK characters take two columns of a Latin one.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text[:60])


def _shown(value) -> str:
    if isinstance(value, Decimal | float | int):
        return f"{value:,.2f}"
    return str(value)


def _number(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    # openpyxl writes a Decimal exactly as its digits; an integral one is written as an integer.
    return number


class Workbook:
    """A workbook in the house style; add sheets, then `to_bytes()`.

    Built on openpyxl's write-only mode: rows stream to the file, so a 50,000-row roster costs little memory.
    """

    def __init__(self, timezone: str = "Asia/Shanghai"):
        from openpyxl import Workbook as _Book

        self._book = _Book(write_only=True)
        self._zone = ZoneInfo(timezone)
        self._styles: dict = {}

    def _style(self, kind: str):
        """One named style per kind, shared by all cells (a per-cell style would bloat the file)."""
        if kind not in self._styles:
            from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill

            style = NamedStyle(name=f"guanjia-{kind}")
            if kind == "header":
                style.font = Font(bold=True)
                style.fill = PatternFill("solid", fgColor="DDEBF7")
                style.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            elif kind == "label":
                style.font = Font(bold=True)
            elif kind == "text":
                # quotePrefix: Excel keeps the cell text even when someone edits it and presses Enter.
                style.quotePrefix = True
            else:
                style.number_format = FORMATS[kind]
            self._book.add_named_style(style)
            self._styles[kind] = style.name
        return self._styles[kind]

    def _cell(self, sheet, value, kind: str):
        from openpyxl.cell import WriteOnlyCell

        if value is None or value == "":
            return None
        if kind == "text" or kind == "label":
            text = safe_text(value)
            if kind == "text" and not text.startswith(_FORMULA_START):
                return text  # a plain string: openpyxl writes it as a string, no styled cell needed
            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"  # a string, never a formula, whatever it starts with
            cell.style = self._style(kind)
            return cell
        if kind in ("date", "datetime"):
            if isinstance(value, str):
                try:
                    value = datetime.fromisoformat(value) if kind == "datetime" else date.fromisoformat(value[:10])
                except ValueError:
                    return safe_text(value)
            if isinstance(value, datetime):
                if value.tzinfo is not None:
                    value = value.astimezone(self._zone).replace(tzinfo=None)  # local time, as staff read it
                if kind == "date":
                    value = value.date()
            cell = WriteOnlyCell(sheet, value=value)
        else:
            number = _number(value)
            if number is None:
                return safe_text(value)
            cell = WriteOnlyCell(sheet, value=number)
        cell.style = self._style(kind)
        return cell

    def sheet(self, title: str, columns: list[Column], rows: Iterable[Iterable]) -> None:
        """A table: a frozen, bold header row, then one row per item (values in the order of `columns`)."""
        from openpyxl.utils import get_column_letter

        rows = rows if isinstance(rows, list) else list(rows)
        sheet = self._book.create_sheet(safe_text(title)[:31])
        for index, column in enumerate(columns, start=1):
            width = column.width
            if width is None:
                sample = [r[index - 1] for r in rows[:200] if index - 1 < len(r) and r[index - 1] is not None]
                width = max([_display_width(column.header), *(_display_width(v) for v in sample)]) + 2
            sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 8), 60)
        sheet.freeze_panes = "A2"
        header = []
        for column in columns:
            from openpyxl.cell import WriteOnlyCell

            cell = WriteOnlyCell(sheet, value=safe_text(column.header))
            cell.style = self._style("header")
            header.append(cell)
        sheet.append(header)
        kinds = [c.kind for c in columns]
        for row in rows:
            sheet.append([self._cell(sheet, value, kind) for value, kind in zip(row, kinds, strict=False)])

    def pairs(self, title: str, items: Iterable[tuple], headers: tuple[str, str] = ("项目", "数值")) -> None:
        """A summary sheet: one (label, value, kind) per row, labels in bold."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.utils import get_column_letter

        items = list(items)
        sheet = self._book.create_sheet(safe_text(title)[:31])
        widths = (
            max([_display_width(headers[0]), *(_display_width(i[0]) for i in items)]) + 2,
            max([_display_width(headers[1]), *(_display_width(i[1]) for i in items if i[1] is not None)]) + 4,
        )
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 10), 60)
        sheet.freeze_panes = "A2"
        header = []
        for text in headers:
            cell = WriteOnlyCell(sheet, value=text)
            cell.style = self._style("header")
            header.append(cell)
        sheet.append(header)
        for label, value, *kind in items:
            sheet.append([self._cell(sheet, label, "label"), self._cell(sheet, value, kind[0] if kind else "text")])

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        if not self._book.worksheets:
            self._book.create_sheet("空")
        self._book.save(buffer)
        return buffer.getvalue()


# --- reading uploads -------------------------------------------------------------------------------------------


class TooLarge(ProblemError):
    status = 413
    title = "Upload too large"


@dataclass(frozen=True)
class Limits:
    """How far an uploaded workbook may unpack: in total, relative to its size, per cell."""

    max_unpacked: int = 256 * 1024 * 1024
    max_ratio: int = 200  # ordinary sheets compress 5–30×; a bomb 1000×
    max_cell: int = MAX_CELL


def check_xlsx(content: bytes, limits: Limits = Limits()) -> None:
    """Refuse (413) a workbook whose parts would unpack past the limits — decided from the zip directory, before
    any XML is parsed. The declared sizes bind: Python's zip reader stops at the declared size of each part."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise Invalid("file", "not an XLSX workbook") from None
    with archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    allowed = min(limits.max_unpacked, max(len(content), 64 * 1024) * limits.max_ratio)
    if unpacked > allowed:
        raise TooLarge(
            f"the workbook unpacks to {unpacked // (1024 * 1024)} MiB; at most {allowed // (1024 * 1024)} MiB allowed",
            errors={"file": [f"unpacks to more than {allowed} bytes"]},
        )


def read_xlsx(content: bytes, limits: Limits = Limits()) -> Iterator[tuple[str, Iterator[tuple[int, list]]]]:
    """(sheet title, rows) for every sheet of a checked upload; rows are (row number, values), header first.

    A cell longer than `limits.max_cell` characters is refused with 422 naming its sheet and row.
    """
    import openpyxl

    check_xlsx(content, limits)
    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise Invalid("file", "not an XLSX workbook") from None

    def rows(ws) -> Iterator[tuple[int, list]]:
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            for value in row:
                if isinstance(value, str) and len(value) > limits.max_cell:
                    raise Invalid("file", f"sheet {safe_text(ws.title)[:31]} row {number}: a cell is too long")
            yield number, list(row)

    try:
        for ws in book.worksheets:
            yield ws.title, rows(ws)
    finally:
        book.close()


def read_csv_rows(text: str) -> Iterator[tuple[int, list]]:
    """(row number, values) of a CSV text; a field over the csv module's limit (128 KiB) is 422, not a 500."""
    import csv

    reader = csv.reader(io.StringIO(text))
    number = 0  # records, not lines: a quoted field may span lines
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            too_long = "field larger than field limit" in str(exc)
            message = f"a field is longer than {csv.field_size_limit()} characters" if too_long else "not valid CSV"
            raise Invalid("file", f"row {number + 1}: {message}") from None
        number += 1
        yield number, row
