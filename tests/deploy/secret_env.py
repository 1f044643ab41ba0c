"""The rule for Compose and Kubernetes alike: secrets reach a container as mounted files, never in its environment."""

from __future__ import annotations

import re

from guanjia.config import SECRET_VARIABLES

# Listed in SECRET_VARIABLES because they may carry a password; plain is fine while they carry none (the
# Redis of Compose and of the base manifests has no password). Public keys are not secret at all.
PLAIN_WITHOUT_PASSWORD = {"GUANJIA_REDIS_URL", "GUANJIA_JWT_PUBLIC_KEYS"}


def secret_ish(variable: str) -> bool:
    """A variable that holds a secret: every SECRET_VARIABLES entry (bar the public keys), its per-service
    forms (not the Redis URL or the public keys, see above), the SMS provider keys and anything named like a password, secret, token or key."""
    named = set(SECRET_VARIABLES) - PLAIN_WITHOUT_PASSWORD
    per_service = re.fullmatch(r"GUANJIA_[A-Z]+_(DATABASE|AMQP)_URL", variable)
    return (
        variable in named
        or bool(per_service)
        or bool(re.search(r"(PASSWORD|SECRET|TOKEN|_KEY|_KEY_ID|_SID)$", variable))
    )


def credentials_in(value: str) -> bool:
    """A URL with a password in it (scheme://user:password@host)."""
    return bool(re.search(r"://[^/@\s:]+:[^/@\s]+@", value))


def check_no_secret_in_environment(where: str, env: dict[str, str]) -> None:
    """Secrets only as GUANJIA_X_FILE (naming a mounted file); no value carries a credential."""
    for key, value in env.items():
        assert not secret_ish(key), f"{where}: {key} is passed as an environment variable; mount it ({key}_FILE)"
        assert not credentials_in(str(value)), f"{where}: {key} carries a password in its value"
