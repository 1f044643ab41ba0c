"""Input no one should send gets a 4xx problem+json naming what is wrong — never a 500, never HTML (issues 12, 13)."""

import json

import pytest
import requests

from .conftest import make_household

PROBLEM = "application/problem+json"


def assert_problem(response: requests.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url[:120]}: {response.text}"
    assert response.headers["Content-Type"].startswith(PROBLEM), response.headers["Content-Type"]
    body = response.json()
    assert body["status"] == status
    if field is not None:
        assert field in body.get("errors", {}), body
    return body


def test_unknown_query_parameters_are_refused_naming_them(stack, admin):
    household = make_household(admin)
    # `q` is the free-text search since issue 17; a made-up name is still refused.
    assert_problem(admin.get("/api/v1/tickets", params={"keyword": "漏水"}), 400, "keyword")
    assert_problem(admin.get("/api/v1/residents", params={"moved_in_from": "2026-01-01"}), 400, "moved_in_from")
    # Also where an operation defines no query parameter at all, and on the gateway's own lists.
    unit = household["unit"]["id"]
    assert_problem(admin.get(f"/api/v1/units/{unit}/moving-appointments", params={"kind": "x"}), 400, "kind")
    assert_problem(admin.get("/api/v1/users", params={"rol": "butler"}), 400, "rol")
    # Known parameters still filter.
    assert admin.get("/api/v1/tickets", params={"unit_id": unit, "page": 1}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/zones",
        "/api/v1/payments",
        "/api/v1/tickets",
        "/api/v1/users",
    ],
)
def test_a_page_number_no_database_can_hold_is_refused(stack, admin, path):
    assert_problem(admin.get(path, params={"page": "865220849138907650009178302316544"}), 422, "page")
    assert_problem(admin.get(path, params={"page": str(10**20)}), 422, "page")


def test_odd_values_on_the_ledger_and_payments(stack, admin):
    household = make_household(admin)
    unit = household["unit"]["id"]
    assert_problem(admin.get(f"/api/v1/billing/units/{unit}/ledger", params={"page": str(10**18)}), 422, "page")
    assert_problem(admin.get("/api/v1/payments", params={"page_size": "-1"}), 422, "page_size")


def test_json_nested_a_thousand_deep_is_a_bad_request(stack, admin):
    body = "[" * 1000 + "]" * 1000
    response = admin.post("/api/v1/tickets", data=body, headers={"Content-Type": "application/json"})
    assert "nested" in assert_problem(response, 400)["detail"] + json.dumps(response.json())
    nested = '{"a":' * 1000 + "1" + "}" * 1000
    assert_problem(admin.post("/api/v1/auth/token", data=nested, headers={"Content-Type": "application/json"}), 400)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e1000000"])
def test_money_that_is_not_a_finite_number_is_refused(stack, admin, number):
    household = make_household(admin)
    raw = '{"unit_id": "' + household["unit"]["id"] + '", "amount": ' + number + ', "method": "cash"}'
    assert_problem(admin.post("/api/v1/payments", data=raw, headers={"Content-Type": "application/json"}), 400)
    as_text = {"unit_id": household["unit"]["id"], "amount": number, "method": "cash"}
    assert_problem(admin.post("/api/v1/payments", json=as_text), 422, "amount")


def test_dates_at_the_edges_of_the_calendar_are_refused(stack, admin):
    household = make_household(admin)
    community, unit = household["community"]["id"], household["unit"]["id"]
    assert_problem(
        admin.get("/api/v1/tickets", params={"created_from": "0001-01-01T00:00:00+14:00"}), 422, "created_from"
    )
    assert_problem(admin.get("/api/v1/tickets", params={"created_to": "9999-12-31T23:59:59-12:00"}), 422, "created_to")
    assert_problem(admin.get("/api/v1/notifications/stats", params={"date_from": "9999-12-31"}), 422, "date_from")
    monthly = admin.get("/api/v1/billing/reports/monthly", params={"community_id": community, "month": "9999-12"})
    assert_problem(monthly, 422, "month")
    moving = admin.post(
        f"/api/v1/units/{unit}/moving-appointments",
        json={
            "resident_id": household["resident"]["id"],
            "kind": "move_out",
            "scheduled_at": "9999-12-31T23:59:59-12:00",
        },
    )
    assert_problem(moving, 422, "scheduled_at")


def test_a_request_line_too_long_for_the_server_is_a_problem_not_html(stack, admin):
    # gunicorn refuses request lines over 4 KiB, werkzeug's server over 64 KiB: both answer 414 themselves.
    response = admin.get("/api/v1/tickets?x=" + "a" * 70_000)
    assert_problem(response, 414)
