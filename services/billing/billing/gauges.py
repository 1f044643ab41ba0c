"""Scrape-time gauges of billing (collection rate against target per community) for /metrics and the alerts."""

from __future__ import annotations

from sqlalchemy import func, select

from guanjia.money import month_of

from .domain.common import today_in
from .models import Bill, Policy

DEFAULT_TARGET = 0.85


def collection_rate_reader(settings, clock):
    """A reader for guanjia.metrics.register_state: this month's 收缴率 and its target for every community
    (this month by `clock`, the app's one clock, in the instance's time zone)."""

    def read(database):
        if database is None:
            return
        period = month_of(today_in(settings, clock()))
        receivable = func.sum(Bill.amount_fen - Bill.credited_fen)
        with database.transaction() as session:
            rows = session.execute(
                select(Bill.community_id, receivable, func.sum(Bill.paid_fen), Policy.collection_target)
                .outerjoin(Policy, Policy.community_id == Bill.community_id)
                .where(Bill.period == period.name, Bill.kind != "deposit")
                .group_by(Bill.community_id, Policy.collection_target)
            ).all()
        for community_id, owed, paid, target in rows:
            labels = {"community_id": community_id, "period": period.name}
            if owed and owed > 0:
                yield (
                    "guanjia_billing_collection_rate",
                    "Collected ÷ receivable on this month's bills",
                    labels,
                    float(paid or 0) / float(owed),
                )
            yield (
                "guanjia_billing_collection_target",
                "Collection-rate target of the community",
                labels,
                float(target) if target is not None else DEFAULT_TARGET,
            )

    return read
