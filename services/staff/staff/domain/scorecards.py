"""Monthly scorecards: billing's collection figures, tickets' (handled, SLA compliance, satisfaction, patrol coverage)
and residents' (familiarity, communication) — each asked over its owner's API with staff's service credential — the
pay rule's grade change for the period, and the superior's score; history per person; XLSX."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import new_id
from guanjia.errors import Forbidden

from ..config import PayRule
from ..models import Position, Scorecard
from .common import MANAGERS, check_community, position_seen, require_superior, seen_record, visible_positions
from .payrule import grade_change
from .plan_figures import combine_months, month_figures


def pay_period(month: str, rule: PayRule) -> str:
    """The pay rule's period a month lies in, as billing names periods: 2026-H2, 2026-Q4 or 2026."""
    year, number = month.split("-")
    index = int(number)
    if rule.period == "half_year":
        return f"{year}-H{1 if index <= 6 else 2}"
    if rule.period == "quarter":
        return f"{year}-Q{(index - 1) // 3 + 1}"
    return year


def _by_butler(client, path: str, **params) -> dict:
    """{user id: the owner's row} from one call answering a row per butler (`key`: the user id)."""
    found = client.get_found(f"{path}?{urlencode(params)}") or {}
    return {row["key"]: row for row in found.get("items") or [] if row.get("key")}


def butler_figures(billing, community_id: str, period: str) -> dict:
    """{user id: billing's collection-rate row} for a community and period (one call, grouped by butler)."""
    return _by_butler(
        billing, "/api/v1/billing/reports/collection-rate", community_id=community_id, period=period, group_by="butler"
    )


def service_figures(tickets, residents, community_id: str, month: str) -> dict:
    """{user id: the month's figures} from tickets (handled, SLA compliance, satisfaction, patrol coverage) and
    residents (familiarity, communication): one call to each, both answering per butler."""
    merged: dict[str, dict] = {}
    for client, path in (
        (tickets, "/api/v1/internal/tickets/butler-figures"),
        (residents, "/api/v1/internal/residents/butler-familiarity"),
    ):
        for key, row in _by_butler(client, path, community_id=community_id, month=month).items():
            merged.setdefault(key, {}).update(row)
    return merged


def plan_figures(billing, tickets, residents, plan_scope: str, community_id: str, key: str, months: list[str]):
    """A plan summary's figures: the months' figures of a person (key: their user id), a zone (the zone id) or the
    community (its id) from the calls a scorecard makes, grouped by butler, zone or community; one month as it
    stands, several (a quarter) combined — counts summed, ratios recomputed."""
    group_by = {"person": "butler", "zone": "zone", "community": "community"}[plan_scope]
    found = []
    for month in months:
        rows = []
        for client, path in (
            (billing, "/api/v1/billing/reports/collection-rate"),
            (tickets, "/api/v1/internal/tickets/butler-figures"),
            (residents, "/api/v1/internal/residents/butler-familiarity"),
        ):
            when = {"period": month} if client is billing else {"month": month}
            rows.append(_by_butler(client, path, community_id=community_id, group_by=group_by, **when).get(key) or {})
        found.append(month_figures(*rows))
    return found[0] if len(found) == 1 else combine_months(found)


def community_zones(residents, community_id: str, month: str) -> set[str]:
    """The ids of the community's zones as residents (their owner) knows them: its per-zone familiarity rows."""
    path = "/api/v1/internal/residents/butler-familiarity"
    return set(_by_butler(residents, path, community_id=community_id, month=month, group_by="zone"))


# The figures a scorecard (and a month-end summary) carries beside billing's.
SERVICE_FIGURES = (
    "tickets",
    "tickets_resolved",
    "sla_compliance",
    "satisfaction_average",
    "satisfied_rate",
    "patrol_coverage",
    "familiarity",
    "communication",
)


def figure_values(row: dict) -> dict:
    """The service figures of a butler's row as stored: counts as integers, ratios as decimal strings."""
    values = {}
    for name in SERVICE_FIGURES:
        value = row.get(name)
        values[name] = value if value is None or name.startswith("tickets") else str(value)
    return values


def measure(
    session: Session,
    principal: Principal,
    position: Position,
    month: str,
    figures: dict,
    period_figures: dict,
    period: str,
    rule: PayRule,
    now: datetime,
    services: dict | None = None,
) -> Scorecard:
    """Create or refresh the month's scorecard of a post with the figures billing gave."""
    card = session.execute(
        select(Scorecard).where(Scorecard.position_id == position.id, Scorecard.month == month)
    ).scalar_one_or_none()
    if card is None:
        card = Scorecard(
            id=new_id(),
            community_id=position.community_id,
            position_id=position.id,
            user_id=position.user_id,
            month=month,
            created_at=now,
        )
        session.add(card)
    row, period_row = figures.get(position.user_id) or {}, period_figures.get(position.user_id) or {}
    card.receivable, card.collected = row.get("receivable"), row.get("collected")
    card.collection_rate = row.get("collection_rate")
    for name, value in figure_values((services or {}).get(position.user_id) or {}).items():
        setattr(card, name, value)
    card.pay_period, card.period_collection_rate = period, period_row.get("collection_rate")
    if card.period_collection_rate is not None:
        change = grade_change(Decimal(card.period_collection_rate) * 100, rule)
        card.grade_change, card.target_met = change.grades, change.target_met
    else:
        card.grade_change = card.target_met = None
    card.measured_at = now
    return card


def position_for_scorecard(session: Session, principal: Principal, position_id: str) -> Position:
    """The post to measure: the caller's superiors or the community's manager measure; the person may not."""
    position = position_seen(session, principal, position_id, field="position_id")
    if principal.role not in MANAGERS and principal.role != "senior_butler":
        raise Forbidden("a scorecard is drawn up by the superior or the community's manager")
    return position


def review(
    session: Session, principal: Principal, card_id: str, score: int, comment: str | None, now: datetime
) -> Scorecard:
    card = get_scorecard(session, principal, card_id)
    require_superior(
        session,
        principal,
        session.get(Position, card.position_id),
        "one's own scorecard is scored by one's superior",
        "only the superior (or the community's manager) scores",
    )
    card.score, card.comment, card.scored_by, card.scored_at = score, comment, principal.subject, now
    return card


def visible_scorecards(session: Session, principal: Principal, args: dict):
    """A person their own, a senior butler the team's, a manager the community's; newest month first."""
    check_community(principal, args["community_id"])
    query = select(Scorecard).where(Scorecard.community_id == args["community_id"])
    seen = visible_positions(session, principal)
    if seen is not None:
        query = query.where(Scorecard.position_id.in_(seen))
    for name in ("month", "position_id"):
        if args.get(name):
            query = query.where(getattr(Scorecard, name) == args[name])
    if args.get("flagged") is not None:
        # The manager's list of missed targets (a pay cut or demotion to decide); false: the met ones.
        query = query.where(Scorecard.target_met.is_(not args["flagged"]))
    return query.order_by(Scorecard.month.desc(), Scorecard.position_id)


def get_scorecard(session: Session, principal: Principal, card_id: str) -> Scorecard:
    return seen_record(session, principal, Scorecard, card_id, "scorecard")


def with_names(session: Session, cards: list[Scorecard]) -> list[Scorecard]:
    """Adds display_name (the post's holder) and scored_by_name to each card: two queries, not one per row."""
    positions = {c.position_id for c in cards}
    scorers = {c.scored_by for c in cards if c.scored_by}
    names = dict(session.execute(select(Position.id, Position.display_name).where(Position.id.in_(positions))).all())
    by_user = dict(
        session.execute(select(Position.user_id, Position.display_name).where(Position.user_id.in_(scorers))).all()
    )
    for card in cards:
        card.display_name = names.get(card.position_id)
        card.scored_by_name = by_user.get(card.scored_by) if card.scored_by else None
    return cards


def to_xlsx(cards: list[Scorecard], timezone: str) -> bytes:
    """考核表: Chinese headers, names not ids, money as ¥, rates as percentages."""
    from guanjia.workbook import Column, Workbook

    book = Workbook(timezone)
    book.sheet(
        "月度考核",
        [
            Column("月份"),
            Column("姓名"),
            Column("应收", "money"),
            Column("实收", "money"),
            Column("收缴率", "percent"),
            Column("工单数", "int"),
            Column("已办结", "int"),
            Column("时效达标率", "percent"),
            Column("平均满意度", "decimal"),
            Column("满意率", "percent"),
            Column("巡查覆盖率", "percent"),
            Column("熟悉率", "percent"),
            Column("有效沟通率", "percent"),
            Column("考核周期"),
            Column("周期收缴率", "percent"),
            Column("达标"),
            Column("薪级调整", "int"),
            Column("上级评分", "int"),
            Column("上级评语"),
            Column("评分人"),
        ],
        [
            [
                c.month,
                c.display_name,
                c.receivable,
                c.collected,
                c.collection_rate,
                *(getattr(c, name) for name in SERVICE_FIGURES),
                c.pay_period,
                c.period_collection_rate,
                {True: "是", False: "否（需经理关注）", None: "—"}[c.target_met],
                c.grade_change,
                c.score,
                c.comment,
                c.scored_by_name,
            ]
            for c in cards
        ],
    )
    return book.to_bytes()
