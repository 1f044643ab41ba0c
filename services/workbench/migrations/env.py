"""Alembic environment of the workbench database (sessions only)."""

from workbench.models import Base

from guanjia.migrations import run_migrations

run_migrations(Base.metadata)
