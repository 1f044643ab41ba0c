"""Verifiers of payment-provider callbacks: (request headers, raw body) → whether the provider really sent it."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Guanjia-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature a provider sends: hex HMAC-SHA256 of the raw request body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hmac_verifier(secret: str):
    """The default verifier. Plug in another (a provider's RSA certificate check) through create_app()."""
    if not secret:
        raise ValueError("a callback secret is required")

    def verify(headers, body: bytes) -> bool:
        given = (headers.get(SIGNATURE_HEADER) or "").strip().lower()
        if given.startswith("sha256="):
            given = given[len("sha256=") :]
        return hmac.compare_digest(given, sign(secret, body))

    return verify
