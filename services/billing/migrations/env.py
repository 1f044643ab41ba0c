"""Alembic environment of the billing database."""

from billing.models import Base
from guanjia.migrations import run_migrations

run_migrations(Base.metadata)
