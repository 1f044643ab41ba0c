"""Alembic environment of the tickets database."""

from guanjia.migrations import run_migrations
from tickets.models import Base

run_migrations(Base.metadata)
