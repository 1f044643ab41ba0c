"""Start-up work of the gateway: the first admin user (runs after the migrations, safe to repeat)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from guanjia.db import Database, utcnow

from . import config as gateway_config
from . import domain


def bootstrap(settings, *, clock: Callable[[], datetime] = utcnow) -> list[str]:
    """Create the `admin` user if there is none; returns the lines to print."""
    wanted = gateway_config.from_env(settings.env).admin_password
    database = Database(settings.database_url, pool_size=1)
    try:
        with database.transaction() as session:
            password = domain.ensure_admin(session, wanted, clock())
    except IntegrityError:
        # Another replica created it at the same moment.
        return []
    finally:
        database.dispose()
    if password is None:
        return []
    if wanted:
        return ["admin user created with the password from GUANJIA_ADMIN_PASSWORD"]
    return [
        "admin user created with a generated one-time password, to be changed at the first sign-in "
        "(POST /api/v1/auth/password; or set GUANJIA_ADMIN_PASSWORD to choose one)",
        f"admin password: {password}",
    ]
