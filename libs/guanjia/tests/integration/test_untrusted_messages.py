"""Every value read from a message is untrusted: arbitrary headers, properties and bodies, published to every
consuming service's queue on the real broker, end up handled or dead-lettered with a reason — never a stuck
consumer (issue 14.1: one non-numeric x-guanjia-attempt once stopped the notifications pipeline for good)."""

import json
import time
import uuid
from datetime import datetime

import pika
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from guanjia import bus, events
from guanjia.service import load_specs
from guanjia.testing import running_worker, wait_until

CONSUMING = [name for name, spec in load_specs().items() if spec.handlers]
FUZZ_ID = "x-fuzz-id"

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.decimals(min_value=-(10**6), max_value=10**6, places=2)  # pika encodes no floats in headers
    | st.text(max_size=30)
    | st.binary(max_size=16)
    | st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1))
)
header_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
header_keys = st.sampled_from(
    [bus.ATTEMPT_HEADER, bus.ERROR_HEADER, "ce-specversion", "ce-id", "ce-type", "ce-source", "ce-subject"]
) | st.text(min_size=1, max_size=12)
headers = st.dictionaries(header_keys, header_values, max_size=5)
short_text = st.text(max_size=30)
content_types = st.none() | st.sampled_from([events.CONTENT_TYPE, "application/json", "text/plain"]) | short_text
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def messages(draw, event_types):
    """(body, properties, envelope id or None): raw bytes, any JSON, or a real envelope with any data."""
    kind = draw(st.sampled_from(["bytes", "json", "envelope"]))
    envelope_id = None
    if kind == "bytes":
        body = draw(st.binary(max_size=200))
    elif kind == "json":
        body = json.dumps(draw(json_values)).encode()
    else:
        event = events.build(
            type=draw(st.sampled_from(event_types)),
            source="/testcity/fuzz",
            subject="fuzz/1",
            data=draw(st.dictionaries(st.text(max_size=10), json_values, max_size=4)),
            city="testcity",
        )
        envelope_id = event["id"]
        body = json.dumps(event).encode()
    fuzz_id = str(uuid.uuid4())
    properties = pika.BasicProperties(
        content_type=draw(content_types),
        content_encoding=draw(st.none() | short_text),
        type=draw(st.none() | short_text),
        message_id=draw(st.none() | short_text),
        timestamp=draw(st.none() | st.integers(0, 4_000_000_000)),
        headers={**draw(headers), FUZZ_ID: fuzz_id},
    )
    return body, properties, envelope_id, fuzz_id


@pytest.fixture(scope="module", params=CONSUMING)
def consumer(request, infra):
    service = request.param
    cfg = infra.settings(service, database=f"{service}_fuzz", retry_delays_ms=(50, 100))
    with running_worker(service, cfg) as worker:
        yield service, cfg, worker


def _dead_fuzz_ids(channel, queue: str) -> set[str]:
    found = set()
    while True:
        method, properties, _ = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return found
        found.add(str((properties.headers or {}).get(FUZZ_ID)))
        assert (properties.headers or {}).get(bus.ERROR_HEADER), "a dead letter says why"


def _applied(worker, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    table = worker.spec.inbox
    with worker.database.transaction() as session:
        return set(session.execute(select(table.c.event_id).where(table.c.event_id.in_(ids))).scalars())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_arbitrary_headers_and_bodies_are_handled_or_dead_lettered_and_the_consumer_goes_on(consumer, data):
    service, cfg, worker = consumer
    connection = pika.BlockingConnection(pika.URLParameters(cfg.amqp_url))
    channel = connection.channel()
    batch = data.draw(st.lists(messages(sorted(worker.spec.handlers)), min_size=1, max_size=6))
    for body, properties, _, _ in batch:
        routing_key = data.draw(st.sampled_from(sorted(worker.spec.handlers)))
        channel.basic_publish(cfg.exchange, routing_key, body, properties)
    expected = {fuzz_id for *_, fuzz_id in batch}
    envelopes = {envelope_id: fuzz_id for _, _, envelope_id, fuzz_id in batch if envelope_id}
    accounted: set[str] = set()

    def all_accounted():
        accounted.update(_dead_fuzz_ids(channel, cfg.queue_name("events.dead")))
        accounted.update(envelopes[i] for i in _applied(worker, set(envelopes)))
        return expected <= accounted

    try:
        wait_until(all_accounted, timeout=30, message=f"{service}: {expected - accounted} not handled or dead-lettered")
    finally:
        connection.close()
    assert worker.consumer.ready.is_set(), f"{service} consumer stopped consuming"


class _FarFuture(datetime):
    """Encoded by pika as an AMQP `T` header some 27,000 years after 9999 (a publisher may send any 64-bit value)."""

    def utctimetuple(self):
        return time.struct_time((9999, 12, 10**7, 0, 0, 0, 0, 1, 0))


def test_a_timestamp_past_the_year_9999_does_not_wedge_the_consumer(consumer):
    """py-amqp cannot decode such a timestamp by itself (the frame never decodes, the consumer loops): it reads as
    the latest datetime, the message is handled or dead-lettered, and the next one still flows."""
    service, cfg, worker = consumer
    event_type = sorted(worker.spec.handlers)[0]
    connection = pika.BlockingConnection(pika.URLParameters(cfg.amqp_url))
    channel = connection.channel()
    fuzz_id = str(uuid.uuid4())
    event = events.build(type=event_type, source="/testcity/fuzz", subject="fuzz/1", data={}, city="testcity")
    headers = {FUZZ_ID: fuzz_id, "x-sent": _FarFuture(2020, 1, 1)}
    properties = pika.BasicProperties(content_type=events.CONTENT_TYPE, timestamp=2**63 - 1, headers=headers)
    channel.basic_publish(cfg.exchange, event_type, json.dumps(event).encode(), properties)
    follower_id = str(uuid.uuid4())
    follower = pika.BasicProperties(content_type="text/plain", headers={FUZZ_ID: follower_id})
    channel.basic_publish(cfg.exchange, event_type, b"not an event", follower)
    accounted: set[str] = set()

    def both_accounted():
        accounted.update(_dead_fuzz_ids(channel, cfg.queue_name("events.dead")))
        if _applied(worker, {event["id"]}):
            accounted.add(fuzz_id)
        return {fuzz_id, follower_id} <= accounted

    try:
        wait_until(both_accounted, timeout=30, message=f"{service}: { ({fuzz_id, follower_id} - accounted) } stuck")
    finally:
        connection.close()
    assert worker.consumer.ready.is_set(), f"{service} consumer stopped consuming"
