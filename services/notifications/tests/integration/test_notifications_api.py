"""The delivery log API on real PostgreSQL: scope per role, filters, newest first, problem+json."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from guanjia.db import Database
from guanjia.testing import auth_header
from notifications.models import Delivery

FIELDS = {
    "id",
    "event_type",
    "event_id",
    "subject",
    "community_id",
    "recipient",
    "recipient_id",
    "channel",
    "locale",
    "text",
    "status",
    "reason",
    "created_at",
    "sent_at",
    "kind",
    "notice_id",
    "recipient_kind",
    "template",
    "error_code",
    "urgent",
    "essential",
    "provider",
    "attempts",
    "duplicate_risk",
    "segments",
    "resent_count",
    "next_attempt_at",
    "delivered_at",
    "failed_at",
}


@pytest.fixture(scope="module")
def db(notifications_settings):
    database = Database(notifications_settings.database_url)
    yield database
    database.dispose()


@pytest.fixture
def seed(db):
    """Insert deliveries as the consumer writes them (each test its own ids)."""

    def add(community_id, recipient_id, *, status="sent", subject=None, minutes_ago=0):
        created = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        row = Delivery(
            id=str(uuid.uuid4()),
            event_id=str(uuid.uuid4()),
            event_type="ticket.created",
            subject=subject or f"ticket/{uuid.uuid4()}",
            community_id=community_id,
            recipient_id=recipient_id,
            recipient_masked="138****8000",
            channel="sms",
            locale="zh-CN",
            text="【管家物业】您的报修已受理",
            status=status,
            provider="console",
            provider_message_id=f"console-{uuid.uuid4()}",
            created_at=created,
            sent_at=created if status == "sent" else None,
        )
        with db.transaction() as s:
            s.add(row)
        return row.id

    return add


def ids(response):
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def test_admin_sees_every_community_with_the_documented_fields(client, notifications_settings, seed):
    a, b = seed(str(uuid.uuid4()), "res-a"), seed(str(uuid.uuid4()), "res-b")
    admin = auth_header(notifications_settings, "admin")
    response = client.get("/api/v1/notifications", headers=admin, query_string={"page_size": 100})
    assert {a, b} <= set(ids(response))
    one = client.get(f"/api/v1/notifications/{a}", headers=admin).json
    assert set(one) == FIELDS
    assert one["recipient"] == "138****8000" and one["recipient_id"] == "res-a" and one["status"] == "sent"


def test_staff_see_only_their_communities(client, notifications_settings, seed):
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    own, foreign = seed(mine, "res-1"), seed(theirs, "res-2")
    manager = auth_header(notifications_settings, "cs_manager", communities=[mine])
    assert ids(client.get("/api/v1/notifications", headers=manager)) == [own]
    assert client.get(f"/api/v1/notifications/{own}", headers=manager).status_code == 200
    response = client.get(f"/api/v1/notifications/{foreign}", headers=manager)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_a_zone_scoped_butler_sees_only_what_was_sent_to_them(client, notifications_settings, seed):
    community, butler_id = str(uuid.uuid4()), f"butler-{uuid.uuid4().hex[:6]}"
    residents, to_butler = seed(community, "res-9"), seed(community, butler_id)
    butler = auth_header(notifications_settings, "butler", communities=[community], zones=["z1"], subject=butler_id)
    assert ids(client.get("/api/v1/notifications", headers=butler)) == [to_butler]
    assert client.get(f"/api/v1/notifications/{residents}", headers=butler).status_code == 404


def test_a_resident_sees_only_what_was_sent_to_them(client, notifications_settings, seed):
    community, me, neighbour = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    mine, theirs = seed(community, me), seed(community, neighbour)
    resident = auth_header(notifications_settings, "resident", resident_id=me, units=[str(uuid.uuid4())])
    assert ids(client.get("/api/v1/notifications", headers=resident)) == [mine]
    assert client.get(f"/api/v1/notifications/{mine}", headers=resident).status_code == 200
    assert client.get(f"/api/v1/notifications/{theirs}", headers=resident).status_code == 404
    # Asking for someone else's deliveries by filter gives nothing, not their data.
    assert ids(client.get("/api/v1/notifications", headers=resident, query_string={"recipient_id": neighbour})) == []


def test_filters_and_newest_first_pagination(client, notifications_settings, seed):
    community = str(uuid.uuid4())
    subject = f"ticket/{uuid.uuid4()}"
    oldest = seed(community, "r1", subject=subject, minutes_ago=3)
    middle = seed(community, "r2", subject=subject, minutes_ago=2, status="skipped")
    newest = seed(community, "r3", subject=subject, minutes_ago=1)
    staff = auth_header(notifications_settings, "cs_manager", communities=[community])

    first = client.get("/api/v1/notifications", headers=staff, query_string={"subject": subject, "page_size": 2})
    assert ids(first) == [newest, middle] and first.json["total"] == 3 and first.json["page"] == 1
    second = client.get(
        "/api/v1/notifications", headers=staff, query_string={"subject": subject, "page_size": 2, "page": 2}
    )
    assert ids(second) == [oldest]
    assert ids(
        client.get("/api/v1/notifications", headers=staff, query_string={"subject": subject, "status": "skipped"})
    ) == [middle]
    assert ids(
        client.get("/api/v1/notifications", headers=staff, query_string={"subject": subject, "recipient_id": "r1"})
    ) == [oldest]
    event_id = client.get(f"/api/v1/notifications/{newest}", headers=staff).json["event_id"]
    assert ids(
        client.get(
            "/api/v1/notifications", headers=staff, query_string={"event_id": event_id, "event_type": "ticket.created"}
        )
    ) == [newest]


def test_unknown_status_filter_is_problem_json_naming_the_field(client, notifications_settings):
    response = client.get(
        "/api/v1/notifications",
        headers=auth_header(notifications_settings, "admin"),
        query_string={"status": "delivered-by-owl"},
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "status" in response.json["errors"]


def test_without_a_token_is_401_problem_json(client):
    response = client.get("/api/v1/notifications")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
