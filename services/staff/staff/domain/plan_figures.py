"""A plan summary's figures: one month's, for a person, a zone or the community, as the upstream services answer
them; and a quarter's, combined from its three months — counts summed, each ratio recomputed from the summed
counts (never an average of the monthly ratios). Pure functions: no database, no HTTP."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

# The counts a month's figures carry beside the ratios, so that months combine.
COUNTS = (
    "tickets",
    "tickets_resolved",
    "sla_met",
    "sla_breached",
    "visits_reached",
    "visits_score",
    "visits_satisfied",
    "zones",
    "zones_patrolled",
    "households",
    "contacted",
    "effective",
)
MONEY = ("receivable", "collected")


def quarter_months(quarter: str) -> list[str]:
    """2026-Q4 → ["2026-10", "2026-11", "2026-12"]."""
    year, number = quarter.split("-Q")
    first = (int(number) - 1) * 3 + 1
    return [f"{year}-{month:02d}" for month in range(first, first + 3)]


def _ratio(numerator, denominator, places: str = "0.0001") -> str | None:
    if not denominator:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places), rounding=ROUND_HALF_EVEN))


def month_figures(collection: dict, tickets: dict, residents: dict) -> dict:
    """One month's figures of a person, zone or community from billing's collection-rate row, tickets' and
    residents' rows (any may be empty: the upstream had nothing for it): the counts and money as answered, the
    ratios as decimal strings (the scorecard's)."""
    figures = {name: collection.get(name) for name in (*MONEY, "collection_rate")}
    for name in COUNTS:
        figures[name] = {**tickets, **residents}.get(name)
    for name, row in (
        ("sla_compliance", tickets),
        ("satisfaction_average", tickets),
        ("satisfied_rate", tickets),
        ("patrol_coverage", tickets),
        ("familiarity", residents),
        ("communication", residents),
    ):
        value = row.get(name)
        figures[name] = None if value is None else str(value)
    return figures


def combine_months(months: list[dict]) -> dict:
    """A quarter's figures from its months' (missing months: empty dicts): money and counts summed (None when no
    month had them), ratios recomputed from the sums — collection rate = collected ÷ receivable, SLA compliance =
    met ÷ (met + breached), satisfaction = score ÷ reached visits (and 4–5 ÷ reached), patrol coverage = zones
    patrolled ÷ zones (zone-months), familiarity = contacted ÷ households, communication = effective ÷ households."""
    total: dict = {}
    for name in MONEY:
        values = [Decimal(str(m[name])) for m in months if m.get(name) is not None]
        total[name] = str(sum(values, Decimal("0.00")).quantize(Decimal("0.01"))) if values else None
    for name in COUNTS:
        values = [int(m[name]) for m in months if m.get(name) is not None]
        total[name] = sum(values) if values else None

    def n(name):
        return total[name] or 0

    total["collection_rate"] = _ratio(n("collected"), Decimal(n("receivable")))
    total["sla_compliance"] = _ratio(n("sla_met"), n("sla_met") + n("sla_breached"))
    total["satisfaction_average"] = _ratio(n("visits_score"), n("visits_reached"), "0.01")
    total["satisfied_rate"] = _ratio(n("visits_satisfied"), n("visits_reached"))
    total["patrol_coverage"] = _ratio(n("zones_patrolled"), n("zones"))
    total["familiarity"] = _ratio(n("contacted"), n("households"))
    total["communication"] = _ratio(n("effective"), n("households"))
    return total
