"""Money and periods: integer fen ↔ decimal strings, the one amount parser and field, rounding, billing periods.
Never a float."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import marshmallow as ma

from guanjia import fields
from guanjia.web import MAX_YEAR, MIN_YEAR

ROUNDING = {"half_even": ROUND_HALF_EVEN, "half_up": ROUND_HALF_UP, "down": ROUND_DOWN, "up": ROUND_CEILING}
FEN = Decimal("0.01")
_AMOUNT_RE = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
MAX_AMOUNT = Decimal(10) ** 12  # twelve digits of yuan, as the decimal strings always allowed


def to_fen(yuan: Decimal | None, rounding: str = "half_even") -> int | None:
    """Yuan (any precision) to integer fen with the item's rounding rule; None (no amount) stays None."""
    if yuan is None:
        return None
    return int((yuan.quantize(FEN, rounding=ROUNDING[rounding]) * 100).to_integral_value())


def fen_to_str(fen: int | None) -> str | None:
    """12345 → "123.45"; -5 → "-0.05"; None (no amount) stays None."""
    if fen is None:
        return None
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def yuan_text(amount: Decimal | str) -> str:
    """An amount of yuan as people read it: Decimal("1234.5") or "1234.50" → "¥1,234.50", "-12" → "-¥12.00".

    Yuan only (a decimal string as the API answers, or a Decimal): integer fen go through fen_to_str() first, so
    that 1234 is never read as yuan by mistake. AmountError (a ValueError) for a string that is no amount."""
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, str)):
        raise TypeError(f"yuan_text takes a Decimal or a decimal string of yuan, not {type(amount).__name__}")
    try:
        value = Decimal(amount.strip()) if isinstance(amount, str) else amount
    except ArithmeticError:
        raise AmountError("not_a_number") from None
    if not value.is_finite():
        raise AmountError("not_a_number")
    sign = "-" if value < 0 else ""
    return f"{sign}¥{abs(value).quantize(FEN, rounding=ROUND_HALF_EVEN):,}"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("", "拾", "佰", "仟")
_SECTIONS = ("", "万", "亿", "万亿")


def _section_in_capitals(number: int) -> str:
    """0 < number < 10000 in capitals, zeros inside folded into one 零 (1001 → 壹仟零壹, 1010 → 壹仟零壹拾)."""
    out, zero = "", False
    for place in range(3, -1, -1):
        digit = number // 10**place % 10
        if digit == 0:
            zero = zero or bool(out)
            continue
        out += ("零" if zero else "") + _DIGITS[digit] + _PLACES[place]
        zero = False
    return out


def fen_in_capitals(fen: int) -> str:
    """An amount in the Chinese capitals of receipts and cheques (大写金额): 123450 → 壹仟贰佰叁拾肆元伍角整,
    5 → 伍分, 1000 → 壹拾元整, 100000110 → 壹佰万零壹元壹角整, 0 → 零元整."""
    if fen < 0:
        return "负" + fen_in_capitals(-fen)
    yuan, jiao, fen_digit = fen // 100, fen // 10 % 10, fen % 10
    groups = []
    while yuan:
        groups.append(yuan % 10000)
        yuan //= 10000
    if len(groups) > len(_SECTIONS):
        raise ValueError("amount too large for capitals")
    text, zero = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero = zero or bool(text)
            continue
        # A gap before this group (a whole empty group, or fewer than four digits in it) is read as one 零.
        if text and (zero or group < 1000):
            text += "零"
        text += _section_in_capitals(group) + _SECTIONS[index]
        zero = False
    if text:
        text += "元"
    if jiao == 0 and fen_digit == 0:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    return text + (_DIGITS[fen_digit] + "分" if fen_digit else "整")


def parse_amount(value) -> int:
    """A decimal string with at most two places ("123.4", "123.45") to fen; anything else is refused."""
    if not isinstance(value, str) or not _AMOUNT_RE.match(value):
        raise ValueError('must be a decimal string with at most two decimal places, like "1234.50"')
    return yuan_to_fen(value)


class AmountError(ValueError):
    """Why an amount was refused: `reason` is "not_a_number", "negative", "places", "too_large" or "zero"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def yuan_to_fen(value, *, positive: bool = False, max_fen: int = MAX_AMOUNT * 100 - 1) -> int:
    """The one parser of an amount in requests: a decimal string ("1234.50") or a JSON number (1234.5) of yuan, at
    most two decimal places, never negative, at most `max_fen` (and above zero when `positive`), to integer fen.
    Raises AmountError naming the reason, so each caller words its own message."""
    try:
        amount = fields.to_decimal(value)
    except ValueError:
        raise AmountError("not_a_number") from None
    if amount < 0:
        raise AmountError("negative")
    if amount != amount.quantize(FEN):
        raise AmountError("places")
    fen = int(amount * 100)
    if fen > max_fen:
        raise AmountError("too_large")
    if positive and fen == 0:
        raise AmountError("zero")
    return fen


class Money(ma.fields.Field):
    """A money amount: a decimal string ("1234.50") or a JSON number (1234.5) in requests — at most two decimal
    places, never negative — integer fen in Python, always the decimal string in responses."""

    default_error_messages = {
        "invalid": 'must be an amount with at most two decimal places, like "1234.50" or 1234.5',
        "negative": "must not be negative",
        "zero": "must be greater than zero",
    }

    def __init__(self, *, positive: bool = False, **kwargs):
        self.positive = positive
        kwargs.setdefault("metadata", {}).update(fields.decimal_metadata("1234.50", r"^\d+(\.\d{1,2})?$"))
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else fen_to_str(int(value))

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return yuan_to_fen(value, positive=self.positive)
        except AmountError as refused:
            raise self.make_error(refused.reason if refused.reason in ("negative", "zero") else "invalid") from None


class Rate(fields.Decimal):
    """A rate or fraction: an exact decimal string ("2.3500") or a JSON number, answered as a string."""


# --- periods -------------------------------------------------------------------------------------------------------

_PERIOD_RE = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4])|H(?P<half>[12])))?$")


@dataclass(frozen=True)
class Period:
    """A billing period: "2026-11" (month), "2026-Q4", "2026-H2", "2026" (year)."""

    name: str
    start: date
    end: date  # inclusive
    months: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def parse_period(name: str) -> Period:
    match = _PERIOD_RE.match(name or "")
    if not match:
        raise ValueError('must be a month "2026-11", a quarter "2026-Q4", a half-year "2026-H2" or a year "2026"')
    year = int(match["year"])
    if not MIN_YEAR <= year <= MAX_YEAR:  # 9999-12 has no next month to end on
        raise ValueError(f"the year must lie between {MIN_YEAR} and {MAX_YEAR}")
    if match["month"]:
        first, months = int(match["month"]), 1
    elif match["quarter"]:
        first, months = (int(match["quarter"]) - 1) * 3 + 1, 3
    elif match["half"]:
        first, months = (int(match["half"]) - 1) * 6 + 1, 6
    else:
        first, months = 1, 12
    last = first + months - 1
    return Period(name, date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1]), months)


def sub_periods(period: Period) -> list[str]:
    """The names of every period lying within `period`, itself included: a half-year's months, quarters and the
    half-year — its bills may have been issued monthly, quarterly or for the half-year at once."""
    names = []
    year = period.start.year
    for month in range(period.start.month, period.end.month + 1):
        names.append(f"{year}-{month:02d}")
    for quarter in range(1, 5):
        if period.start.month <= (quarter - 1) * 3 + 1 and quarter * 3 <= period.end.month:
            names.append(f"{year}-Q{quarter}")
    for half in (1, 2):
        if period.start.month <= (half - 1) * 6 + 1 and half * 6 <= period.end.month:
            names.append(f"{year}-H{half}")
    if period.months == 12:
        names.append(str(year))
    return names


def month_of(day: date) -> Period:
    return parse_period(f"{day.year}-{day.month:02d}")


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)
