"""SMS cap counters (per recipient per day and minute, per community per day)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 06:20:00
"""

import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_counters",
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=36), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", "window_start"),
    )
    op.create_index("ix_sms_counters_window", "sms_counters", ["window_start"])
    # What was sent (or is being sent) today keeps counting against today's caps after the upgrade.
    tz = ZoneInfo(os.environ.get("GUANJIA_TIMEZONE") or "Asia/Shanghai")
    local = datetime.now(UTC).astimezone(tz)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    deliveries = sa.table(
        "deliveries",
        sa.column("recipient_id", sa.String),
        sa.column("community_id", sa.String),
        sa.column("status", sa.String),
        sa.column("sent_at", sa.DateTime(timezone=True)),
    )
    counters = sa.table(
        "sms_counters",
        sa.column("scope", sa.String),
        sa.column("key", sa.String),
        sa.column("window_start", sa.DateTime(timezone=True)),
        sa.column("count", sa.Integer),
    )
    today = sa.or_(deliveries.c.sent_at >= day, deliveries.c.status == "sending")
    for scope, column in (("recipient_day", deliveries.c.recipient_id), ("community_day", deliveries.c.community_id)):
        query = (
            sa.select(sa.literal(scope), column, sa.literal(day, sa.DateTime(timezone=True)), sa.func.count())
            .where(today, column.is_not(None))
            .group_by(column)
        )
        op.execute(counters.insert().from_select(["scope", "key", "window_start", "count"], query))
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    recent = sa.or_(deliveries.c.sent_at > minute - timedelta(minutes=1), deliveries.c.status == "sending")
    query = (
        sa.select(
            sa.literal("recipient_minute"),
            deliveries.c.recipient_id,
            sa.literal(minute, sa.DateTime(timezone=True)),
            sa.func.count(),
        )
        .where(recent)
        .group_by(deliveries.c.recipient_id)
    )
    op.execute(counters.insert().from_select(["scope", "key", "window_start", "count"], query))


def downgrade() -> None:
    op.drop_index("ix_sms_counters_window", table_name="sms_counters")
    op.drop_table("sms_counters")
