"""Keep the message catalogues in step with the code: `python -m workbench.catalogue [openapi.json]`.

Adds every message of the templates and Python files (and, given a merged OpenAPI document, every enum value
under msgctxt "enum") to each translations/<lang>/LC_MESSAGES/messages.po with an empty translation, keeps
what is translated, and writes each file sorted, without source locations: two branches that add messages
touch different lines, so catalogues merge like code. Then fill in the zh_CN msgstr of the new entries.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from .i18n import ENUM_CONTEXT, LOCALES, TRANSLATIONS

HERE = Path(__file__).resolve().parent
FIXED_DATE = datetime(2026, 12, 1, tzinfo=UTC)
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "lazy_gettext": None}


def code_messages() -> set[tuple[str | None, str]]:
    """(context, msgid) of every message the templates and the Python code ask for."""
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(HERE), METHODS, keywords=KEYWORDS, options_map={"**/templates/**.html": {"extensions": ""}}
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.add((context, msgid))
    return found


def enum_values(document: dict) -> set[str]:
    """Every string enum value anywhere in an OpenAPI document (schemas and parameters)."""
    values: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            enum = node.get("enum")
            if isinstance(enum, list):
                values.update(v for v in enum if isinstance(v, str) and v)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return values


def read(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def write(catalogue: Catalog, locale: str) -> None:
    # A header that never changes by itself (no creation date of this run): nothing to merge there.
    catalogue.project, catalogue.version = "guanjia-workbench", "1"
    catalogue.creation_date = catalogue.revision_date = FIXED_DATE
    catalogue.msgid_bugs_address = catalogue.last_translator = catalogue.language_team = ""
    buffer = io.BytesIO()
    write_po(buffer, catalogue, width=0, no_location=True, omit_header=False, sort_output=True)
    (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").write_bytes(buffer.getvalue())


def update(document: dict | None = None) -> dict[str, int]:
    wanted = code_messages()
    if document is not None:
        wanted |= {(ENUM_CONTEXT, value) for value in enum_values(document)}
    added = {}
    for locale in LOCALES:
        catalogue = read(locale)
        count = 0
        for context, msgid in sorted(wanted, key=lambda m: (m[0] or "", m[1])):
            if catalogue.get(msgid, context=context) is None:
                catalogue.add(msgid, "", context=context)
                count += 1
        write(catalogue, locale)
        added[locale] = count
    return added


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    document = json.loads(Path(argv[0]).read_text()) if argv else None
    for locale, count in update(document).items():
        print(f"{locale}: {count} new message(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
