"""Direct messages' sealed numbers move to the library's PII scheme (issue 20)

Until 0003 a queued direct message (a sign-in code) kept its number and variables sealed with Fernet under a
SHA-256 of the PII key, and stood for its number by an HMAC of the raw key (`recipient_id`, and the caps'
`sms_counters.key`). From here on both are the library's: `guanjia.pii.encrypt_pii` (AES-256-GCM, HKDF key) and
`pii_lookup_hash` (HKDF lookup key), cut to 32 hex digits as before. This migration re-encrypts every stored
secret (read old → write new, in batches) and recomputes the lookup hashes of those rows, of the older rows of
the same number, and of their cap counters. A number whose every row has already been erased (the outcome was
known) cannot be recomputed — nothing keeps it, by design; its old key only counted in today's caps.

The PII key is the service's own (`GUANJIA_PII_KEY`, or the embedded var/pii.key), read only when there is a
secret to convert. The old scheme lives on only here, frozen, because this migration must read it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 13:30:00
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 500
KEY_LENGTH = 32  # hex digits of a number's key (recipient ids are String(36))

deliveries = sa.table(
    "deliveries",
    sa.column("id", sa.String),
    sa.column("recipient_id", sa.String),
    sa.column("recipient_kind", sa.String),
    sa.column("secret", sa.Text),
)
counters = sa.table("sms_counters", sa.column("scope", sa.String), sa.column("key", sa.String))


# -- the old scheme, frozen as it was in notifications/domain.py up to 0003 ------------------------------------------
def _old_fernet(pii_key: str):
    from cryptography.fernet import Fernet

    key = hashlib.sha256(f"guanjia-notifications:{pii_key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def old_seal(pii_key: str, value: dict) -> str:
    return _old_fernet(pii_key).encrypt(json.dumps(value).encode()).decode()


def old_unseal(pii_key: str, token: str) -> dict:
    return json.loads(_old_fernet(pii_key).decrypt(token.encode()))


def old_phone_key(pii_key: str, phone: str) -> str:
    return hmac.new(pii_key.encode(), phone.encode(), hashlib.sha256).hexdigest()[:KEY_LENGTH]


# -- the library's scheme (what notifications.domain.messages uses from here on) -------------------------------------
def new_seal(pii_key: str, value: dict) -> str:
    from guanjia.pii import encrypt_pii

    return encrypt_pii(pii_key, json.dumps(value))


def new_unseal(pii_key: str, token: str) -> dict:
    from guanjia.pii import decrypt_pii

    return json.loads(decrypt_pii(pii_key, token))


def new_phone_key(pii_key: str, phone: str) -> str:
    from guanjia.pii import pii_lookup_hash

    return pii_lookup_hash(pii_key, phone)[:KEY_LENGTH]


def _service_pii_key() -> str:
    from guanjia import config

    key = config.from_env("notifications").pii_key
    if not key:
        raise RuntimeError("stored direct messages need the PII key to be converted: set GUANJIA_PII_KEY")
    return key


def convert(
    connection,
    is_old: Callable[[str], bool],
    unseal: Callable[[str, str], dict],
    seal: Callable[[str, dict], str],
    phone_key: Callable[[str, str], str],
    pii_key: str | None = None,
) -> int:
    """Re-seal every secret written by the other scheme and move its number's key; returns the rows converted."""
    renamed: dict[str, str] = {}  # a number's old key → its new key
    converted, after = 0, ""
    while True:
        rows = connection.execute(
            sa.select(deliveries.c.id, deliveries.c.recipient_id, deliveries.c.recipient_kind, deliveries.c.secret)
            .where(deliveries.c.secret.is_not(None), deliveries.c.id > after)
            .order_by(deliveries.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        after = rows[-1].id
        changes = []
        for row in rows:
            if not is_old(row.secret):
                continue
            pii_key = pii_key or _service_pii_key()
            value = unseal(pii_key, row.secret)
            recipient_id = row.recipient_id
            if row.recipient_kind == "phone":
                recipient_id = phone_key(pii_key, value["phone"])
                renamed[row.recipient_id] = recipient_id
            changes.append({"row_id": row.id, "new_secret": seal(pii_key, value), "new_recipient": recipient_id})
        if changes:
            connection.execute(
                deliveries.update()
                .where(deliveries.c.id == sa.bindparam("row_id"))
                .values(secret=sa.bindparam("new_secret"), recipient_id=sa.bindparam("new_recipient")),
                changes,
            )
            converted += len(changes)
    # The same number's rows whose secret is already erased, and its cap counters, follow its new key.
    items = [{"old": old, "new": new} for old, new in renamed.items() if old != new]
    for start in range(0, len(items), BATCH):
        chunk = items[start : start + BATCH]
        connection.execute(
            deliveries.update()
            .where(deliveries.c.recipient_kind == "phone", deliveries.c.recipient_id == sa.bindparam("old"))
            .values(recipient_id=sa.bindparam("new")),
            chunk,
        )
        connection.execute(
            counters.update()
            .where(counters.c.scope != "community_day", counters.c.key == sa.bindparam("old"))
            .values(key=sa.bindparam("new")),
            chunk,
        )
    return converted


def _library_token(token: str) -> bool:
    return token.startswith("v1:")


def upgrade() -> None:
    convert(op.get_bind(), lambda token: not _library_token(token), old_unseal, new_seal, new_phone_key)


def downgrade() -> None:
    convert(op.get_bind(), _library_token, new_unseal, old_seal, old_phone_key)
