"""The dashboard's SVG geometry: bars in proportion to their figures, the target where it belongs, colours that
say above or below it, stacks that add up, and empty reports that still draw."""

import pytest

from workbench import charts

SPAN = charts.WIDTH - charts.LABEL_W - 50


def test_rate_bars_are_proportional_and_coloured_against_the_target():
    chart = charts.rate_bars(
        [{"label": "一区", "rate": 0.9, "projected": 0.95}, {"label": "二区", "rate": 0.425, "projected": None}], 0.85
    )
    first, second = chart.rects
    assert first["w"] == pytest.approx(SPAN * 0.9, abs=0.1) and second["w"] == pytest.approx(SPAN * 0.425, abs=0.1)
    assert (first["fill"], second["fill"]) == ("#2e7d32", "#c62828")
    target = [line for line in chart.lines if line["dash"]]
    assert [line["x1"] for line in target] == [pytest.approx(charts.LABEL_W + SPAN * 0.85, abs=0.1)]
    projections = [line for line in chart.lines if not line["dash"]]
    assert [line["x1"] for line in projections] == [pytest.approx(charts.LABEL_W + SPAN * 0.95, abs=0.1)]
    assert {"一区", "二区", "90.0%", "42.5%", "85%"} <= {t["text"] for t in chart.texts}


def test_a_rate_above_one_or_missing_stays_inside_the_chart():
    chart = charts.rate_bars([{"label": "x", "rate": 1.7}, {"label": "y", "rate": None}], 0.85)
    assert len(chart.rects) == 1 and chart.rects[0]["w"] == pytest.approx(SPAN, abs=0.1)
    assert "—" in {t["text"] for t in chart.texts}


def test_stacks_add_up_to_the_total_and_the_largest_fills_the_span():
    keys = ["0-30", "31-90"]
    chart = charts.stacked_bars(
        [
            {"label": "一区", "values": {"0-30": "100.00", "31-90": "300.00"}},
            {"label": "二区", "values": {"0-30": "200.00", "31-90": "0.00"}},
        ],
        keys,
    )
    span = charts.WIDTH - charts.LABEL_W - 90
    first = [r for r in chart.rects if r["y"] == 10]
    assert sum(r["w"] for r in first) == pytest.approx(span, abs=0.2)
    second = [r for r in chart.rects if r["y"] != 10]
    assert [r["w"] for r in second] == [pytest.approx(span / 2, abs=0.1)]  # a zero part draws nothing
    assert first[1]["x"] == pytest.approx(first[0]["x"] + first[0]["w"], abs=0.1)
    assert {"¥400.00", "¥200.00"} <= {t["text"] for t in chart.texts}


def test_columns_and_line_follow_counts_and_rates():
    chart = charts.columns_with_line(
        [
            {"label": "11-02", "count": 4, "rate": 1.0},
            {"label": "11-09", "count": 2, "rate": 0.5},
            {"label": "11-16", "count": 0, "rate": None},
        ]
    )
    heights = [r["h"] for r in chart.rects]
    assert heights[0] == pytest.approx(2 * heights[1]) and heights[2] == 0
    assert len(chart.points) == 2 and chart.points[0]["y"] < chart.points[1]["y"]  # 100 % above 50 %
    assert chart.polyline.count(",") == 2


def test_empty_reports_draw_an_empty_chart():
    for chart in (charts.rate_bars([], 0.85), charts.stacked_bars([], ["0-30"]), charts.columns_with_line([])):
        assert chart.height > 0 and chart.rects == []


def test_twin_bars_each_against_its_own_target():
    chart = charts.twin_rate_bars(
        [{"label": "一区", "rates": (0.97, 0.5)}, {"label": "二区", "rates": (None, 0.6)}], (0.95, 0.60)
    )
    fills = [r["fill"] for r in chart.rects]
    # 一区: familiarity met (green), communication not (orange); 二区: no figure reads as 0 (red), 60 % met (blue).
    assert fills == ["#2e7d32", "#ef6c00", "#c62828", "#1565c0"]
    assert chart.rects[0]["w"] == pytest.approx(SPAN * 0.97, abs=0.1) and chart.rects[2]["w"] == 0
    ticks = sorted({line["x1"] for line in chart.lines})
    assert ticks == [
        pytest.approx(charts.LABEL_W + SPAN * 0.6, abs=0.1),
        pytest.approx(charts.LABEL_W + SPAN * 0.95, abs=0.1),
    ]
    assert len(chart.lines) == 4 and {"97%", "50%", "0%", "60%"} <= {t["text"] for t in chart.texts}


def test_value_bars_scale_to_the_larger_of_the_values_and_the_mark():
    span = charts.WIDTH - charts.LABEL_W - 70
    chart = charts.value_bars(
        [{"label": "一区", "value": 1.5}, {"label": "二区", "value": 6.0}, {"label": "三区", "value": None}], 3.0, "天"
    )
    first, second = chart.rects
    assert second["w"] == pytest.approx(span, abs=0.1) and first["w"] == pytest.approx(span / 4, abs=0.1)
    assert (first["fill"], second["fill"]) == ("#2e7d32", "#c62828")  # within the interval, overdue
    [mark] = chart.lines
    assert mark["dash"] and mark["x1"] == pytest.approx(charts.LABEL_W + span / 2, abs=0.1)
    assert {"1.5天", "6天", "3天", "—"} <= {t["text"] for t in chart.texts}
    empty = charts.value_bars([], 0.0, "天")
    assert empty.rects == [] and empty.height > 0
