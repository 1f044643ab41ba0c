"""Personal data helpers: validate and normalise phone numbers, mask them for display."""

from __future__ import annotations

import phonenumbers

from .errors import Invalid


def normalize_phone(raw: str, field: str = "phone", region: str = "CN") -> str:
    """E.164 form of a valid phone number (mainland numbers may omit +86); Invalid naming `field` otherwise."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise Invalid(field, "not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise Invalid(field, "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str | None) -> str | None:
    """`+8613812341234` → `138****1234` (national digits, middle four hidden)."""
    if not phone:
        return phone
    digits = phone[3:] if phone.startswith("+86") else phone.lstrip("+")
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_name(name: str | None) -> str | None:
    """`张三丰` → `张**`: enough for a butler on the phone to recognise, not enough to leak."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)
