"""How the `guanjia` CLI finds this service (entry point guanjia.services → SPEC)."""

from pathlib import Path

from guanjia.service import ServiceSpec

from .app import create_app
from .bootstrap import bootstrap
from .config import from_env
from .demo import seed
from .models import Base
from .provision import load, users

# The gateway publishes and consumes no events: no outbox, no inbox, no handlers.
SPEC = ServiceSpec(
    name="gateway",
    create_app=create_app,
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    outbox=None,
    inbox=None,
    handlers={},
    bootstrap=bootstrap,
    seed=seed,
    users=users,
    load=load,
    own_settings=from_env,
)
