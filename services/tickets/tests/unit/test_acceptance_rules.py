"""The pure rules of new-building acceptance: a result for every checklist item, a defect's required fields and
deadline, the building's progress, the actions a plan and a defect allow."""

from datetime import date
from types import SimpleNamespace

import pytest

from guanjia.errors import Invalid
from tickets.domain import acceptance

TODAY = date(2026, 12, 2)
ITEMS = acceptance.default_items()[:3]
DEFECT = {"description": "墙面空鼓", "responsible_party": "contractor", "rectify_by": date(2026, 12, 20)}


def _errors(results):
    with pytest.raises(Invalid) as caught:
        acceptance.check_results(ITEMS, results, TODAY)
    return caught.value.errors


def test_every_item_has_one_result_in_checklist_order():
    results = [{"position": 2, "result": "pass"}, {"position": 0, "result": "defect", **DEFECT}]
    results.append({"position": 1, "result": "pass"})
    assert [r["position"] for r in acceptance.check_results(ITEMS, results, TODAY)] == [0, 1, 2]
    assert "results" in _errors(results[:2])
    assert "墙面天花" in str(_errors(results[1:]))  # the missing item is named
    assert "results.3.position" in _errors([*results, {"position": 1, "result": "pass"}])
    assert "results.0.position" in _errors([{"position": 9, "result": "pass"}])


@pytest.mark.parametrize("field", ["description", "responsible_party", "rectify_by"])
def test_a_defect_needs_what_is_wrong_who_fixes_it_and_by_when(field):
    defect = {"position": 0, "result": "defect", **DEFECT}
    defect.pop(field)
    assert f"results.0.{field}" in _errors(
        [defect, {"position": 1, "result": "pass"}, {"position": 2, "result": "pass"}]
    )


def test_a_deadline_in_the_past_is_refused():
    defect = {"position": 0, "result": "defect", **DEFECT, "rectify_by": date(2026, 12, 1)}
    assert "results.0.rectify_by" in _errors([defect])
    today = {**defect, "rectify_by": TODAY}
    rest = [{"position": 1, "result": "pass"}, {"position": 2, "result": "pass"}]
    assert acceptance.check_results(ITEMS, [today, *rest], TODAY)[0]["rectify_by"] == TODAY


def test_progress_of_a_building():
    assert acceptance.progress(40, 10, 7, 3) == {
        "units_total": 40,
        "units_inspected": 10,
        "units_pending": 30,
        "defects_open": 7,
        "defects_closed": 3,
        "percent_inspected": 25,
    }
    assert acceptance.progress(0, 0, 0, 0)["percent_inspected"] == 0


def test_allowed_actions_and_overdue():
    assert acceptance.plan_actions(SimpleNamespace(status="open")) == ["inspect", "close"]
    assert acceptance.plan_actions(SimpleNamespace(status="closed")) == []
    defect = SimpleNamespace(status="open", rectify_by=date(2026, 12, 1))
    assert acceptance.defect_actions(defect) == ["reinspect", "photos"] and acceptance.overdue(defect, TODAY)
    assert not acceptance.overdue(SimpleNamespace(status="closed", rectify_by=date(2026, 12, 1)), TODAY)


def test_the_default_template_covers_the_six_categories():
    assert {i["category"] for i in acceptance.default_items()} == set(acceptance.CATEGORIES)
    assert set(acceptance.CATEGORY_LABELS) == set(acceptance.CATEGORIES)
