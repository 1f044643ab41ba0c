"""How the `guanjia` CLI finds this service (entry point guanjia.services → SPEC)."""

from pathlib import Path

from guanjia.service import ServiceSpec

from .app import create_app
from .config import from_env
from .consumers import HANDLERS
from .context import make_context
from .models import Base, inbox, outbox

SPEC = ServiceSpec(
    name="residents",
    create_app=create_app,
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    outbox=outbox,
    inbox=inbox,
    handlers=HANDLERS,
    make_context=make_context,
    own_settings=from_env,
)
