"""Integrator API keys: shown once, stored hashed, read-only, scoped to communities and resources, expiring,
revocable — checked against the real residents service behind the gateway."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.models import ApiKey
from guanjia.db import Database, utcnow
from guanjia.http import WsgiUpstream
from guanjia.testing import auth_header


@pytest.fixture
def keyed_gateway(gateway_settings, residents_app, tickets_app, clock):
    upstreams = {
        "residents": WsgiUpstream("residents", residents_app),
        "tickets": WsgiUpstream("tickets", tickets_app),
    }
    return create_app(gateway_settings, upstreams=upstreams, clock=clock).test_client()


@pytest.fixture
def two_communities(residents_app, residents_settings):
    client = residents_app.test_client()
    admin = auth_header(residents_settings, "admin")
    return [
        client.post("/api/v1/communities", headers=admin, json={"name": name}).json for name in ("甲小区", "乙小区")
    ]


def issue(client, admin_headers, **fields):
    body = {"name": "门禁系统", "resources": ["communities", "units"], **fields}
    response = client.post("/api/v1/api-keys", headers=admin_headers, json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_a_key_is_shown_once_and_stored_hashed(keyed_gateway, admin_headers, gateway_settings, two_communities):
    issued = issue(keyed_gateway, admin_headers, communities=[two_communities[0]["id"]])
    assert issued["key"].startswith("gjk_") and issued["prefix"] in issued["key"]
    assert issued["revoked_at"] is None
    shown = keyed_gateway.get(f"/api/v1/api-keys/{issued['id']}", headers=admin_headers).json
    assert "key" not in shown and shown["prefix"] == issued["prefix"]
    listed = keyed_gateway.get("/api/v1/api-keys", headers=admin_headers, query_string={"page_size": 100}).json
    assert all("key" not in item for item in listed["items"])
    database = Database(gateway_settings.database_url)
    try:
        with database.transaction() as session:
            stored = session.execute(select(ApiKey).where(ApiKey.id == issued["id"])).scalar_one()
            assert issued["key"].split("_", 2)[2] not in (stored.secret_hash, stored.prefix)
    finally:
        database.dispose()
    actions = keyed_gateway.get("/api/v1/audit", headers=admin_headers, query_string={"target_id": issued["id"]})
    assert [e["action"] for e in actions.json["items"]] == ["api_key.issued"]


def test_a_key_reads_its_own_communities_only_and_never_writes(keyed_gateway, admin_headers, two_communities):
    mine, other = two_communities
    key = issue(keyed_gateway, admin_headers, communities=[mine["id"]])["key"]
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        assert keyed_gateway.get(f"/api/v1/communities/{mine['id']}", headers=headers).status_code == 200
        assert keyed_gateway.get(f"/api/v1/communities/{other['id']}", headers=headers).status_code == 404
        listed = keyed_gateway.get("/api/v1/communities", headers=headers, query_string={"page_size": 100}).json
        assert [c["id"] for c in listed["items"]] == [mine["id"]]
        write = keyed_gateway.post("/api/v1/communities", headers=headers, json={"name": "x"})
        assert write.status_code == 403 and "read-only" in write.json["detail"]
        # A resource the key does not cover.
        assert keyed_gateway.get("/api/v1/tickets", headers=headers).status_code == 403
        # Nor the gateway's own administration.
        assert keyed_gateway.get("/api/v1/users", headers=headers).status_code == 401


def test_an_expired_or_revoked_key_is_refused(keyed_gateway, admin_headers, two_communities, clock):
    community = two_communities[0]["id"]
    short = issue(
        keyed_gateway, admin_headers, communities=[community], expires_at=(clock() + timedelta(days=1)).isoformat()
    )
    revoked = issue(keyed_gateway, admin_headers, communities=[community])
    path = f"/api/v1/communities/{community}"
    assert keyed_gateway.get(path, headers={"X-API-Key": revoked["key"]}).status_code == 200

    response = keyed_gateway.post(f"/api/v1/api-keys/{revoked['id']}/revoke", headers=admin_headers)
    assert response.status_code == 200 and response.json["revoked_at"]
    refused = keyed_gateway.get(path, headers={"X-API-Key": revoked["key"]})
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    actions = keyed_gateway.get("/api/v1/audit", headers=admin_headers, query_string={"target_id": revoked["id"]})
    assert {e["action"] for e in actions.json["items"]} == {"api_key.issued", "api_key.revoked"}

    # The expiry is checked against the real clock of the database row (a key past its date is dead).
    database = Database(keyed_gateway.application.extensions["guanjia.settings"].database_url)
    try:
        from sqlalchemy import update

        with database.transaction() as session:
            session.execute(update(ApiKey).where(ApiKey.id == short["id"]).values(expires_at=utcnow() - timedelta(1)))
    finally:
        database.dispose()
    keyed_gateway.application.extensions["gateway.api_keys"].forget()
    assert keyed_gateway.get(path, headers={"X-API-Key": short["key"]}).status_code == 401
    assert keyed_gateway.get(path, headers={"X-API-Key": "gjk_000000000000_madeup"}).status_code == 401


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"resources": ["users"]}, "resources.0"),
        ({"resources": []}, "resources"),
        ({"communities": []}, "communities"),
        ({"expires_at": "2020-01-01T00:00:00+00:00"}, "expires_at"),
        ({"expires_at": "2099-01-01T00:00:00+00:00"}, "expires_at"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_key_requests_name_the_field(keyed_gateway, admin_headers, changes, field):
    body = {"name": "报表", "communities": ["c-1"], "resources": ["units"], **changes}
    response = keyed_gateway.post("/api/v1/api-keys", headers=admin_headers, json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


def test_only_admins_issue_and_revoke_keys(keyed_gateway, gateway_settings):
    for role in ("butler", "senior_butler", "cs_manager", "finance", "integrator", "resident", "service"):
        headers = auth_header(gateway_settings, role, communities=["c-1"])
        body = {"name": "x", "communities": ["c-1"], "resources": ["units"]}
        assert keyed_gateway.post("/api/v1/api-keys", headers=headers, json=body).status_code == 403
        assert keyed_gateway.get("/api/v1/api-keys", headers=headers).status_code == 403


def test_a_key_has_its_own_rate_limit(gateway_settings, residents_app, admin_headers, two_communities):
    upstreams = {"residents": WsgiUpstream("residents", residents_app)}
    gateway = GatewaySettings(rate_limits={"api_key": (3, 60)})
    client = create_app(gateway_settings, upstreams=upstreams, gateway=gateway).test_client()
    key = issue(client, admin_headers, communities=[two_communities[0]["id"]])["key"]
    path = f"/api/v1/communities/{two_communities[0]['id']}"
    statuses = [client.get(path, headers={"X-API-Key": key}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get(path, headers={"X-API-Key": key})
    assert int(limited.headers["Retry-After"]) >= 1


def test_a_key_reads_tickets_over_http_as_well(gateway_settings, tickets_url, admin_headers):
    """Distributed mode: the key never leaves the gateway; the service gets the minted integrator token."""
    from guanjia.http import HttpUpstream

    client = create_app(gateway_settings, upstreams={"tickets": HttpUpstream("tickets", tickets_url)}).test_client()
    key = issue(client, admin_headers, communities=["c-keyed"], resources=["tickets"])["key"]
    for _ in range(2):  # the second time from the key cache
        response = client.get("/api/v1/tickets", headers={"X-API-Key": key})
        assert response.status_code == 200, response.json
