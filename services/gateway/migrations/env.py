"""Alembic environment of the gateway database."""

from gateway.models import Base
from guanjia.migrations import run_migrations

run_migrations(Base.metadata)
