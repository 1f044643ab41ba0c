"""The collection list's rules that need no instance: months overdue, and looking records up one by one or by list."""

from datetime import date

import pytest

from workbench.views import arrears


@pytest.mark.parametrize(
    ("due", "months"),
    [("2026-12-02", 0), ("2026-12-01", 1), ("2026-11-02", 1), ("2026-11-01", 2), ("2026-10-23", 2), ("2025-12-02", 12)],
)
def test_months_overdue_counts_the_months_begun(due, months):
    assert arrears.months_overdue(due, date(2026, 12, 2)) == months


def test_a_long_list_is_looked_up_by_the_scoped_list_and_what_it_lacks_one_by_one(monkeypatch):
    calls = []

    def get(path, params=None):
        calls.append(path)
        page = (params or {}).get("page", 1)
        rows = [{"id": f"u{i}"} for i in range(100)] if page == 1 else [{"id": "u100"}]
        return {"items": rows}

    monkeypatch.setattr(arrears.client, "get", get)
    monkeypatch.setattr(arrears.client, "get_or_none", lambda path, params=None: calls.append(path) or {"id": "gone"})
    found = arrears._by_id("/api/v1/units", {"community_id": "c"}, {f"u{i}" for i in range(30)} | {"gone"})
    assert calls == ["/api/v1/units", "/api/v1/units", "/api/v1/units/gone"]
    assert found["u29"] == {"id": "u29"} and found["gone"] == {"id": "gone"}

    calls.clear()
    arrears._by_id("/api/v1/units", {"community_id": "c"}, {"a", "b"})
    assert sorted(calls) == ["/api/v1/units/a", "/api/v1/units/b"]
