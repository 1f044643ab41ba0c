"""Alembic environment of the workbench database (sessions only)."""

from guanjia.migrations import run_migrations
from workbench.models import Base

run_migrations(Base.metadata)
