"""Work plans and summaries against the real PostgreSQL: items with owners and due dates, who sees and writes
whose plan, the month-end summary with the measured figures (asked of the real billing, tickets and residents
apps, in process), the superior's review; bad input names the field and writes nothing."""

import uuid

import pytest
from sqlalchemy import func, select

from guanjia.db import Database
from guanjia.http import WsgiUpstream
from staff.models import WorkPlan


@pytest.fixture(scope="module")
def wired(infra, staff_settings):
    """Staff with the real owners of the measured figures as its upstreams (embedded, in process)."""
    from billing.app import create_app as billing_app
    from residents.app import create_app as residents_app
    from staff.app import create_app
    from tickets.app import create_app as tickets_app

    upstreams = {}
    for name, make in (("billing", billing_app), ("tickets", tickets_app), ("residents", residents_app)):
        upstreams[name] = WsgiUpstream(name, make(infra.settings(name), upstreams={}))
    client = create_app(staff_settings, upstreams=upstreams).test_client()
    client.residents = upstreams["residents"].wsgi_app.test_client()
    return client


@pytest.fixture
def zoned(wired, infra, team_in):
    """A team in a community residents knows, with one zone (residents'), and the zone's id."""
    from guanjia.testing import auth_header

    settings = infra.settings("residents")
    created = wired.residents.post(
        "/api/v1/communities", json={"name": f"计划小区{uuid.uuid4().hex[:6]}"}, headers=auth_header(settings, "admin")
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    community = created.get_json()["id"]
    manager = auth_header(settings, "cs_manager", communities=[community])
    zone = wired.residents.post("/api/v1/zones", json={"community_id": community, "name": "东区"}, headers=manager)
    assert zone.status_code == 201, zone.get_data(as_text=True)
    # Two households in the zone (no contact in the plans' period): the figures residents answers are not null.
    building = wired.residents.post(
        "/api/v1/buildings",
        json={"community_id": community, "name": "1栋", "zone_id": zone.get_json()["id"]},
        headers=manager,
    ).get_json()
    for number, phone in (("1-101", "13800138001"), ("1-102", "13800138002")):
        unit = wired.residents.post(
            "/api/v1/units",
            json={"building_id": building["id"], "number": number, "floor": 1, "area_m2": "88.50"},
            headers=manager,
        )
        assert unit.status_code == 201, unit.get_data(as_text=True)
        body = {"unit_id": unit.get_json()["id"], "name": "张三", "phone": phone, "role": "owner"}
        resident = wired.residents.post("/api/v1/residents", json=body, headers=manager)
        assert resident.status_code == 201, resident.get_data(as_text=True)
    return {**team_in(community), "zone": zone.get_json()["id"]}


def _plan(client, team, who, whose, **extra):
    body = {
        "position_id": team["positions"][whose]["id"],
        "kind": "monthly",
        "period": "2031-05",
        "items": [{"title": "走访 3 栋全部住户", "due_on": "2031-05-20"}],
        **extra,
    }
    return client.post("/api/v1/staff/plans", json=body, headers=team["headers"][who])


def test_a_plan_its_summary_with_the_measured_figures_and_the_superiors_review(client, wired, team, staff_settings):
    headers, positions = team["headers"], team["positions"]
    database = Database(staff_settings.database_url)

    def count():
        with database.transaction() as session:
            return session.execute(
                select(func.count()).select_from(WorkPlan).where(WorkPlan.community_id == team["community"])
            ).scalar_one()

    # Bad input names the field and writes nothing.
    for extra, field in (
        ({"period": "2031-Q2"}, "period"),
        ({"kind": "quarterly", "period": "2031-05"}, "period"),
        ({"kind": "weekly"}, "kind"),
        ({"items": [{"title": "x", "due_on": "someday"}]}, "items.0.due_on"),
        ({"items": [{"title": "x", "due_on": "2031-05-01", "owner_id": str(uuid.uuid4())}]}, "items.0.owner_id"),
    ):
        refused = _plan(client, team, "wang", "wang", **extra)
        assert refused.status_code == 422 and field in refused.get_json()["errors"], (extra, refused.get_json())
    # A butler plans their own month only; li's plan is not wang's to write, nor wang's post an owner in li's.
    assert _plan(client, team, "wang", "li").status_code == 422
    assert count() == 0

    plan = _plan(client, team, "wang", "wang")
    assert plan.status_code == 201, plan.get_data(as_text=True)
    plan = plan.get_json()
    assert [(i["title"], i["owner_name"], i["status"]) for i in plan["items"]] == [
        ("走访 3 栋全部住户", "wang", "open")
    ]
    again = _plan(client, team, "wang", "wang")
    assert again.status_code == 422 and "period" in again.get_json()["errors"]
    # The senior butler adds an item owned by li to wang's plan (their team); the quarter is a separate plan.
    added = client.post(
        f"/api/v1/staff/plans/{plan['id']}/items",
        json={"title": "协助催缴", "owner_id": positions["li"]["id"], "due_on": "2031-05-25"},
        headers=headers["lead"],
    )
    assert added.status_code == 201 and [i["owner_name"] for i in added.get_json()["items"]] == ["wang", "li"]
    quarter = _plan(client, team, "lead", "wang", kind="quarterly", period="2031-Q2", items=[])
    assert quarter.status_code == 201, quarter.get_data(as_text=True)
    item = plan["items"][0]["id"]
    done = client.post(
        f"/api/v1/staff/plans/{plan['id']}/items/{item}/status", json={"status": "done"}, headers=headers["wang"]
    )
    assert done.status_code == 200 and done.get_json()["items"][0]["status"] == "done"
    bad = client.post(
        f"/api/v1/staff/plans/{plan['id']}/items/{item}/status", json={"status": "half"}, headers=headers["wang"]
    )
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]

    # Who sees whose: wang their own two, li none, the lead and the manager the team's; another community 404.
    url = f"/api/v1/staff/plans?community_id={team['community']}"
    assert len(client.get(url, headers=headers["wang"]).get_json()["items"]) == 2
    assert client.get(url, headers=headers["li"]).get_json()["items"] == []
    assert len(client.get(url + "&kind=monthly", headers=headers["manager"]).get_json()["items"]) == 1
    assert client.get(f"/api/v1/staff/plans/{plan['id']}", headers=headers["li"]).status_code == 404
    from guanjia.testing import auth_header

    stranger = auth_header(staff_settings, "cs_manager", communities=[str(uuid.uuid4())])
    assert client.get(f"/api/v1/staff/plans/{plan['id']}", headers=stranger).status_code == 404

    # Nothing to review before the summary; the summary is the holder's and pulls the month's figures.
    review = {"text": "走访完成，催缴需加强"}
    early = client.post(f"/api/v1/staff/plans/{plan['id']}/review", json=review, headers=headers["lead"])
    assert early.status_code == 409
    summary = {"text": "本月走访 120 户，收缴率偏低"}
    assert (
        wired.post(f"/api/v1/staff/plans/{plan['id']}/summary", json=summary, headers=headers["lead"]).status_code
        == 403
    )
    written = wired.post(f"/api/v1/staff/plans/{plan['id']}/summary", json=summary, headers=headers["wang"])
    assert written.status_code == 200, written.get_data(as_text=True)
    written = written.get_json()
    assert written["summary"] == summary["text"] and written["summarised_at"]
    # The owners answered: no bills, tickets nor households for this new community, so every figure is null.
    assert set(written["figures"]) >= {"collection_rate", "tickets", "sla_compliance", "familiarity", "patrol_coverage"}
    assert set(written["figures"].values()) == {None}
    empty = wired.post(f"/api/v1/staff/plans/{plan['id']}/summary", json={"text": ""}, headers=headers["wang"])
    assert empty.status_code == 422 and "text" in empty.get_json()["errors"]

    # The superior reviews (not wang, nor li); then the summary stands.
    assert (
        client.post(f"/api/v1/staff/plans/{plan['id']}/review", json=review, headers=headers["wang"]).status_code == 403
    )
    reviewed = client.post(f"/api/v1/staff/plans/{plan['id']}/review", json=review, headers=headers["lead"])
    assert reviewed.status_code == 200 and reviewed.get_json()["reviewed_by_name"] == "lead"
    late = wired.post(f"/api/v1/staff/plans/{plan['id']}/summary", json=summary, headers=headers["wang"])
    assert late.status_code == 409


def test_zone_and_community_plans_who_writes_and_reads_and_their_summaries(wired, zoned, staff_settings):
    """A zone's plan: the senior butler and the manager write it, the zone's butlers read it; the community's: the
    manager writes it, every member of staff reads it. Their summaries pull the zone's / community's figures; a
    quarter's combine its months (here: no bills, tickets nor households, so the figures are null)."""
    from guanjia.testing import auth_header

    client, team = wired, zoned
    headers, positions, community, zone = team["headers"], team["positions"], team["community"], team["zone"]
    wang = auth_header(
        staff_settings, "butler", subject=positions["wang"]["user_id"], communities=[community], zones=[zone]
    )
    database = Database(staff_settings.database_url)

    def count():
        with database.transaction() as session:
            return session.execute(
                select(func.count()).select_from(WorkPlan).where(WorkPlan.community_id == community)
            ).scalar_one()

    def create(who, **body):
        base = {"kind": "monthly", "period": "2031-05", "community_id": community, "items": []}
        return client.post(
            "/api/v1/staff/plans", json={**base, **body}, headers=headers[who] if isinstance(who, str) else who
        )

    item = {"title": "片区消防通道清理", "due_on": "2031-05-20"}
    for who, body, field in (
        ("lead", {"scope": "team", "zone_id": zone}, "scope"),
        ("lead", {"scope": "zone"}, "zone_id"),
        ("lead", {"scope": "zone", "zone_id": str(uuid.uuid4())}, "zone_id"),
        ("lead", {"scope": "zone", "zone_id": zone, "community_id": ""}, "community_id"),
        ("lead", {"scope": "zone", "zone_id": zone, "items": [item]}, "items.0.owner_id"),
        ("lead", {"scope": "person"}, "position_id"),
    ):
        refused = create(who, **body)
        assert refused.status_code == 422 and field in refused.get_json()["errors"], (body, refused.get_json())
    assert create(wang, scope="zone", zone_id=zone).status_code == 403
    assert create("lead", scope="community").status_code == 403
    assert count() == 0

    owned = {**item, "owner_id": positions["wang"]["id"]}
    zone_plan = create("lead", scope="zone", zone_id=zone, items=[owned])
    assert zone_plan.status_code == 201, zone_plan.get_data(as_text=True)
    zone_plan = zone_plan.get_json()
    assert (zone_plan["scope"], zone_plan["zone_id"], zone_plan["position_id"]) == ("zone", zone, None)
    assert [i["owner_name"] for i in zone_plan["items"]] == ["wang"]
    again = create("manager", scope="zone", zone_id=zone)
    assert again.status_code == 422 and "period" in again.get_json()["errors"]
    whole = create("manager", scope="community", kind="quarterly", period="2031-Q2")
    assert whole.status_code == 201, whole.get_data(as_text=True)
    whole = whole.get_json()
    assert whole["scope"] == "community" and whole["zone_id"] is None

    # wang (the zone's butler) reads the zone's plan and the community's; li (not of the zone) the community's only.
    url = f"/api/v1/staff/plans?community_id={community}"
    assert {p["scope"] for p in client.get(url, headers=wang).get_json()["items"]} == {"zone", "community"}
    assert [p["scope"] for p in client.get(url, headers=headers["li"]).get_json()["items"]] == ["community"]
    assert client.get(f"/api/v1/staff/plans/{zone_plan['id']}", headers=headers["li"]).status_code == 404
    assert len(client.get(f"{url}&scope=zone&zone_id={zone}", headers=headers["manager"]).get_json()["items"]) == 1
    # Reading is not writing: wang may not add an item nor mark one; the lead may.
    add = {"title": "补充", "due_on": "2031-05-28", "owner_id": positions["li"]["id"]}
    assert client.post(f"/api/v1/staff/plans/{zone_plan['id']}/items", json=add, headers=wang).status_code == 403
    no_owner = client.post(
        f"/api/v1/staff/plans/{zone_plan['id']}/items", json={**add, "owner_id": None}, headers=headers["lead"]
    )
    assert no_owner.status_code == 422 and "owner_id" in no_owner.get_json()["errors"]
    added = client.post(f"/api/v1/staff/plans/{zone_plan['id']}/items", json=add, headers=headers["lead"])
    assert added.status_code == 201 and len(added.get_json()["items"]) == 2
    status = f"/api/v1/staff/plans/{zone_plan['id']}/items/{zone_plan['items'][0]['id']}/status"
    assert client.post(status, json={"status": "done"}, headers=wang).status_code == 403

    # Summaries: the zone's by its writers, the community's by the manager; figures of the scope (null here).
    summary = {"text": "片区本月完成情况"}
    assert wired.post(f"/api/v1/staff/plans/{zone_plan['id']}/summary", json=summary, headers=wang).status_code == 403
    written = wired.post(f"/api/v1/staff/plans/{zone_plan['id']}/summary", json=summary, headers=headers["lead"])
    assert written.status_code == 200, written.get_data(as_text=True)
    zone_figures = written.get_json()["figures"]
    assert set(zone_figures) >= {"collection_rate", "tickets", "sla_met", "households"}
    # The zone's row: its two households, none contacted in the month.
    assert (zone_figures["households"], zone_figures["contacted"], zone_figures["familiarity"]) == (2, 0, "0.0")
    lead_whole = wired.post(f"/api/v1/staff/plans/{whole['id']}/summary", json=summary, headers=headers["lead"])
    assert lead_whole.status_code == 403
    quarter = wired.post(f"/api/v1/staff/plans/{whole['id']}/summary", json=summary, headers=headers["manager"])
    assert quarter.status_code == 200, quarter.get_data(as_text=True)
    figures = quarter.get_json()["figures"]
    assert figures["collection_rate"] is None and figures["tickets"] is None
    # The quarter: the community's three months summed (2 households a month), the ratio from the sums.
    assert (figures["households"], figures["contacted"], figures["familiarity"]) == (6, 0, "0.0000")

    # The manager reviews a zone's plan; the senior butler may not.
    review = {"text": "继续保持"}
    assert (
        client.post(f"/api/v1/staff/plans/{zone_plan['id']}/review", json=review, headers=headers["lead"]).status_code
        == 403
    )
    reviewed = client.post(f"/api/v1/staff/plans/{zone_plan['id']}/review", json=review, headers=headers["manager"])
    assert reviewed.status_code == 200 and reviewed.get_json()["reviewed_at"]
