"""Charts drawn on the server as SVG geometry (bars, stacks, a line, a target mark): pictures without a script
or another host, each the same figures as the table beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

WIDTH = 640
LABEL_W = 150  # room for a zone's or a butler's name left of the bars
ROW_H = 28
BAR_H = 18
PALETTE = ("#2e7d32", "#9e9d24", "#f9a825", "#ef6c00", "#c62828")  # ageing: fresh to old


@dataclass
class Chart:
    """What a template draws: the SVG's size, its shapes, and the texts placed on it."""

    width: int
    height: int
    rects: list = field(default_factory=list)  # {x, y, w, h, fill, title}
    lines: list = field(default_factory=list)  # {x1, y1, x2, y2, stroke, dash}
    texts: list = field(default_factory=list)  # {x, y, text, anchor, cls}
    polyline: str = ""  # "x,y x,y …" of a line series
    points: list = field(default_factory=list)  # {x, y, title}


def _num(value) -> float:
    try:
        return float(Decimal(str(value)))
    except Exception:
        return 0.0


def rate_bars(rows: list[dict], target: float) -> Chart:
    """One horizontal bar per group: its collection rate (0–100 %), its projection to period end as a tick, and
    the target as a dashed vertical line across all bars. rows: {label, rate, projected} with rates 0–1 or None."""
    span = WIDTH - LABEL_W - 50
    chart = Chart(WIDTH, max(1, len(rows)) * ROW_H + 30)
    for index, row in enumerate(rows):
        y = 10 + index * ROW_H
        rate = row.get("rate")
        chart.texts.append(
            {"x": LABEL_W - 6, "y": y + BAR_H - 4, "text": row["label"], "anchor": "end", "cls": "label"}
        )
        if rate is None:
            chart.texts.append({"x": LABEL_W + 4, "y": y + BAR_H - 4, "text": "—", "anchor": "start", "cls": "value"})
            continue
        width = round(span * min(max(rate, 0.0), 1.0), 1)
        fill = "#2e7d32" if rate >= target else "#c62828"
        chart.rects.append({"x": LABEL_W, "y": y, "w": width, "h": BAR_H, "fill": fill, "title": f"{rate:.1%}"})
        chart.texts.append(
            {"x": LABEL_W + width + 4, "y": y + BAR_H - 4, "text": f"{rate:.1%}", "anchor": "start", "cls": "value"}
        )
        projected = row.get("projected")
        if projected is not None:
            x = round(LABEL_W + span * min(max(projected, 0.0), 1.0), 1)
            chart.lines.append({"x1": x, "y1": y - 2, "x2": x, "y2": y + BAR_H + 2, "stroke": "#1565c0", "dash": ""})
    x = round(LABEL_W + span * target, 1)
    bottom = chart.height - 18
    chart.lines.append({"x1": x, "y1": 4, "x2": x, "y2": bottom, "stroke": "#555", "dash": "4 3"})
    chart.texts.append({"x": x, "y": chart.height - 4, "text": f"{target:.0%}", "anchor": "middle", "cls": "axis"})
    return chart


def stacked_bars(rows: list[dict], keys: list[str]) -> Chart:
    """One horizontal bar per group split into its parts (arrears by age), scaled to the largest total.
    rows: {label, values: {key: number}}."""
    span = WIDTH - LABEL_W - 90
    totals = [sum(_num(row["values"].get(k)) for k in keys) for row in rows]
    largest = max(totals, default=0) or 1.0
    chart = Chart(WIDTH, max(1, len(rows)) * ROW_H + 10)
    for index, (row, total) in enumerate(zip(rows, totals, strict=True)):
        y = 10 + index * ROW_H
        chart.texts.append(
            {"x": LABEL_W - 6, "y": y + BAR_H - 4, "text": row["label"], "anchor": "end", "cls": "label"}
        )
        x = float(LABEL_W)
        for key, colour in zip(keys, PALETTE, strict=False):
            value = _num(row["values"].get(key))
            if value <= 0:
                continue
            width = round(span * value / largest, 1)
            chart.rects.append({"x": round(x, 1), "y": y, "w": width, "h": BAR_H, "fill": colour, "title": key})
            x += width
        chart.texts.append(
            {"x": round(x, 1) + 4, "y": y + BAR_H - 4, "text": f"¥{total:,.2f}", "anchor": "start", "cls": "value"}
        )
    return chart


def columns_with_line(rows: list[dict]) -> Chart:
    """Columns of a count per week and a line of a rate (SLA compliance, 0–1) over them.
    rows: {label, count, rate}."""
    height, top, bottom = 220, 20, 40
    plot = height - top - bottom
    step = (WIDTH - 60) / max(1, len(rows))
    largest = max((row["count"] for row in rows), default=0) or 1
    chart = Chart(WIDTH, height)
    points = []
    for index, row in enumerate(rows):
        x = 40 + index * step
        h = round(plot * row["count"] / largest, 1)
        chart.rects.append(
            {"x": round(x + step * 0.2, 1), "y": round(top + plot - h, 1), "w": round(step * 0.6, 1), "h": h,
             "fill": "#90a4ae", "title": str(row["count"])}
        )  # fmt: skip
        centre = round(x + step / 2, 1)
        chart.texts.append({"x": centre, "y": height - 22, "text": row["label"], "anchor": "middle", "cls": "axis"})
        chart.texts.append(
            {
                "x": centre,
                "y": round(top + plot - h - 4, 1),
                "text": str(row["count"]),
                "anchor": "middle",
                "cls": "value",
            }
        )
        if row.get("rate") is not None:
            y = round(top + plot * (1 - row["rate"]), 1)
            points.append((centre, y))
            chart.points.append({"x": centre, "y": y, "title": f"{row['rate']:.0%}"})
    chart.polyline = " ".join(f"{x},{y}" for x, y in points)
    chart.lines.append({"x1": 40, "y1": top + plot, "x2": WIDTH - 20, "y2": top + plot, "stroke": "#555", "dash": ""})
    return chart


def _text(chart: Chart, x: float, y: float, text: str, anchor: str = "start", cls: str = "value") -> None:
    chart.texts.append({"x": x, "y": y, "text": text, "anchor": anchor, "cls": cls})


def twin_rate_bars(rows: list[dict], targets: tuple[float, float]) -> Chart:
    """Two thin horizontal bars per group (two rates, 0–1), each against its own target, drawn as a dashed tick
    across its bar: green when it meets the target, red when not. rows: {label, rates: (a, b)}."""
    span = WIDTH - LABEL_W - 50
    half = BAR_H // 2
    chart = Chart(WIDTH, max(1, len(rows)) * ROW_H + 10)
    fills = (("#2e7d32", "#c62828"), ("#1565c0", "#ef6c00"))
    for index, row in enumerate(rows):
        y = 10 + index * ROW_H
        _text(chart, LABEL_W - 6, y + BAR_H - 4, row["label"], "end", "label")
        for part, (rate, target) in enumerate(zip(row["rates"], targets, strict=True)):
            top = y + part * (half + 1)
            rate = 0.0 if rate is None else min(max(rate, 0.0), 1.0)
            width = round(span * rate, 1)
            fill = fills[part][0] if rate >= target else fills[part][1]
            chart.rects.append({"x": LABEL_W, "y": top, "w": width, "h": half, "fill": fill, "title": f"{rate:.1%}"})
            _text(chart, LABEL_W + width + 4, top + half - 1, f"{rate:.0%}")
            x = round(LABEL_W + span * target, 1)
            chart.lines.append({"x1": x, "y1": top - 1, "x2": x, "y2": top + half + 1, "stroke": "#555", "dash": "2 2"})
    return chart


def value_bars(rows: list[dict], mark: float, unit: str) -> Chart:
    """One horizontal bar per group of a quantity (days since the last patrol round), scaled to the largest value
    or the mark, with the mark (the required interval) as a dashed line: red past it. rows: {label, value}."""
    span = WIDTH - LABEL_W - 70
    largest = max([mark, *(row["value"] or 0 for row in rows)]) or 1.0
    chart = Chart(WIDTH, max(1, len(rows)) * ROW_H + 30)
    for index, row in enumerate(rows):
        y = 10 + index * ROW_H
        _text(chart, LABEL_W - 6, y + BAR_H - 4, row["label"], "end", "label")
        value = row["value"]
        if value is None:
            _text(chart, LABEL_W + 4, y + BAR_H - 4, "—")
            continue
        width = round(span * value / largest, 1)
        fill = "#2e7d32" if value <= mark else "#c62828"
        chart.rects.append({"x": LABEL_W, "y": y, "w": width, "h": BAR_H, "fill": fill, "title": f"{value:g}{unit}"})
        _text(chart, LABEL_W + width + 4, y + BAR_H - 4, f"{value:g}{unit}")
    x = round(LABEL_W + span * mark / largest, 1)
    chart.lines.append({"x1": x, "y1": 4, "x2": x, "y2": chart.height - 18, "stroke": "#555", "dash": "4 3"})
    chart.texts.append({"x": x, "y": chart.height - 4, "text": f"{mark:g}{unit}", "anchor": "middle", "cls": "axis"})
    return chart
