"""How the `guanjia` CLI finds this service (entry point guanjia.services → SPEC)."""

from pathlib import Path

from guanjia.service import ServiceSpec

from .app import create_app
from .config import from_env
from .consumers import HANDLERS
from .context import make_context
from .domain.overdue import scheduled_scan
from .models import Base, inbox, outbox

# The overdue scan runs hourly in every worker replica; the (bill, stage) key makes each reminder go out once.
OVERDUE_SCAN_SECONDS = 3600

SPEC = ServiceSpec(
    name="billing",
    create_app=create_app,
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    outbox=outbox,
    inbox=inbox,
    handlers=HANDLERS,
    make_context=make_context,
    periodic=[("overdue-scan", OVERDUE_SCAN_SECONDS, scheduled_scan)],
    own_settings=from_env,
)
