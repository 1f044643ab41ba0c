"""Alembic environment of the staff database."""

from guanjia.migrations import run_migrations
from staff.models import Base

run_migrations(Base.metadata)
