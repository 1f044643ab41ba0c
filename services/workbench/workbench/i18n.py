"""Languages (zh-CN first, English), enum labels, and how times and money are shown.

The catalogues are kept as text only (translations/<lang>/LC_MESSAGES/messages.po, sorted); they are compiled
to .mo files in a temporary folder when the app is created, so no binary is ever committed or merged.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import g, request
from flask_babel import pgettext

from guanjia.money import yuan_text

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LANG_COOKIE = "gj_lang"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
# An enum value's label is looked up as msgctxt "enum.<field>" first (a value whose meaning depends on the
# field), then msgctxt "enum": one label per value serves every schema of the merged OpenAPI.
ENUM_CONTEXT = "enum"


def compile_catalogues(source: Path = TRANSLATIONS) -> str:
    """Compile every messages.po into <tmp>/<lang>/LC_MESSAGES/messages.mo; returns the folder."""
    target = Path(tempfile.mkdtemp(prefix="workbench-i18n-"))
    for po in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        locale = po.parent.parent.name
        with po.open("rb") as handle:
            catalogue = read_po(handle, locale=locale)
        # Babel names zh_CN "zh_Hans_CN" when flask-babel looks the catalogue up: both folders hold it.
        for name in {locale, str(Locale.parse(locale))}:
            out = target / name / "LC_MESSAGES"
            out.mkdir(parents=True)
            with (out / "messages.mo").open("wb") as handle:
                write_mo(handle, catalogue)
    return str(target)


def read_catalogue(locale: str):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def select_locale() -> str:
    web_session = g.get("web_session")
    if web_session is not None and web_session.locale in LOCALES:
        return web_session.locale
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def label(value, field: str | None = None) -> str:
    """The label of an enum value in the current language (the value itself when none is catalogued)."""
    if value is None or value == "":
        return ""
    text = str(value)
    if field:
        specific = pgettext(f"{ENUM_CONTEXT}.{field}", text)
        if specific != text:
            return specific
    return pgettext(ENUM_CONTEXT, text)


def local_time(value, timezone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An API time (ISO 8601, UTC) in the instance's timezone: 2026-12-02 09:30."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        return value.strftime(fmt)
    return value.astimezone(ZoneInfo(timezone)).strftime(fmt)


def money(value) -> str:
    """A decimal string of yuan ("1234.5") as ¥1,234.50 (guanjia.money.yuan_text); nothing for no amount, and a
    value that is no amount as it is (a page never fails on one figure)."""
    if value is None or value == "":
        return ""
    try:
        return yuan_text(value if isinstance(value, Decimal) else str(value))
    except ValueError:
        return str(value)
