"""Alembic environment of the community database."""

from community.models import Base
from guanjia.migrations import run_migrations

run_migrations(Base.metadata)
