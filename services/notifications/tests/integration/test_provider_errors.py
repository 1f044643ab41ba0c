"""What an SMS gateway's refusal or outage does to a delivery (fake gateways: they are the outside world)."""

import pytest

from guanjia.bus import EventConsumer, RetryLater
from guanjia.db import Database
from guanjia.http import ServiceClient
from guanjia.testing import auth_header
from notifications.consumers import HANDLERS, Context
from notifications.models import inbox
from notifications.sms import SmsRejected


class RefusingSms:
    name = "refusing"

    def send(self, phone, text):
        raise SmsRejected(f"number {phone} is on the carrier's block list")


class DownSms:
    name = "down"

    def send(self, phone, text):
        raise ConnectionError(f"gateway timeout while sending to {phone}")


@pytest.fixture
def consumer_with(notifications_settings, residents_upstream):
    database = Database(notifications_settings.database_url)

    def build(sms):
        residents = ServiceClient(notifications_settings, {"residents": residents_upstream}, "residents")
        context = Context(settings=notifications_settings, residents=residents, sms=sms)
        return EventConsumer(notifications_settings, database, inbox, HANDLERS, context)

    yield build
    database.dispose()


def test_a_refused_message_is_logged_as_failed_without_the_number(
    consumer_with, client, notifications_settings, resident, ticket_created
):
    event = ticket_created(resident["resident_id"], resident["community_id"])
    assert consumer_with(RefusingSms()).handle(event) == "applied"

    admin = auth_header(notifications_settings, "admin")
    [delivery] = client.get("/api/v1/notifications", headers=admin, query_string={"event_id": event["id"]}).json[
        "items"
    ]
    assert delivery["status"] == "failed" and delivery["sent_at"] is None
    assert "block list" in delivery["reason"] and resident["phone"][3:] not in delivery["reason"]


def test_a_gateway_outage_is_retried_and_leaves_nothing_behind(
    consumer_with, client, notifications_settings, resident, ticket_created
):
    event = ticket_created(resident["resident_id"], resident["community_id"])
    with pytest.raises(RetryLater) as error:
        consumer_with(DownSms()).handle(event)
    # The reason travels in a message header and the logs: the number must be masked there.
    assert resident["phone"][3:] not in str(error.value)

    admin = auth_header(notifications_settings, "admin")
    listed = client.get("/api/v1/notifications", headers=admin, query_string={"event_id": event["id"]}).json
    assert listed["items"] == []  # rolled back with the inbox row: the retry starts afresh
