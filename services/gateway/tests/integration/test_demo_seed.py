"""The demo community loaded through the gateway over HTTP, on the real embedded stack (needs residents)."""

import uuid

import pytest
import requests

from gateway.app import create_app
from gateway.bootstrap import bootstrap
from gateway.demo import LOADED_BY, seed
from guanjia.http import WsgiUpstream, upstreams_for
from guanjia.service import load_specs
from guanjia.stack import admin_token

pytestmark = pytest.mark.skipif("residents" not in load_specs(), reason="the residents service is not installed")


@pytest.fixture(scope="module")
def stack(infra, serve):
    """Gateway and every service in one process (WSGI upstreams, as embedded), the gateway on a real HTTP port.

    The services reach each other and the gateway (staff display names) through the same upstreams.
    """
    specs = load_specs()
    upstreams: dict = {}
    names = [n for n in ("residents", "tickets", "billing", "notifications") if n in specs]
    apps = {}
    suffix = uuid.uuid4().hex[:6]
    for name in names:  # in order: notifications keeps the upstreams only when it is given a non-empty dict
        # Databases of its own: other tests of the session file tickets that this gateway's users never saw.
        apps[name] = specs[name].create_app(infra.settings(name, database=f"{name}_demo_{suffix}"), upstreams)
        upstreams[name] = WsgiUpstream(name, apps[name])
    settings = infra.settings(
        "gateway", database=f"gateway_demo_{uuid.uuid4().hex[:6]}", env={"GUANJIA_ADMIN_PASSWORD": "demo-admin-1"}
    )
    bootstrap(settings)
    gateway = create_app(settings, upstreams_for(settings, apps))
    upstreams["gateway"] = WsgiUpstream("gateway", gateway)
    with serve(gateway) as url:
        yield {"url": url, "settings": settings}


def login(url, username, password):
    response = requests.post(f"{url}/api/v1/auth/token", json={"username": username, "password": password}, timeout=10)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_the_demo_loads_through_the_api_and_a_second_run_changes_nothing(stack):
    url = stack["url"]
    # The CLI passes an admin token it mints itself; an operator may pass the admin password instead.
    lines = seed(stack["url"], admin_token(stack["settings"]))
    assert any("garden-walk-2026" in line for line in lines)

    resident = login(url, "resident", "home-1-101-sunny")
    me = requests.get(f"{url}/api/v1/users/me", headers=resident, timeout=10).json()
    assert me["role"] == "resident" and me["resident_id"] and len(me["units"]) == 1
    unit = requests.get(f"{url}/api/v1/units/{me['units'][0]}", headers=resident, timeout=10)
    assert unit.status_code == 200, unit.text
    assert unit.json()["number"] == "1-101" and unit.json()["area_m2"] == "89.50"

    butler = login(url, "butler", "garden-walk-2026")
    butler_me = requests.get(f"{url}/api/v1/users/me", headers=butler, timeout=10).json()
    assert butler_me["communities"] == [unit.json()["community_id"]] and len(butler_me["zones"]) == 1
    # The demo butler works in the demo unit's zone, so they see it (butlers are zone-scoped).
    seen = requests.get(f"{url}/api/v1/units/{me['units'][0]}", headers=butler, timeout=10)
    assert seen.status_code == 200, seen.text
    zone = requests.get(f"{url}/api/v1/zones/{butler_me['zones'][0]}", headers=butler, timeout=10).json()
    assert zone["butler_ids"] == [butler_me["id"]]

    assert seed(stack["url"], "demo-admin-1") == lines
    admin = login(url, "admin", "demo-admin-1")
    users = requests.get(f"{url}/api/v1/users", headers=admin, params={"page_size": 100}, timeout=10).json()
    assert sorted(u["username"] for u in users["items"]) == ["admin", "butler", "engineer", "resident"]


def test_readiness_waits_for_the_admin_and_with_demo_for_the_demo_logins(infra, serve):
    """/readyz is what a script waits for before it signs in: 503 until the admin, then the demo logins, exist."""
    specs = load_specs()
    upstreams: dict = {}
    apps = {}
    suffix = uuid.uuid4().hex[:6]
    for name in [n for n in ("residents", "tickets", "billing", "notifications") if n in specs]:
        # Databases of its own: this demo must not mix with the module's stack (another gateway, other users).
        apps[name] = specs[name].create_app(infra.settings(name, database=f"{name}_ready_{suffix}"), upstreams)
        upstreams[name] = WsgiUpstream(name, apps[name])
    settings = infra.settings(
        "gateway",
        database=f"gateway_ready_{uuid.uuid4().hex[:6]}",
        env={"GUANJIA_ADMIN_PASSWORD": "ready-admin-1", "GUANJIA_DEMO": "1"},
    )
    gateway = create_app(settings, upstreams_for(settings, apps))
    upstreams["gateway"] = WsgiUpstream("gateway", gateway)
    with serve(gateway) as url:
        answer = requests.get(f"{url}/readyz", timeout=10)
        assert answer.status_code == 503
        assert answer.json()["checks"]["admin"].startswith("failed")
        assert answer.json()["checks"]["demo"].startswith("failed")

        bootstrap(settings)
        answer = requests.get(f"{url}/readyz", timeout=10)
        assert answer.status_code == 503 and answer.json()["checks"]["admin"] == "ok", answer.text
        assert answer.json()["checks"]["demo"].startswith("failed")

        seed(url, admin_token(settings))
        answer = requests.get(f"{url}/readyz", timeout=10)
        assert answer.status_code == 200, answer.text
        login(url, "butler", "garden-walk-2026")
        # /readyz waits for the login the seed writes last (after the zone's butler is set): one CI run saw /readyz
        # answer while the seed's last step was still to come, and the start-up then fail on it.
        admin = login(url, "admin", "ready-admin-1")
        users = requests.get(f"{url}/api/v1/users", headers=admin, params={"page_size": 100}, timeout=10).json()
        newest = max(users["items"], key=lambda user: user["created_at"])
        assert newest["username"] == LOADED_BY == "resident"


def test_the_demo_has_something_to_look_at_with_names_not_ids(stack):
    """Tickets in each state, a round under way, a renovation with a violation, a paid and an owed bill, a notice —
    and the display fields the workbench shows instead of ids."""
    url = stack["url"]
    seed(url, admin_token(stack["settings"]))
    admin = login(url, "admin", "demo-admin-1")

    def get(path, headers=admin, **params):
        response = requests.get(f"{url}{path}", headers=headers, params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    tickets = get("/api/v1/tickets", page_size=50)["items"]
    assert {"new", "assigned", "in_progress", "resolved", "closed"} <= {t["status"] for t in tickets}
    assigned = next(t for t in tickets if t["status"] == "in_progress")
    assert assigned["unit_label"] == "1栋1-101" and assigned["assignee_name"] == "王师傅"
    timeline = get(f"/api/v1/tickets/{assigned['id']}/timeline")["items"]
    assert "王师傅" in {entry["actor_name"] for entry in timeline}

    engineer = login(url, "engineer", "fix-pipes-2026")
    rounds = get("/api/v1/tickets/patrols/rounds", engineer)["items"]
    assert len(rounds) == 1 and rounds[0]["status"] == "in_progress"
    assert "zone_name" in rounds[0]  # filled from zone.updated, which no consumer applies in this stack
    assert rounds[0]["started_by_name"] == "王师傅"
    assert [c["code"] for c in rounds[0]["checkpoints"] if c["scanned_at"]] == ["CP-1-GATE"]

    renovation = get("/api/v1/renovations")["items"][0]
    assert (renovation["status"], renovation["unit_label"], renovation["applicant_name"]) == (
        "approved",
        "1栋1-102",
        "李*",
    )
    inspections = get(f"/api/v1/renovations/{renovation['id']}/inspections")
    assert inspections[0]["violations"][0]["category"] == "debris"

    bills = get("/api/v1/billing/bills")["items"]
    assert {b["unit_label"]: b["status"] for b in bills} == {"1栋1-101": "settled", "1栋1-102": "open"}
    payment = get("/api/v1/payments")["items"][0]
    assert payment["unit_label"] == "1栋1-101" and payment["method"] == "wechat"

    notice = get("/api/v1/notifications/notices")["items"][0]
    assert notice["title"] == "停水通知"

    butler = login(url, "butler", "garden-walk-2026")
    zone = get("/api/v1/zones", butler)["items"][0]
    assert zone["butler_names"] == ["陈管家"]
    residents = get("/api/v1/residents", butler)["items"]
    assert {r["unit_label"] for r in residents} == {"1栋1-101", "1栋1-102"}
    assert {r["name"] for r in residents} == {"张*", "李*"}  # masked for staff
