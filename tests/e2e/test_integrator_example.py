"""examples/integrator/consumer.py against the real broker, with the integrator credential of
deploy/rabbitmq/definitions.json: it receives the events it bound, skips duplicates, sees replays marked as such,
and the credential can neither publish to guanjia.events nor read a service's queue.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pika
import pika.exceptions
import pytest

from guanjia.testing import wait_until

from .conftest import ADMIN_PASSWORD, Client, make_household

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "integrator" / "consumer.py"


def _consumer(broker_city, queue: str, seen_db: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLE),
            "--url",
            broker_city.url("integrator"),
            "--queue",
            queue,
            "--bind",
            "ticket.created",
        ]
        + ["--seen-db", str(seen_db), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lines(proc: subprocess.Popen, timeout: float = 60) -> list[dict]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _queue_exists(broker_city, queue: str) -> bool:
    conn = pika.BlockingConnection(pika.URLParameters(broker_city.admin_url))
    try:
        conn.channel().queue_declare(queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        if conn.is_open:
            conn.close()


def _replay(stack, since: datetime, until: datetime, queue: str) -> str:
    guanjia = Path(sys.executable).parent / "guanjia"
    result = subprocess.run(
        [str(guanjia), "outbox", "replay", "tickets", "--since", since.isoformat(), "--until", until.isoformat()]
        + ["--type", "ticket.created", "--queue", queue],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_example_consumer_receives_dedupes_and_sees_replays(scaled_stack, broker_city, tmp_path):
    stack = scaled_stack
    queue = f"integrator.e2e-{uuid.uuid4().hex[:6]}"
    seen_db = tmp_path / "seen.sqlite3"
    consumer = _consumer(broker_city, queue, seen_db, "--max-events", "2", "--idle-timeout", "60")
    wait_until(lambda: _queue_exists(broker_city, queue), timeout=30, message="the integrator's queue")
    since = datetime.now(UTC)

    admin = Client(stack.url).login("admin", ADMIN_PASSWORD)
    household = make_household(admin)
    resident = Client(stack.url).login(*household["login"])
    tickets = [
        resident.created(
            "/api/v1/tickets", {"unit_id": household["unit"]["id"], "category": "repair", "description": d}
        )
        for d in ("门锁坏了", "灯不亮")
    ]
    lines = _lines(consumer)
    assert sorted(line["data"]["ticket_id"] for line in lines) == sorted(t["id"] for t in tickets)
    assert all(line["type"] == "ticket.created" and line["replay"] is False for line in lines)
    dumped = json.dumps(lines, ensure_ascii=False)
    assert "13800138000" not in dumped and "张三" not in dumped, "no personal data on the bus"

    # An operator replays the time range to this integrator's queue only: same ids, marked replay=true.
    until = datetime.now(UTC) + timedelta(seconds=5)
    assert "republished" in _replay(stack, since, until, queue)
    ours = {t["id"] for t in tickets}
    again = _lines(_consumer(broker_city, queue, seen_db, "--idle-timeout", "3"))
    assert [line for line in again if line["data"]["ticket_id"] in ours] == [], "a replay of handled ids is skipped"

    _replay(stack, since, until, queue)
    fresh = _lines(_consumer(broker_city, queue, tmp_path / "fresh.sqlite3", "--idle-timeout", "3"))
    replayed = [line for line in fresh if line["data"]["ticket_id"] in ours]
    assert sorted(line["id"] for line in replayed) == sorted(line["id"] for line in lines)
    assert all(line["replay"] is True for line in replayed)


@pytest.mark.parametrize(
    "attempt",
    ["publish to guanjia.events", "read a service's queue", "declare a queue outside integrator.*"],
)
def test_the_integrator_credential_cannot_publish_or_read_service_queues(scaled_stack, broker_city, attempt):
    conn = pika.BlockingConnection(pika.URLParameters(broker_city.url("integrator")))
    channel = conn.channel()
    channel.confirm_delivery()
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            if attempt == "publish to guanjia.events":
                channel.basic_publish("guanjia.events", "ticket.created", b"{}")
            elif attempt == "read a service's queue":
                channel.basic_get("notifications.events")
            else:
                channel.queue_declare("tickets.sneaky", durable=True)
        assert refused.value.reply_code == 403  # ACCESS_REFUSED
    finally:
        if conn.is_open:
            conn.close()
