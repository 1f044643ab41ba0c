"""Operators' own wording of the SMS templates (checked against each template's variables)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.errors import Forbidden, Invalid, NotFound

from ..models import TemplateOverride
from ..templates import LOCALES, TEMPLATES, validate_text

TEMPLATE_ROLES = ("admin",)


def template_overrides(session: Session) -> dict:
    """{(template key, locale): text} of every override."""
    return {(o.key, o.locale): o.text for o in session.execute(select(TemplateOverride)).scalars()}


def list_templates(session: Session) -> list[dict]:
    overrides = template_overrides(session)
    return [
        {
            "key": t.key,
            "variables": list(t.variables),
            "texts": {loc: overrides.get((t.key, loc)) or t.texts[loc] for loc in LOCALES},
            "overridden": sorted(loc for loc in LOCALES if (t.key, loc) in overrides),
        }
        for t in TEMPLATES.values()
    ]


def set_template(session: Session, principal: Principal, now: datetime, key: str, locale: str, text: str) -> dict:
    if principal.role not in TEMPLATE_ROLES:
        raise Forbidden("only an admin changes templates")
    if key not in TEMPLATES:
        raise NotFound(f"template {key} not found")
    if locale not in LOCALES:
        raise Invalid("locale", f"one of {', '.join(LOCALES)}")
    validate_text(key, text)
    row = session.get(TemplateOverride, (key, locale))
    if row is None:
        row = TemplateOverride(key=key, locale=locale)
        session.add(row)
    row.text, row.updated_by, row.updated_at = text, principal.subject, now
    return next(t for t in list_templates(session) if t["key"] == key)
