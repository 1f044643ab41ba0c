"""Value rules shared by schemas and domain: a unit's area is a decimal string in the API, never a float."""

from __future__ import annotations

import re
from decimal import Decimal

# Numeric(10, 2) in the database: at most 8 digits before the point and 2 after it.
_AREA_RE = re.compile(r"^\d{1,8}(\.\d{1,2})?$")


def parse_area(raw) -> Decimal:
    """`"88.50"` → Decimal("88.50"). ValueError (with a message for the client) for anything else.

    A JSON number is refused even when it looks exact: clients must not round-trip areas through floats.
    """
    if isinstance(raw, bool) or not isinstance(raw, str):
        raise ValueError('must be a decimal string such as "88.50", not a number')
    if raw.startswith("-"):
        raise ValueError("must not be negative")
    if not _AREA_RE.match(raw):
        if re.match(r"^\d+\.\d{3,}$", raw):
            raise ValueError("at most 2 decimal places")
        raise ValueError('must be a decimal string such as "88.50"')
    value = Decimal(raw)
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value.quantize(Decimal("0.01"))


def format_area(value: Decimal) -> str:
    """Decimal("88.5") → `"88.50"`: always two decimal places, as the event contract and the API show it."""
    return f"{Decimal(value).quantize(Decimal('0.01')):f}"
