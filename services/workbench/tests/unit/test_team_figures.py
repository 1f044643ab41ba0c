"""How the team screens show the staff API's figures: ratios as percentages, averages to two places, — for none."""

import pytest

from workbench.views.team import figure_text


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        ("0.8750", "percent", "87.5 %"),
        (0.9, "percent", "90.0 %"),
        ("1", "percent", "100.0 %"),
        ("4.5", "number", "4.50"),
        (12, "count", "12"),
        (None, "percent", "—"),
        ("", "count", "—"),
        ("n/a", "percent", "n/a"),
    ],
)
def test_a_figure_as_shown(value, kind, shown):
    assert figure_text(value, kind) == shown
