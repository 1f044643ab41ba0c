"""Alembic environment of the residents database."""

from guanjia.migrations import run_migrations
from residents.models import Base

run_migrations(Base.metadata)
