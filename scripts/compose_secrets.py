"""Write the secret files docker-compose.yml mounts (./secrets/*): fresh random values, or yours from the environment.

Usage: python3 scripts/compose_secrets.py [directory]     (make secrets; the directory is ./secrets by default)

A file that exists is kept, so re-running never changes a key in use (GUANJIA_PII_KEY encrypts data at rest).
A value given in the environment (GUANJIA_SERVICE_KEY=..., POSTGRES_PASSWORD=..., in a shell or `.env`-style
export) is written instead of a generated one. Standard library only: runs with any python3, no virtualenv.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path


def _token(nbytes: int):
    return lambda values: secrets.token_urlsafe(nbytes)


# file name -> (environment variable that may give the value, how to make one). Order matters: the database
# URL is built from the PostgreSQL password written before it.
SECRETS = {
    # Ed25519 seeds as Guanjia reads them: base64url of 32 random bytes (docs/security.md).
    "service-key": ("GUANJIA_SERVICE_KEY", _token(32)),
    "jwt-private-key": ("GUANJIA_JWT_PRIVATE_KEY", _token(32)),
    "pii-key": ("GUANJIA_PII_KEY", _token(48)),
    "admin-password": ("GUANJIA_ADMIN_PASSWORD", _token(18)),
    "metrics-token": ("GUANJIA_METRICS_TOKEN", _token(32)),
    "workbench-secret": ("GUANJIA_WORKBENCH_SECRET", _token(32)),
    "postgres-password": ("POSTGRES_PASSWORD", _token(24)),
    # One template for every service: "{service}" becomes the container's own service name.
    "database-url": (
        "GUANJIA_DATABASE_URL",
        lambda values: f"postgresql+psycopg://guanjia:{values['postgres-password']}@postgres:5432/guanjia_{{service}}",
    ),
    # The broker users of deploy/rabbitmq/definitions.json (password <service>-dev); change both together.
    "amqp-url": ("GUANJIA_AMQP_URL", lambda values: "amqp://{service}:{service}-dev@rabbitmq:5672//"),
}
# notifications' provider keys: yours from the environment, else empty (SMS on the console, WeChat and the
# e-mailed reports off) until you write them into the file.
for _name in (
    "sms-aliyun-access-key-id",
    "sms-aliyun-access-key-secret",
    "sms-aliyun-callback-token",
    "sms-tencent-secret-id",
    "sms-tencent-secret-key",
    "sms-tencent-callback-token",
    "sms-twilio-account-sid",
    "sms-twilio-auth-token",
    "wechat-app-secret",
    "wechat-callback-token",
    "smtp-password",
):
    SECRETS[_name] = ("GUANJIA_" + _name.upper().replace("-", "_"), lambda values: "")


def write_secrets(directory: Path, env=None) -> dict[str, str]:
    """Create the missing files under `directory`; return every value by file name."""
    env = os.environ if env is None else env
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)  # only you on this host; the files inside must be readable by the containers' user
    values = {}
    for name, (variable, make) in SECRETS.items():
        path = directory / name
        if path.exists():
            values[name] = path.read_text().strip()
            continue
        values[name] = env.get(variable) or make(values)
        path.write_text(values[name] + "\n")
        # Compose bind-mounts file secrets as they are (no uid/mode of their own): the services run as uid
        # 10001 and PostgreSQL as its own user, so the file is world-readable inside a directory only you can enter.
        path.chmod(0o644)
        print(f"{path}: written")
    return values


def main(argv: list[str]) -> int:
    directory = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "secrets"
    write_secrets(directory)
    print(f"The first admin password is in {directory / 'admin-password'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
