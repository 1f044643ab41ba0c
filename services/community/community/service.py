"""How the `guanjia` CLI finds this service (entry point guanjia.services → SPEC)."""

from pathlib import Path

from guanjia.service import ServiceSpec

from .app import create_app
from .consumers import HANDLERS
from .context import make_context
from .events import SURVEY_CLOSED, SURVEY_OPENED
from .jobs import PERIODIC
from .models import Base, inbox, outbox

SPEC = ServiceSpec(
    name="community",
    create_app=create_app,
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    outbox=outbox,
    inbox=inbox,
    handlers=HANDLERS,
    make_context=make_context,
    periodic=PERIODIC,
    # Published for integrators; no service of ours consumes them (kept out of guanjia.unrouted).
    routine_events=(SURVEY_OPENED, SURVEY_CLOSED),
)
