"""docs/residents.md's table of import headers and the importer agree, both ways."""

import re
from pathlib import Path

from residents.domain import roster

DOC = Path(__file__).resolve().parents[4] / "docs" / "residents.md"


def doc_headers() -> list[dict]:
    """The rows of the table between the import-headers markers."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- import-headers", 1)[1].split("<!-- /import-headers -->", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0].startswith(("工作表", "---")):
            continue
        label, sheet = re.fullmatch(r"(\S+) / `(\w+)`", cells[0]).groups()
        also = [] if cells[2] == "—" else cells[2].split("、")
        rows.append(
            {
                "label": label,
                "sheet": sheet,
                "headers": [cells[1], *also],
                "column": cells[3].strip("`"),
                "required": cells[4] == "是",
            }
        )
    return rows


def test_every_documented_header_is_read_as_its_column_on_its_sheet():
    rows = doc_headers()
    assert len(rows) == sum(len(c) for c in roster.COLUMNS.values())
    for row in rows:
        assert roster.SHEETS[row["sheet"]] == row["label"]
        for header in row["headers"]:
            assert roster.ALIASES[row["sheet"]][header] == row["column"], (row["sheet"], header)
        assert (row["column"] in roster.REQUIRED[row["sheet"]]) is row["required"]


def test_the_importer_knows_no_header_the_docs_do_not_list():
    documented = {(r["sheet"], h) for r in doc_headers() for h in r["headers"]}
    assert {(sheet, h) for sheet, names in roster.ALIASES.items() for h in names} == documented


def test_a_documented_header_is_not_refused_by_the_reader():
    for row in doc_headers():
        header = [row["headers"][-1]] + [
            roster.HEADERS[row["sheet"]][c][0] for c in roster.REQUIRED[row["sheet"]] if c != row["column"]
        ]
        assert roster._rows(row["sheet"], header, []) == []
