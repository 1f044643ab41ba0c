"""Owner meetings and activity photos: the issues raised at a meeting (by a household or in general), each handed
on once as a ticket (meeting.issue_raised: ids and codes, never the words), photos proven by their content and
served as downloads, the households' labels on sign-ups, and the promotion figures' workbook."""

import io
from datetime import timedelta

from guanjia.db import utcnow


def _meeting(client, world, kind="owner_meeting"):
    start = utcnow() + timedelta(days=3)
    body = {
        "community_id": world["community_id"],
        "title": "2026年第四季度业主见面会",
        "kind": kind,
        "place": "物业服务中心二楼",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "signup_closes_at": (start - timedelta(hours=2)).isoformat(),
        "capacity": 50,
    }
    response = client.post("/api/v1/activities", headers=world["butler"], json=body)
    assert response.status_code == 201, response.json
    aid = response.json["id"]
    assert (
        client.patch(f"/api/v1/activities/{aid}", headers=world["butler"], json={"status": "published"}).status_code
        == 200
    )
    return aid


def _count(db, model, **where):
    from sqlalchemy import func, select

    with db.transaction() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.execute(query).scalar_one()


def test_an_issue_raised_by_a_household_becomes_one_ticket_request(client, world, db, outbox_events):
    from community.models import MeetingIssue

    aid, home = _meeting(client, world), world["units"]["1栋1-101"]
    base = f"/api/v1/activities/{aid}/issues"
    bad = client.post(base, headers=world["butler"], json={"topic": "weather", "description": ""})
    assert bad.status_code == 422 and bad.content_type == "application/problem+json"
    assert {"topic", "description"} <= set(bad.json["errors"])
    other_zone = client.post(
        base,
        headers=world["butler"],
        json={"topic": "lift", "description": "2栋电梯常停", "unit_id": world["units"]["2栋2-201"]},
    )
    assert other_zone.status_code == 404
    assert _count(db, MeetingIssue, activity_id=aid) == 0  # nothing written

    raised = client.post(
        base, headers=world["butler"], json={"topic": "lift", "description": "1栋电梯夜间经常停运", "unit_id": home}
    )
    assert raised.status_code == 201, raised.json
    issue = raised.json
    assert (issue["status"], issue["unit_label"]) == ("open", "1栋1-101")
    general = client.post(base, headers=world["manager"], json={"topic": "parking", "description": "访客车位不够"})
    assert general.status_code == 201 and general.json["unit_id"] is None

    wrong = client.post(f"{base}/{issue['id']}/ticket", headers=world["butler"], json={"category": "praise"})
    assert wrong.status_code == 422 and "category" in wrong.json["errors"]
    assert outbox_events(f"meeting_issue/{issue['id']}") == []
    handed = client.post(f"{base}/{issue['id']}/ticket", headers=world["butler"], json={"category": "repair"})
    assert handed.status_code == 200 and handed.json["status"] == "ticket_requested"
    again = client.post(f"{base}/{issue['id']}/ticket", headers=world["butler"], json={"category": "repair"})
    assert again.status_code == 409
    (event,) = outbox_events(f"meeting_issue/{issue['id']}", "meeting.issue_raised")
    assert event["data"] == {
        "issue_id": issue["id"],
        "activity_id": aid,
        "community_id": world["community_id"],
        "zone_id": world["zones"]["一区"],
        "unit_id": home,
        "topic": "lift",
        "category": "repair",
    }
    assert "电梯" not in str(event)  # the words stay in community

    closed = client.post(f"{base}/{general.json['id']}/close", headers=world["manager"])
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    listed = client.get(base, headers=world["butler"]).json["items"]
    assert {i["id"] for i in listed} == {issue["id"], general.json["id"]}


def test_issues_are_for_owner_meetings_and_staff_of_the_community(client, world):
    festival = _meeting(client, world, kind="festival")
    refused = client.post(
        f"/api/v1/activities/{festival}/issues", headers=world["butler"], json={"topic": "other", "description": "x"}
    )
    assert refused.status_code == 404
    aid = _meeting(client, world)
    base = f"/api/v1/activities/{aid}/issues"
    assert client.get(base, headers=world["outsider"]).status_code == 404
    assert client.get(base, headers=world["resident"]).status_code == 403
    raised = client.post(
        base,
        headers=world["manager"],
        json={"topic": "noise", "description": "广场舞太吵", "unit_id": world["units"]["2栋2-201"]},
    ).json
    # A butler of 一区 neither sees nor hands on the issue of a 二区 household.
    assert [i["id"] for i in client.get(base, headers=world["butler"]).json["items"]] == []
    assert (
        client.post(
            f"{base}/{raised['id']}/ticket", headers=world["butler"], json={"category": "complaint"}
        ).status_code
        == 404
    )


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(out, "PNG")
    return out.getvalue()


def test_photos_are_images_proven_by_content_and_served_as_downloads(client, world, db):
    from community.models import ActivityPhoto

    aid = _meeting(client, world, kind="culture")
    base = f"/api/v1/activities/{aid}/photos"
    fake = client.post(base, headers=world["butler"], data={"file": (io.BytesIO(b"<svg onload=alert(1)>"), "x.png")})
    assert fake.status_code == 422 and "file" in fake.json["errors"]
    pdf = client.post(base, headers=world["butler"], data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF"), "minutes.pdf")})
    assert pdf.status_code == 422
    assert client.post(base, headers=world["resident"], data={"file": (io.BytesIO(_png()), "a.png")}).status_code == 403
    assert client.post(base, headers=world["outsider"], data={"file": (io.BytesIO(_png()), "a.png")}).status_code == 404
    assert _count(db, ActivityPhoto, activity_id=aid) == 0

    added = client.post(base, headers=world["butler"], data={"file": (io.BytesIO(_png()), "../合影.png")})
    assert added.status_code == 201, added.json
    assert (added.json["filename"], added.json["content_type"]) == ("合影.png", "image/png")
    listed = client.get(base, headers=world["resident"]).json  # residents see photos of announced activities
    assert [p["id"] for p in listed["items"]] == [added.json["id"]]
    content = client.get(f"{base}/{added.json['id']}/content", headers=world["resident"])
    assert content.status_code == 200 and content.data == _png()
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    assert content.headers["Content-Disposition"].startswith("attachment")
    assert client.get(f"{base}/{added.json['id']}/content", headers=world["outsider"]).status_code == 404


def test_sign_ups_and_orders_name_the_household_and_the_figures_download(client, world):
    from openpyxl import load_workbook

    aid = _meeting(client, world, kind="sport")
    home = world["units"]["1栋1-102"]
    client.post(f"/api/v1/activities/{aid}/signups", headers=world["butler"], json={"unit_id": home})
    (signup,) = client.get(f"/api/v1/activities/{aid}/signups", headers=world["butler"]).json["items"]
    assert signup["unit_label"] == "1栋1-102"

    item = client.post(
        "/api/v1/catalogue",
        headers=world["senior"],
        json={
            "community_id": world["community_id"],
            "name": "家政保洁",
            "pricing": "per_unit",
            "price": "60.00",
            "unit_name": "小时",
            "provider": "own_staff",
        },
    ).json
    order = client.post(
        "/api/v1/service-orders", headers=world["butler"], json={"unit_id": home, "item_id": item["id"], "quantity": 3}
    ).json
    client.post(
        f"/api/v1/service-orders/{order['id']}/schedule",
        headers=world["butler"],
        json={"scheduled_for": (utcnow() + timedelta(hours=1)).isoformat()},
    )
    assert client.post(f"/api/v1/service-orders/{order['id']}/complete", headers=world["butler"]).status_code == 200
    listed = client.get(
        "/api/v1/service-orders", headers=world["butler"], query_string={"community_id": world["community_id"]}
    ).json["items"]
    assert {o["unit_label"] for o in listed if o["id"] == order["id"]} == {"1栋1-102"}

    from zoneinfo import ZoneInfo

    month = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    args = {"community_id": world["community_id"], "month": month, "format": "xlsx"}
    xlsx = client.get("/api/v1/service-orders/figures", headers=world["senior"], query_string=args)
    assert xlsx.status_code == 200 and xlsx.headers["Content-Disposition"].startswith("attachment")
    book = load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames == ["按服务项目", "按片区"]
    rows = list(book["按服务项目"].values)
    assert rows[0] == ("服务项目", "订单数", "收入")
    assert ("家政保洁", 1, 180) in rows
    assert ("一区", 1, 180) in list(book["按片区"].values)
    bad = client.get("/api/v1/service-orders/figures", headers=world["senior"], query_string={**args, "format": "csv"})
    assert bad.status_code == 422 and "format" in bad.json["errors"]
