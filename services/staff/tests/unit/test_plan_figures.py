"""A quarter's figures combine its months: counts summed, ratios from the sums — not averaged."""

from staff.domain.plan_figures import combine_months, month_figures, quarter_months


def test_quarter_months():
    assert quarter_months("2026-Q4") == ["2026-10", "2026-11", "2026-12"]
    assert quarter_months("2027-Q1") == ["2027-01", "2027-02", "2027-03"]


def test_month_figures_keep_counts_and_give_ratios_as_text():
    figures = month_figures(
        {"receivable": "100.00", "collected": "80.00", "collection_rate": "0.8000", "name": "一区"},
        {"tickets": 4, "sla_met": 3, "sla_breached": 1, "sla_compliance": 0.75, "zones": 1, "zones_patrolled": 1},
        {"households": 10, "contacted": 5, "effective": 2, "familiarity": 0.5, "communication": 0.2},
    )
    assert figures["collection_rate"] == "0.8000" and figures["sla_compliance"] == "0.75"
    assert (figures["tickets"], figures["households"], figures["familiarity"]) == (4, 10, "0.5")
    assert "name" not in figures and figures["satisfaction_average"] is None
    assert month_figures({}, {}, {})["receivable"] is None


def test_ratios_are_recomputed_from_the_summed_counts():
    october = {
        "receivable": "1000.00",
        "collected": "900.00",
        "tickets": 10,
        "tickets_resolved": 9,
        "sla_met": 9,
        "sla_breached": 1,
        "visits_reached": 1,
        "visits_score": 5,
        "visits_satisfied": 1,
        "zones": 2,
        "zones_patrolled": 2,
        "households": 100,
        "contacted": 50,
        "effective": 10,
    }
    november = {
        "receivable": "3000.00",
        "collected": "1500.00",
        "tickets": 30,
        "tickets_resolved": 20,
        "sla_met": 15,
        "sla_breached": 15,
        "visits_reached": 3,
        "visits_score": 6,
        "visits_satisfied": 0,
        "zones": 2,
        "zones_patrolled": 1,
        "households": 100,
        "contacted": 30,
        "effective": 10,
    }
    quarter = combine_months([october, november, {}])
    assert (quarter["receivable"], quarter["collected"]) == ("4000.00", "2400.00")
    # 2400 / 4000, not the mean of 0.9 and 0.5.
    assert quarter["collection_rate"] == "0.6000"
    assert (quarter["tickets"], quarter["tickets_resolved"]) == (40, 29)
    assert quarter["sla_compliance"] == "0.6000"  # 24 / 40, not (0.9 + 0.5) / 2
    assert quarter["satisfaction_average"] == "2.75"  # 11 / 4, not (5 + 2) / 2
    assert quarter["satisfied_rate"] == "0.2500"
    assert quarter["patrol_coverage"] == "0.7500"
    assert (quarter["familiarity"], quarter["communication"]) == ("0.4000", "0.1000")


def test_a_quarter_without_figures_has_none():
    quarter = combine_months([{}, {}, {}])
    assert quarter["receivable"] is None and quarter["tickets"] is None
    assert quarter["collection_rate"] is None and quarter["sla_compliance"] is None
