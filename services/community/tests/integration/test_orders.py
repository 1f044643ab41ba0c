"""The service catalogue and its orders: an item of another community is refused, a quoted order is priced when
scheduled, completing a priced order writes service_order.completed with the item's name, a resident sees only
their household's orders, and the promotion figures count by item and zone."""

import uuid

from guanjia.db import utcnow


def _item(client, world, **fields):
    body = {"community_id": world["community_id"], "name": "家政保洁（2小时）", "pricing": "fixed", "price": "120.00"}
    body = {k: v for k, v in {"provider": "partner", **body, **fields}.items() if v is not None}
    response = client.post("/api/v1/catalogue", headers=world["senior"], json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_a_priced_order_from_request_to_completion(client, world, outbox_events):
    item = _item(client, world)
    mine = world["units"]["1栋1-101"]
    order = client.post(
        "/api/v1/service-orders", headers=world["resident"], json={"unit_id": mine, "item_id": item["id"]}
    )
    assert order.status_code == 201, order.json
    assert order.json["amount"] == "120.00" and order.json["status"] == "requested"
    oid = order.json["id"]
    # The resident cannot schedule or complete it; the butler of the home's zone does.
    assert client.post(f"/api/v1/service-orders/{oid}/complete", headers=world["resident"]).status_code == 403
    early = client.post(f"/api/v1/service-orders/{oid}/complete", headers=world["butler"])
    assert early.status_code == 409
    scheduled = client.post(
        f"/api/v1/service-orders/{oid}/schedule",
        headers=world["butler"],
        json={"scheduled_for": "2026-12-05T14:00:00+08:00"},
    )
    assert scheduled.status_code == 200, scheduled.json
    done = client.post(f"/api/v1/service-orders/{oid}/complete", headers=world["butler"])
    assert done.status_code == 200 and done.json["status"] == "completed"
    (event,) = outbox_events(f"service_order/{oid}", "service_order.completed")
    assert event["data"]["item_name"] == "家政保洁（2小时）" and event["data"]["amount"] == "120.00"
    assert event["data"]["unit_id"] == mine
    rated = client.post(f"/api/v1/service-orders/{oid}/rate", headers=world["resident"], json={"rating": 5})
    assert rated.status_code == 200 and rated.json["rating"] == 5
    month = utcnow().astimezone().strftime("%Y-%m")
    figures = client.get(
        "/api/v1/service-orders/figures",
        headers=world["senior"],
        query_string={"community_id": world["community_id"], "month": month},
    ).json
    assert figures["by_item"] == [{"item_name": "家政保洁（2小时）", "orders": 1, "revenue": "120.00"}]
    assert [z["zone_name"] for z in figures["by_zone"]] == ["一区"]


def test_a_quoted_order_is_priced_when_scheduled(client, world):
    item = _item(client, world, name="搬家服务", pricing="quoted", price=None)
    order = client.post(
        "/api/v1/service-orders",
        headers=world["butler"],
        json={"unit_id": world["units"]["1栋1-102"], "item_id": item["id"], "note": "周六上午"},
    )
    assert order.status_code == 201 and order.json["amount"] is None
    oid = order.json["id"]
    assert client.post(f"/api/v1/service-orders/{oid}/complete", headers=world["butler"]).status_code in (409, 422)
    priced = client.post(
        f"/api/v1/service-orders/{oid}/schedule",
        headers=world["butler"],
        json={"scheduled_for": "2026-12-06T09:00:00+08:00", "price": "680.50"},
    )
    assert priced.status_code == 200 and priced.json["amount"] == "680.50"


def test_orders_stay_in_scope_and_bad_orders_write_nothing(client, world, community_app):
    item = _item(client, world)
    other_community = client.post(
        "/api/v1/catalogue",
        headers=world["outsider"],
        json={
            "community_id": world["outsider_community_id"],
            "name": "代买代办",
            "pricing": "fixed",
            "price": "10.00",
            "provider": "own_staff",
        },
    )
    assert other_community.status_code == 201, other_community.json
    mine = world["units"]["1栋1-101"]
    foreign = client.post(
        "/api/v1/service-orders",
        headers=world["resident"],
        json={"unit_id": mine, "item_id": other_community.json["id"]},
    )
    assert foreign.status_code == 422 and "item_id" in foreign.json["errors"]
    neighbour = client.post(
        "/api/v1/service-orders",
        headers=world["resident"],
        json={"unit_id": world["units"]["1栋1-102"], "item_id": item["id"]},
    )
    assert neighbour.status_code == 404
    no_price = client.post(
        "/api/v1/catalogue",
        headers=world["senior"],
        json={"community_id": world["community_id"], "name": "x", "pricing": "fixed", "provider": "own_staff"},
    )
    assert no_price.status_code == 422 and "price" in no_price.json["errors"]
    listed = client.get(
        "/api/v1/service-orders", headers=world["resident"], query_string={"community_id": world["community_id"]}
    )
    assert listed.status_code == 200 and listed.json["total"] == 0
    assert client.get(f"/api/v1/catalogue/{item['id']}", headers=world["outsider"]).status_code == 404
    assert client.get(f"/api/v1/service-orders/{uuid.uuid4()}", headers=world["butler"]).status_code == 404
