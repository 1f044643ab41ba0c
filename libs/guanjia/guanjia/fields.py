"""Fields shared by every service: a decimal (money, a rate, an area) given as a string or a JSON number, a phone
number, the tolerant base of a consumed event's payload, and one instance per schema class."""

from __future__ import annotations

import decimal
import functools
import re

import marshmallow as ma

from .errors import Invalid
from .pii import normalize_phone

_PLAIN = re.compile(r"^[+-]?\d+(\.\d+)?$")  # a decimal string is written out: no exponent, no "NaN"
MAX_DIGITS = 30  # more is no amount, rate or area anyone means (and keeps 1e1000000 from becoming arithmetic)


def to_decimal(value) -> decimal.Decimal:
    """A decimal string ("2.35") or a JSON number (2.35, 3) as an exact Decimal; ValueError for anything else.

    A JSON number arrives as a float: its shortest repr is the digits the client wrote, so 2.35 stays 2.35
    (never 2.35000000000000008882). NaN, Infinity, booleans and absurdly long numbers are refused."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        text = value
        if len(text) > MAX_DIGITS + 2 or not _PLAIN.match(text):
            raise ValueError("not a plain decimal")
    else:
        raise ValueError("not a number")
    try:
        number = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise ValueError("not a number") from None
    if not number.is_finite():
        raise ValueError("not a finite number")
    digits, exponent = len(number.as_tuple().digits), number.as_tuple().exponent
    if digits - min(exponent, 0) > MAX_DIGITS or exponent > MAX_DIGITS:
        raise ValueError("too many digits")
    return number


def decimal_metadata(example: str, pattern: str | None = None, description: str | None = None) -> dict:
    """OpenAPI 3.1 for a field that accepts both forms; responses always carry the string."""
    meta = {
        "type": ["string", "number"],
        "example": example,
        "description": (description + " — " if description else "")
        + "a decimal string (preferred, exact) or a JSON number; answered as a string",
    }
    if pattern:
        meta["pattern"] = pattern
    return meta


class Decimal(ma.fields.Decimal):
    """An exact decimal with at most `places` decimal places, read from a string or a JSON number, written as a
    string. The one decimal input field of every service (money is guanjia.money.Money, built on `to_decimal`)."""

    default_error_messages = {"invalid": 'must be a decimal string or a number, like "2.35"'}

    def __init__(self, places: int = 4, **kwargs):
        self.max_places = places
        metadata = kwargs.pop("metadata", {})
        metadata = {**decimal_metadata(f"{1:.{min(places, 2)}f}"), **metadata}
        super().__init__(places=places, as_string=True, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            number = to_decimal(value)
        except ValueError:
            raise self.make_error("invalid") from None
        if number.as_tuple().exponent < -self.max_places:
            raise ma.ValidationError(f"at most {self.max_places} decimal places")
        return number.quantize(decimal.Decimal(1).scaleb(-self.max_places))


class Phone(ma.fields.String):
    """A phone number, loaded as its E.164 form (mainland numbers may omit +86): the one phone input field of every
    service. What is no phone number is a validation error naming the field; nothing else is caught."""

    MAX_LENGTH = 32  # longer is no phone number, and the parser never sees absurd input

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        if len(raw) > self.MAX_LENGTH:
            raise ma.ValidationError("not a phone number")
        try:
            return normalize_phone(raw)
        except Invalid as exc:
            raise ma.ValidationError(next(iter(exc.errors.values()))) from None


class Tolerant(ma.Schema):
    """A consumed event's payload as its consumer reads it: fields the consumer does not use are ignored, so a
    producer's additive change never breaks a consumer (DESIGN.md §3). Each service's consumed schemas derive
    from it."""

    class Meta:
        unknown = ma.EXCLUDE


@functools.cache
def schema_instance(schema_class: type[ma.Schema]) -> ma.Schema:
    """One instance of `schema_class` per process: building a schema costs more than loading or dumping with it,
    and load and dump keep no state (a hot path's schemas: each event's payload, each response)."""
    return schema_class()
