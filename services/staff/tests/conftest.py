"""Fixtures of the staff service tests: its app on the session's PostgreSQL, and a community's team."""

import uuid

import pytest

from guanjia.testing import auth_header


@pytest.fixture(scope="session")
def staff_settings(infra):
    return infra.settings("staff")


@pytest.fixture(scope="session")
def staff_app(staff_settings):
    from staff.app import create_app

    return create_app(staff_settings, upstreams={})


@pytest.fixture
def client(staff_app):
    return staff_app.test_client()


@pytest.fixture
def team(client, staff_settings):
    """A community with 客服部: a senior butler over two butlers, and headers to call as each of them."""
    return make_team(client, staff_settings, str(uuid.uuid4()))


@pytest.fixture
def team_in(client, staff_settings):
    """The `team` fixture's team in a given community: team_in(community_id)."""
    return lambda community: make_team(client, staff_settings, community)


def make_team(client, staff_settings, community: str) -> dict:
    """The `team` fixture's team in a given community."""
    manager = auth_header(staff_settings, "cs_manager", communities=[community])
    department = client.post(
        "/api/v1/staff/departments", json={"community_id": community, "kind": "customer_service"}, headers=manager
    ).get_json()
    people, headers = {}, {"manager": manager}
    for name, role, title, boss in (
        ("lead", "senior_butler", "senior_butler", None),
        ("wang", "butler", "assistant_butler", "lead"),
        ("li", "butler", "butler_aide", "lead"),
    ):
        user_id = str(uuid.uuid4())
        body = {"department_id": department["id"], "title": title, "user_id": user_id, "display_name": name}
        body["reports_to_id"] = people[boss]["id"] if boss else None
        response = client.post("/api/v1/staff/positions", json=body, headers=manager)
        assert response.status_code == 201, response.get_data(as_text=True)
        people[name] = response.get_json()
        headers[name] = auth_header(staff_settings, role, subject=user_id, communities=[community])
    return {"community": community, "department": department, "positions": people, "headers": headers}
