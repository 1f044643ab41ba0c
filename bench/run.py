"""Benchmark the distributed stack on PostgreSQL + RabbitMQ: create-ticket throughput and event latency.

Usage: .venv/bin/python bench/run.py [--duration 10] [--web-workers 2] [--rates 50] [--latency-only]
Needs `wrk` (apt-get install wrk). Prints a Markdown table and writes bench/results/<timestamp>.json.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from guanjia.stack import STACK_SERVICES, DistributedStack, admin_token
from guanjia.testing import TEST_RATE_LIMITS_ENV, free_port_block

HERE = Path(__file__).resolve().parent
PG = os.environ.get("GUANJIA_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
AMQP = os.environ.get("GUANJIA_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")

LUA = """
wrk.method = "{method}"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def wrk(url: str, concurrency: int, duration: int, script: str) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    threads = min(concurrency, 2)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{duration}s", "--latency", "-s", handle.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(handle.name)

    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def setup_household(stack) -> dict:
    token = admin_token(stack.settings["gateway"])
    headers = {"Authorization": f"Bearer {token}"}

    def post(path, body):
        response = requests.post(stack.url + path, json=body, headers=headers, timeout=10)
        response.raise_for_status()
        return response.json()

    community = post("/api/v1/communities", {"name": "压测小区"})
    building = post("/api/v1/buildings", {"community_id": community["id"], "name": "1栋"})
    unit = post("/api/v1/units", {"building_id": building["id"], "number": "1-101", "floor": 1, "area_m2": "90.00"})
    resident = post(
        "/api/v1/residents", {"unit_id": unit["id"], "name": "李四", "phone": "13900139000", "role": "owner"}
    )
    return {"token": token, "unit_id": unit["id"], "resident_id": resident["id"], "community_id": community["id"]}


def sms_times(notes_db, ticket_ids: list) -> dict:
    """ "ticket/<id>" → (delivery row planned, sent) of the tickets' SMS sent so far."""
    with notes_db.connect() as conn:
        rows = conn.execute(
            text("SELECT subject, created_at, sent_at FROM deliveries WHERE subject = ANY(:s) AND status = 'sent'"),
            {"s": [f"ticket/{i}" for i in ticket_ids]},
        ).all()
    return {subject: (planned, sent) for subject, planned, sent in rows}


def event_latency(stack, household: dict, rate: int, seconds: int) -> dict:
    """Open loop at `rate` tickets/s; latency = SMS delivery row sent_at − ticket row created_at (`p50_ms`: the
    time is taken as the request starts, so the rest of the request is in it), and − the moment the client had
    its 201 (`after_201_p50_ms`: after the commit, so commit → SMS less the answer's way back)."""
    session = requests.Session()
    body = {
        "unit_id": household["unit_id"],
        "category": "repair",
        "description": "latency probe",
        "reporter_id": household["resident_id"],
    }
    headers = {"Authorization": f"Bearer {household['token']}"}
    ids, failures, answered = [], 0, {}
    lock = threading.Lock()

    def one():
        nonlocal failures
        try:
            response = session.post(
                stack.service_url("tickets") + "/api/v1/tickets", json=body, headers=headers, timeout=10
            )
        except requests.RequestException:  # a timeout on an overloaded machine: counted, not a traceback
            with lock:
                failures += 1
            return
        at = datetime.now(UTC)
        with lock:
            if response.status_code == 201:
                ids.append(response.json()["id"])
                answered[ids[-1]] = at
            else:
                failures += 1

    start = time.perf_counter()
    threads = []
    for i in range(rate * seconds):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=one)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    tickets_db = create_engine(stack.settings["tickets"].database_url)
    notes_db = create_engine(stack.settings["notifications"].database_url)
    deadline = time.monotonic() + 60
    while True:
        sent = {subject: times[1] for subject, times in sms_times(notes_db, ids).items()}
        if len(sent) == len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    with tickets_db.connect() as conn:
        created = dict(conn.execute(text("SELECT id, created_at FROM tickets WHERE id = ANY(:i)"), {"i": ids}).all())
    latencies = sorted((sent[f"ticket/{i}"] - created[i]).total_seconds() * 1000 for i in ids if f"ticket/{i}" in sent)
    after_201 = sorted((sent[f"ticket/{i}"] - answered[i]).total_seconds() * 1000 for i in ids if f"ticket/{i}" in sent)
    tickets_db.dispose()
    notes_db.dispose()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    a = statistics.quantiles(after_201, n=100) if len(after_201) > 1 else [float("nan")] * 99
    return {
        "rate": rate,
        "tickets": len(ids),
        "failed_requests": failures,
        "sms": len(latencies),
        "p50_ms": q[49],
        "p99_ms": q[98],
        "after_201_p50_ms": a[49],
        "after_201_p99_ms": a[98],
    }


def wait_drained(stack, timeout: float = 300) -> float:
    """Wait until every ticket has its SMS delivery row (the pipeline behind the requests is idle)."""
    started = time.monotonic()
    tickets_db = create_engine(stack.settings["tickets"].database_url)
    notes_db = create_engine(stack.settings["notifications"].database_url)
    try:
        while time.monotonic() - started < timeout:
            with tickets_db.connect() as conn:
                tickets = conn.execute(text("SELECT count(*) FROM tickets")).scalar_one()
            with notes_db.connect() as conn:
                done = conn.execute(
                    text("SELECT count(*) FROM deliveries WHERE event_type = 'ticket.created'")
                ).scalar_one()
            if done >= tickets:
                break
            time.sleep(0.5)
    finally:
        tickets_db.dispose()
        notes_db.dispose()
    return time.monotonic() - started


def bench_env(prefix: str, extra: dict | None = None) -> dict:
    """The stack's environment: databases and broker objects named after `prefix` (dropped by teardown), the abuse
    limits lifted, plus `extra` (e.g. an SMS provider)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUANJIA_")}
    env.update(
        {
            "GUANJIA_DATABASE_URL": f"{PG}/guanjia_{prefix}_{{service}}",
            "GUANJIA_AMQP_URL": AMQP,
            "GUANJIA_EXCHANGE": f"{prefix}.guanjia.events",
            "GUANJIA_QUEUE_PREFIX": f"{prefix}.",
            "GUANJIA_CITY": "bench",
            "GUANJIA_LOG_LEVEL": "WARNING",
            # One bench user files thousands of tickets a minute for one resident: lift the per-principal API
            # rate limit and the per-recipient SMS caps (both exist to stop abuse, not to shape a benchmark).
            "GUANJIA_RATE_LIMITS": TEST_RATE_LIMITS_ENV,
            "GUANJIA_SMS_RECIPIENT_PER_MINUTE": "10000000",
            "GUANJIA_SMS_RECIPIENT_PER_DAY": "10000000",
            "GUANJIA_SMS_COMMUNITY_DAILY_BUDGET": "10000000",
            "GUANJIA_VAR_DIR": tempfile.mkdtemp(prefix="guanjia-bench-"),
            **(extra or {}),
        }
    )
    return env


def start_stack(env: dict, web_workers: int) -> DistributedStack:
    return DistributedStack(
        env=env,
        port=free_port_block(len(STACK_SERVICES)),
        web_workers=web_workers,
        log_dir=Path(env["GUANJIA_VAR_DIR"]) / "logs",
    ).start()


def teardown(stack: DistributedStack, prefix: str) -> None:
    """Stop the stack, drop its databases and delete its exchange and queues."""
    stack.stop()
    from guanjia.db import drop_postgres_database
    from guanjia.testing import _delete_broker_objects

    for service in stack.specs:
        drop_postgres_database(stack.settings[service].database_url)
    _delete_broker_objects(AMQP, prefix)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--latency-only", action="store_true", help="only commit → SMS (no wrk runs)")
    parser.add_argument("--rates", default="50", help="open-loop rates (tickets/s) for commit → SMS, e.g. 5,50")
    parser.add_argument("--latency-seconds", type=int, default=20)
    args = parser.parse_args()
    if not args.latency_only and not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    stack = start_stack(bench_env(prefix), args.web_workers)
    results = {
        "machine": machine(),
        "when": datetime.now(UTC).isoformat(),
        "web_workers": args.web_workers,
        "duration_s": args.duration,
        "throughput": [],
        "latency": None,
    }
    try:
        household = setup_household(stack)
        # Latency first, on an idle system: the throughput runs leave a backlog of SMS to send behind them.
        results["latency"] = []
        for rate in [int(r) for r in args.rates.split(",")]:
            wait_drained(stack)
            load = os.getloadavg()[0]
            figures = {**event_latency(stack, household, rate=rate, seconds=args.latency_seconds), "load_1m": load}
            results["latency"].append(figures)
            print("commit → SMS logged:", figures, flush=True)
        body = json.dumps(
            {
                "unit_id": household["unit_id"],
                "category": "repair",
                "description": "bench",
                "reporter_id": household["resident_id"],
            }
        )
        post = LUA.format(method="POST", body=json.dumps(body), token=household["token"])
        get = LUA.format(method="GET", body="nil", token=household["token"])
        targets = [
            ("floor: GET /healthz on tickets (no DB)", stack.service_url("tickets") + "/healthz", get),
            ("create ticket, direct to tickets", stack.service_url("tickets") + "/api/v1/tickets", post),
            ("create ticket, through the gateway", stack.url + "/api/v1/tickets", post),
        ]
        for concurrency in [] if args.latency_only else [int(c) for c in args.concurrency.split(",")]:
            for label, url, script in targets:
                wait_drained(stack)  # every run starts with the relays and consumers idle
                figures = wrk(url, concurrency, args.duration, script)
                figures.update(target=label, concurrency=concurrency)
                results["throughput"].append(figures)
                print(
                    f"{label:45s} c={concurrency:<3d} {figures['rps']:8.0f} req/s  p50 {figures['p50_ms']:6.2f} ms"
                    f"  p99 {figures['p99_ms']:6.2f} ms  non-2xx {figures['non_2xx']}",
                    flush=True,
                )
        results["pipeline_drain_s"] = wait_drained(stack, timeout=600)
        print(f"SMS backlog after the last run drained in {results['pipeline_drain_s']:.1f} s", flush=True)
    finally:
        teardown(stack, prefix)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"results written to {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
