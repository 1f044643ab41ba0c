"""Observability and operator tools on the real PostgreSQL and RabbitMQ: trace context from the HTTP request
through the outbox and the bus to the consumer, JSON log fields, /metrics (outbox backlog, consumer lag, dead
letters, counters summed over gunicorn workers), dead-letter inspect/replay/discard and outbox replay.
"""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import MetaData, update

from guanjia import bus, cli, events, inbox, metrics, ops, outbox, tracing
from guanjia.db import Database, ensure_postgres_database
from guanjia.logging import JsonFormatter
from guanjia.testing import EventRecorder, free_port_block, wait_until
from guanjia.web import create_flask_app

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def world(infra):
    """A scratch 'obstest' service: outbox/inbox tables, a Flask app whose POST /emit writes one event."""
    settings = infra.settings("obstest", retry_delays_ms=(100,))
    ensure_postgres_database(settings.database_url)
    metadata = MetaData()
    tables = {"outbox": outbox.define_outbox(metadata), "inbox": inbox.define_inbox(metadata)}
    database = Database(settings.database_url)
    metadata.create_all(database.engine)
    app, _api = create_flask_app(settings, title="obstest", database_=database)

    @app.post("/emit")
    def emit():
        with database.transaction() as session:
            event = outbox.emit(
                session, tables["outbox"], settings, type="thing.happened", subject="thing/1", data={"n": 1}
            )
        return {"id": event["id"]}

    yield settings, database, tables, app
    database.dispose()


class Consumer:
    """An EventConsumer of thing.happened running in a thread; `fail` makes the handler dead-letter."""

    def __init__(self, settings, database, tables):
        self.seen: list[tuple[str, str | None]] = []
        self.fail = False
        self.consumer = bus.EventConsumer(settings, database, tables["inbox"], {"thing.happened": self.handle})
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.consumer.run, args=(self.stop,), daemon=True)

    def handle(self, _context, _session, event):
        if self.fail:
            raise bus.Poison("refused by the test")
        logging.getLogger("obstest.handler").info("applying")
        self.seen.append((event["id"], tracing.current()))

    def __enter__(self):
        self.thread.start()
        assert self.consumer.ready.wait(10)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("obstest", "testcity"))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    root.removeHandler(handler)
    root.setLevel(old_level)


def _relay(settings, database, tables):
    return outbox.OutboxRelay(database, tables["outbox"], bus.Publisher(settings))


def test_trace_context_flows_from_the_request_through_outbox_and_bus_to_the_consumer(world, json_log):
    settings, database, tables, app = world
    with Consumer(settings, database, tables) as consumer:
        response = app.test_client().post("/emit", headers={"traceparent": INCOMING, "X-Request-ID": "req-trace-1"})
        assert response.status_code == 200
        event_id = response.get_json()["id"]
        with database.transaction() as session:
            stored = json.loads(session.execute(tables["outbox"].select()).all()[-1].payload)
        # The event continues the caller's trace from the request's own span.
        assert stored["id"] == event_id and stored["correlationid"] == "req-trace-1"
        trace_id, span_id, _ = tracing.parse(stored["traceparent"])
        assert trace_id == TRACE_ID and span_id != INCOMING.split("-")[2]

        _relay(settings, database, tables).publish_pending()
        wait_until(lambda: any(seen_id == event_id for seen_id, _ in consumer.seen), message="event consumed")
    handled_trace = next(tp for seen_id, tp in consumer.seen if seen_id == event_id)
    assert tracing.parse(handled_trace)[0] == TRACE_ID

    lines = [line for line in json_log() if line.get("logger") == "obstest.handler"]
    assert lines, "the handler's log line was not captured"
    line = lines[-1]
    assert line["event_id"] == event_id and line["request_id"] == "req-trace-1" and line["trace_id"] == TRACE_ID
    assert (line["service"], line["city"]) == ("obstest", "testcity")


def test_a_request_without_trace_context_starts_a_new_trace_and_garbage_is_ignored(world):
    settings, database, tables, app = world
    ids = []
    for header in ({}, {"traceparent": "00-zzzz-not-a-trace-01"}):
        ids.append(app.test_client().post("/emit", headers=header).get_json()["id"])
    with database.transaction() as session:
        rows = {r.id: json.loads(r.payload) for r in session.execute(tables["outbox"].select()).all()}
    traces = [tracing.parse(rows[i]["traceparent"])[0] for i in ids]
    assert len(set(traces)) == 2 and TRACE_ID not in traces
    _relay(settings, database, tables).publish_pending()


def _metric(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_show_the_outbox_backlog_and_the_age_of_the_oldest_unpublished_event(world):
    settings, database, tables, app = world
    client = app.test_client()
    with database.transaction() as session:
        for n in range(3):
            outbox.add(
                session,
                tables["outbox"],
                events.build(type="thing.happened", source="/t/o", subject=f"thing/{n}", data={}, city="t"),
            )
        session.execute(
            update(tables["outbox"])
            .where(tables["outbox"].c.published_at.is_(None))
            .values(created_at=datetime.now(UTC) - timedelta(minutes=3))
        )
    body = client.get("/metrics").get_data(as_text=True)
    assert _metric(body, "guanjia_outbox_backlog", service="obstest") == 3
    assert _metric(body, "guanjia_outbox_oldest_unpublished_seconds", service="obstest") >= 180

    _relay(settings, database, tables).publish_pending()
    body = client.get("/metrics").get_data(as_text=True)
    assert _metric(body, "guanjia_outbox_backlog", service="obstest") == 0
    assert _metric(body, "guanjia_outbox_oldest_unpublished_seconds", service="obstest") == 0
    assert _metric(body, "guanjia_events_published_total", service="obstest") >= 3


def _purge(settings, *names: str) -> None:
    from kombu import Queue

    with bus.connect(settings) as conn:
        for name in names:
            Queue(name, durable=True)(conn.channel()).purge()


def _publish(settings, n: int) -> list[str]:
    publisher = bus.Publisher(settings)
    ids = []
    try:
        for i in range(n):
            event = events.build(type="thing.happened", source="/t/o", subject=f"thing/p{i}", data={}, city="t")
            publisher.publish(event)
            ids.append(event["id"])
    finally:
        publisher.close()
    return ids


def test_dead_letters_are_counted_listed_replayed_and_discarded(world, monkeypatch, capsys, infra):
    settings, database, tables, app = world
    monkeypatch.setattr(metrics, "BROKER_STATE_CACHE_SECONDS", 0.0)
    dead_queue = settings.queue_name("events.dead")
    _purge(settings, settings.queue_name("events"), dead_queue)  # events of the tests before this one
    consumer = Consumer(settings, database, tables)
    consumer.fail = True
    with consumer:
        ids = _publish(settings, 3)
        wait_until(lambda: bus.queue_depth(settings, dead_queue) == 3, message="three dead letters")
        client = create_flask_app(settings, title="scrape", database_=database)[0].test_client()
        body = client.get("/metrics").get_data(as_text=True)
        assert _metric(body, "guanjia_dead_letters", service="obstest") == 3
        assert _metric(body, "guanjia_consumer_lag_messages", service="obstest") == 0
        dead = _metric(body, "guanjia_events_handled_total", service="obstest", outcome="dead_lettered")
        assert dead >= 3

        # The CLI reads the same settings a worker would: from the environment.
        for key, value in {
            "GUANJIA_AMQP_URL": settings.amqp_url,
            "GUANJIA_EXCHANGE": settings.exchange,
            "GUANJIA_QUEUE_PREFIX": settings.queue_prefix,
            "GUANJIA_OBSTEST_DATABASE_URL": settings.database_url,
        }.items():
            monkeypatch.setenv(key, value)
        for key, value in infra.stack_env("obscli").items():
            if key.startswith("GUANJIA_") and "KEY" in key:
                monkeypatch.setenv(key, value)

        assert cli.main(["dead-letters", "list", "obstest"]) == 0
        listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert sorted(item["event_id"] for item in listed) == sorted(ids)
        assert all("refused by the test" in item["error"] and item["event_type"] == "thing.happened" for item in listed)
        assert bus.queue_depth(settings, dead_queue) == 3, "listing must not take messages away"

        consumer.fail = False
        assert cli.main(["dead-letters", "replay", "obstest", "--id", ids[0]]) == 0
        wait_until(lambda: any(seen_id == ids[0] for seen_id, _ in consumer.seen), message="replayed event applied")
        assert bus.queue_depth(settings, dead_queue) == 2

        assert cli.main(["dead-letters", "discard", "obstest", "--id", "no-such-id"]) == 1
        assert cli.main(["dead-letters", "discard", "obstest", "--all"]) == 0
        assert bus.queue_depth(settings, dead_queue) == 0
        assert [seen_id for seen_id, _ in consumer.seen if seen_id in ids] == [ids[0]], "discarded ones never ran"
        capsys.readouterr()
        assert cli.main(["dead-letters", "replay", "obstest"]) == 2, "replay without ids or --all does nothing"


def test_outbox_replay_republishes_a_time_range_marked_as_replays_with_the_same_ids(world):
    settings, database, tables, _app = world
    recorder = EventRecorder(settings, "thing.*")
    now = datetime.now(UTC)
    inside, outside = [], []
    with database.transaction() as session:
        for n in range(4):
            event = events.build(type="thing.replayed", source="/t/o", subject=f"thing/r{n}", data={"n": n}, city="t")
            outbox.add(session, tables["outbox"], event)
            (inside if n < 3 else outside).append(event["id"])
        session.execute(
            update(tables["outbox"])
            .where(tables["outbox"].c.id.in_(inside))
            .values(created_at=now - timedelta(hours=2))
        )
    _relay(settings, database, tables).publish_pending()
    wait_until(lambda: len(recorder.of_type("thing.replayed")) == 4, message="originals published")
    assert not any(e.get("replay") for e in recorder.of_type("thing.replayed"))

    count = ops.replay_outbox(
        settings,
        database,
        tables["outbox"],
        since=now - timedelta(hours=3),
        until=now - timedelta(hours=1),
        types=["thing.*"],
    )
    assert count == 3
    wait_until(lambda: len(recorder.of_type("thing.replayed")) == 7, message="replays published")
    replays = [e for e in recorder.of_type("thing.replayed") if e.get("replay") is True]
    recorder.close()
    assert sorted(e["id"] for e in replays) == sorted(inside)
    originals = {e["id"]: e for e in recorder.events if not e.get("replay")}
    for copy in replays:
        assert {k: v for k, v in copy.items() if k != "replay"} == originals[copy["id"]]


GUNICORN_APP = """
import time

from guanjia.config import Settings
from guanjia.web import create_flask_app

app, _api = create_flask_app(Settings(service="mp", database_url="sqlite://"), title="mp")


@app.get("/slow")
def slow():
    time.sleep(0.2)  # keeps a sync worker busy, so concurrent requests must go to the others
    return "ok"
"""


def test_http_counters_add_up_across_gunicorn_workers(tmp_path):
    (tmp_path / "mpapp.py").write_text(textwrap.dedent(GUNICORN_APP))
    port = free_port_block(1)
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_99999.db").write_bytes(b"stale file of an earlier run")
    env = {"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "PYTHONPATH": str(tmp_path)}
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "python:guanjia.gunicorn_hooks", "mpapp:app"]
    proc = subprocess.Popen(
        [*gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "3", "--worker-class", "sync"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(base), timeout=30, message="gunicorn up")
        with ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(lambda _: requests.get(base + "/slow", timeout=10).status_code, range(30)))
        assert codes == [200] * 30
        pids = {p.name.split("_")[-1] for p in metrics_dir.glob("counter_*.db")}
        assert len(pids) >= 2, f"the requests all went to one worker ({pids}); the test proves nothing"
        for _ in range(5):  # whichever worker answers the scrape reports the same total
            body = requests.get(base + "/metrics", headers={"Connection": "close"}, timeout=5).text
            total = _metric(body, "guanjia_http_requests_total", service="mp", route="/slow", status="200")
            assert total == 30
    finally:
        proc.terminate()
        proc.wait(20)


def _up(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        time.sleep(0.1)
        return False


def test_json_log_lines_mask_phone_numbers_and_id_cards():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "call 13812345678 about 110101199003074514", (), None)
    line = JsonFormatter("residents", "shanghai").format(record)
    assert "13812345678" not in line and "110101199003074514" not in line
    assert re.search(r"138\*{4}5678", line)
    assert json.loads(line)["service"] == "residents" and json.loads(line)["city"] == "shanghai"


def test_a_worker_serves_its_metrics_and_the_service_state_on_its_own_port(world):
    settings, database, _tables, _app = world
    port = free_port_block(1)
    server, thread = metrics.serve(port, settings, database, addr="127.0.0.1")
    try:
        body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.shutdown()
        thread.join(5)
    assert _metric(body, "guanjia_outbox_backlog", service="obstest") is not None
    assert _metric(body, "guanjia_events_published_total", service="obstest") >= 1


OTEL_SCRIPT = """
from guanjia.config import Settings
from guanjia.web import create_flask_app

app, _api = create_flask_app(Settings(service="otel", database_url="sqlite://"), title="otel")
app.test_client().get("/healthz", headers={"traceparent": "%s"})
"""


@pytest.mark.parametrize("exporter", ["console", ""])
def test_opentelemetry_spans_are_recorded_only_when_configured(exporter):
    env = {"PATH": "/usr/bin:/bin", "GUANJIA_OTEL_EXPORTER": exporter, "GUANJIA_SERVICE_NAME": "otel"}
    result = subprocess.run(
        [sys.executable, "-c", OTEL_SCRIPT % INCOMING], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    if exporter:
        span = json.loads(result.stdout[result.stdout.index("{") :])
        assert span["context"]["trace_id"] == f"0x{TRACE_ID}" and span["parent_id"] == "0x00f067aa0ba902b7"
        assert span["name"] == "GET /healthz" and span["kind"] == "SpanKind.SERVER"
    else:
        assert result.stdout == ""
