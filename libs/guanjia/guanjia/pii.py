"""Personal data helpers: validate and normalise phone numbers, mask them for display."""

from __future__ import annotations

import functools

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


# --- Chinese ID-card numbers: validation, masking, encryption at rest with a lookup hash ---------------------------


def normalize_id_card(raw: str, field: str = "id_number") -> str:
    """The compact form (`11010519491231002X`) of a valid 18-digit resident ID; Invalid naming `field` otherwise.

    The same checks as python-stdnum's `cn.ric.validate` (length, digits, birth date, region code, check digit),
    with the region lookup — the slow part, noticeable in a 50,000-row import — memoised per region code.
    """
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError

    number = "".join(raw.split()).upper()
    try:
        if len(number) != 18 or not number[:17].isdigit():
            raise ValidationError()
        born = ric.get_birth_date(number)
        if ric.calc_check_digit(number) != number[-1] or not _known_region(number[:6], born.year):
            raise ValidationError()
    except ValidationError:
        raise Invalid(field, "not a valid Chinese resident ID number") from None
    return number


@functools.lru_cache(maxsize=65536)
def _known_region(code: str, year: int) -> bool:
    """Was `code` a county code in `year`? (Codes are reassigned over the decades; stdnum knows when.)"""
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError

    try:
        ric.get_birth_place(f"{code}{year:04d}01010000")
    except ValidationError:
        return False
    except KeyError:  # stdnum stumbles over regions recorded without counties; the code itself is known
        return True
    return True


def mask_id_card(number: str | None) -> str | None:
    """`11010519491231002X` → `1101**********002X`: region and last four, never the birth date."""
    if not number:
        return number
    if len(number) < 8:
        return "*" * len(number)
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"


@functools.lru_cache(maxsize=16)
def _derived_key(secret: str, purpose: str) -> bytes:
    """A 256-bit key for one purpose from the instance's PII secret (HKDF-SHA256): encryption and lookup differ."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    if not secret:
        raise ValueError("the PII key is not configured (GUANJIA_PII_KEY)")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"guanjia-pii", info=purpose.encode()).derive(
        secret.encode()
    )


def encrypt_pii(secret: str, plaintext: str) -> str:
    """AES-256-GCM under a key derived from `secret`; `v1:` + base64(nonce ‖ ciphertext ‖ tag)."""
    import base64
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    sealed = AESGCM(_derived_key(secret, "encrypt")).encrypt(nonce, plaintext.encode(), b"guanjia-pii-v1")
    return "v1:" + base64.b64encode(nonce + sealed).decode()


def decrypt_pii(secret: str, token: str) -> str:
    """The plaintext of an `encrypt_pii` token; ValueError when it was sealed under another key or altered."""
    import base64

    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not token.startswith("v1:"):
        raise ValueError("unknown PII ciphertext version")
    raw = base64.b64decode(token[3:])
    try:
        return AESGCM(_derived_key(secret, "encrypt")).decrypt(raw[:12], raw[12:], b"guanjia-pii-v1").decode()
    except InvalidTag:
        raise ValueError("PII ciphertext does not open under this key") from None


def pii_lookup_hash(secret: str, value: str) -> str:
    """Keyed HMAC-SHA256 of a normalised value: equal inputs match in a query, the value cannot be recovered."""
    import hashlib
    import hmac

    return hmac.new(_derived_key(secret, "lookup"), value.encode(), hashlib.sha256).hexdigest()
