"""How the `guanjia` CLI finds the workbench (entry point guanjia.services → SPEC)."""

from pathlib import Path

from guanjia.service import ServiceSpec

from .app import create_app
from .config import from_env
from .models import Base

# No events, no worker, no broker: only its sessions database and HTTP calls to the gateway.
SPEC = ServiceSpec(
    name="workbench",
    create_app=create_app,
    metadata=Base.metadata,
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    uses_bus=False,
    own_settings=from_env,
)
