"""Two consumer replicas handling the same event at once send one SMS (the unique delivery row serialises them)."""

import threading

import pytest
from sqlalchemy import text

from guanjia.bus import EventConsumer
from guanjia.db import Database
from guanjia.http import ServiceClient
from notifications.consumers import HANDLERS, Context
from notifications.models import inbox


class GatedSms:
    """A fake SMS gateway (the outside world) whose first send waits until another transaction is blocked."""

    name = "gated"

    def __init__(self, database: Database):
        self.database = database
        self.sent = []
        self.saw_waiter = False

    def _someone_waits_on_a_lock(self) -> bool:
        with self.database.engine.connect() as conn:
            return (
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                ).scalar()
                > 0
            )

    def send(self, phone, text_):
        if not self.sent:
            for _ in range(200):  # up to 10 s: the other replica must be stuck behind our uncommitted row
                if self._someone_waits_on_a_lock():
                    self.saw_waiter = True
                    break
                threading.Event().wait(0.05)
        self.sent.append(phone)
        return f"gated-{len(self.sent)}"


@pytest.fixture
def database(notifications_settings):
    db = Database(notifications_settings.database_url)
    yield db
    db.dispose()


def test_two_replicas_same_event_one_sms(
    notifications_settings, residents_upstream, database, resident, ticket_created
):
    sms = GatedSms(database)
    context = Context(
        settings=notifications_settings,
        sms=sms,
        residents=ServiceClient(notifications_settings, {"residents": residents_upstream}, "residents"),
    )
    replicas = [EventConsumer(notifications_settings, database, inbox, HANDLERS, context) for _ in range(2)]
    event = ticket_created(resident["resident_id"], resident["community_id"])
    outcomes = []

    def run(consumer):
        outcomes.append(consumer.handle(event))

    first = threading.Thread(target=run, args=(replicas[0],))
    first.start()
    # The second replica starts once the first holds its transaction open and its send is waiting.
    for _ in range(1000):
        if database.engine.pool.checkedout() >= 2:
            break
        threading.Event().wait(0.01)
    second = threading.Thread(target=run, args=(replicas[1],))
    second.start()
    first.join(20)
    second.join(20)

    assert sms.saw_waiter, "the second replica never waited on the first one's delivery row"
    assert len(sms.sent) == 1
    assert sorted(outcomes) == ["applied", "duplicate"]
