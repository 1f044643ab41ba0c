"""Password hashing (argon2id) and policy, secret hashing for codes, refresh tokens and API keys."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

from guanjia.errors import Invalid

# argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id, t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
MIN_PASSWORD = 10
MAX_PASSWORD = 256
# Digits and symbols people put around a common word ("password1234", "woaini1314520", "!admin2026").
_AFFIXES = re.compile(r"^[\d\W_]*(.*?)[\d\W_]*$", re.DOTALL)
# Leetspeak undone before the list is consulted: p@ssw0rd → password.
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"})
# A stem shorter than this around digits ("abc123456", "qq123456") is a number with a label, not a password.
MIN_STEM = 4
# Checked against when the username is unknown, so both failures cost the same hashing time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). Hashes from the walking skeleton (werkzeug scrypt) still verify once."""
    if not stored:
        _safe_verify(_DUMMY_HASH, password)
        return False, False
    if stored.startswith(("scrypt:", "pbkdf2:")):
        return check_password_hash(stored, password), True
    ok = _safe_verify(stored, password)
    return ok, ok and _hasher.check_needs_rehash(stored)


def burn_time(password: str) -> None:
    """Spend what a real verification would: an unknown username answers as slowly as a wrong password."""
    _safe_verify(_DUMMY_HASH, password)


def _safe_verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def check_policy(password: str, username: str | None = None, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(field, f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise Invalid(field, f"at most {MAX_PASSWORD} characters")
    if is_common(password) or len(set(password)) < 4:
        raise Invalid(field, "too easy to guess: a common password, or a common word with digits around it")
    if username and username.lower() in password.lower():
        raise Invalid(field, "must not contain the username")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list (common_passwords.txt: worldwide and Chinese leaks, pinyin words and names)."""
    text = resources.files("gateway").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    """True for a listed password, or a listed word (also in leetspeak) with only digits or symbols around it."""
    common = common_passwords()
    lowered = password.lower()
    if lowered in common or lowered.translate(_LEET) in common:
        return True
    stem = _AFFIXES.match(lowered).group(1)
    if len(stem) < MIN_STEM:
        return True  # digits and symbols with at most a short label: 1314520520, qq123456789
    return stem in common or stem.translate(_LEET) in common or _AFFIXES.match(stem.translate(_LEET)).group(1) in common


def generated_password() -> str:
    """A one-time password an admin hands over; the user must change it at first sign-in."""
    return secrets.token_urlsafe(12)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def keyed_hash(key: str, text: str) -> str:
    """HMAC-SHA256 with the instance's PII key: finds a phone without storing it."""
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
