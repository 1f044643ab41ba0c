"""How the `guanjia` CLI finds this service (entry point guanjia.services → SPEC)."""

from pathlib import Path

from guanjia.service import ServiceSpec

from .app import create_app
from .config import check, from_env
from .consumers import HANDLERS
from .context import make_context
from .events import NOTIFICATION_DELIVERED, NOTIFICATION_FAILED, NOTIFICATION_SENT
from .jobs import PERIODIC
from .models import Base, inbox, outbox

SPEC = ServiceSpec(
    name="notifications",
    create_app=create_app,
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    outbox=outbox,
    inbox=inbox,
    handlers=HANDLERS,
    make_context=make_context,
    # The dispatcher: waits for a wake-up (a commit that planned deliveries) or its interval, then sends what is due.
    periodic=PERIODIC,
    # Its own settings are the SMS settings, read from the variables of Settings.env (from_env(settings, env)).
    own_settings=lambda env: from_env(env=env),
    check_config=check,
    # Published for integrators; no service of ours consumes them (kept out of guanjia.unrouted).
    routine_events=(NOTIFICATION_SENT, NOTIFICATION_DELIVERED, NOTIFICATION_FAILED),
)
