"""Create ticket: CPU of the tickets app per request against a Flask + SQLAlchemy Core floor, in the same run.

    .venv/bin/python bench/create_bench.py [--requests 1000] [--rounds 3]
    (GUANJIA_BENCH_PG overrides the local PostgreSQL)

A scratch tickets database (migrated to head) with one zone (one butler) and one unit. Both apps run in this process
behind Flask's test client (no HTTP server, no other service: the unit is in the tickets projection), one request
at a time, and this process's CPU time (`time.process_time`, Python and driver) is divided by the requests:

- floor: a Flask app with SQLAlchemy Core that reads the unit, takes the next ticket number, inserts the ticket, its
  timeline row and its outbox row, `pg_notify`s and commits — the same rows in one transaction — and answers JSON;
- tickets: `POST /api/v1/tickets` of the real app as the unit's resident (token check, scoping, SLA deadlines,
  routing to the zone's butler, timeline, `ticket.created` and `ticket.assigned` in the outbox, the response).

Floor and app alternate for `--rounds` rounds; medians are printed with the load average (the machine is shared).

`--concurrency 8` adds a throughput mode: each app (the same two apps, built the same way) is served by gunicorn with
the services' own configuration (`guanjia.gunicorn_conf`: 2 worker processes × 4 gthread threads, here on
127.0.0.1), and 8 client threads in this process each post their share of `--requests` over their own keep-alive
connection. Per round it prints each server's requests/s (wall) and CPU per request (utime + stime of the gunicorn
master and its workers, from /proc), floor and app in turn; the client threads' CPU is the same for both.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, select, text

from guanjia import events
from guanjia.auth import Principal, issue_token
from guanjia.config import Settings
from guanjia.db import drop_postgres_database, ensure_postgres_database, upgrade


def floor_app(url: str, tables) -> Flask:
    """Flask + SQLAlchemy Core doing the create's writes with nothing else (no checks, no routing, no schemas)."""
    engine = create_engine(url, pool_size=2)
    app = Flask("floor")
    tickets, timeline, outbox, units = tables

    @app.post("/tickets")
    def create():
        body = request.get_json()
        now = datetime.now(UTC)
        with engine.begin() as conn:
            unit = conn.execute(
                select(units.c.community_id, units.c.zone_id).where(units.c.id == body["unit_id"])
            ).one()
            seq = conn.execute(text("SELECT nextval('ticket_number_seq')")).scalar_one()
            ticket_id = str(uuid.uuid4())
            row = {
                "id": ticket_id,
                "seq": seq,
                "number": f"T{seq:08d}",
                "community_id": unit.community_id,
                "zone_id": unit.zone_id,
                "unit_id": body["unit_id"],
                "location": "in_unit",
                "category": body["category"],
                "priority": "normal",
                "channel": "app",
                "description": body["description"],
                "reporter_id": body.get("reporter_id"),
                "urgent_requested": False,
                "first_responder": "floor",
                "status": "new",
                "visit_attempts": 0,
                "charge_accepted": False,
                "escalation_level": 0,
                "reopen_count": 0,
                "created_at": now,
                "updated_at": now,
            }
            conn.execute(tickets.insert().values(**row))
            conn.execute(
                timeline.insert().values(
                    id=str(uuid.uuid4()),
                    ticket_id=ticket_id,
                    position=1,
                    at=now,
                    actor="floor",
                    action="created",
                    to_status="new",
                    details="{}",
                )
            )
            event = events.build(
                type="ticket.created",
                source="/bench/tickets",
                subject=f"ticket/{ticket_id}",
                data={"ticket_id": ticket_id, "number": row["number"], "community_id": unit.community_id},
                city="bench",
                community=unit.community_id,
            )
            conn.execute(
                outbox.insert().values(
                    id=event["id"],
                    event_type=event["type"],
                    payload=json.dumps(event),
                    created_at=now,
                    attempts=0,
                )
            )
            conn.execute(text("SELECT pg_notify('guanjia_outbox', '')"))
        return jsonify({**row, "created_at": now.isoformat(), "updated_at": now.isoformat()}), 201

    app.extensions["bench.engine"] = engine
    return app


def cpu_per_request(client, path: str, body: dict, headers: dict, requests: int) -> tuple[float, float]:
    """(CPU µs per request, wall requests/s) over `requests` sequential creates, after 20 to warm up."""
    for _ in range(20):
        assert client.post(path, json=body, headers=headers).status_code == 201
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(requests):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return (time.process_time() - cpu0) / requests * 1e6, requests / (time.perf_counter() - wall0)


def _settings(url: str):
    from guanjia.testing import TEST_JWT_PRIVATE_KEY, TEST_SERVICE_KEY

    return Settings(
        service="tickets", database_url=url, jwt_private_key=TEST_JWT_PRIVATE_KEY, service_key=TEST_SERVICE_KEY
    )


def served_app():
    """gunicorn's entry (`create_bench:served_app()`): the floor or the tickets app of the in-process mode, on the
    database in GUANJIA_BENCH_CREATE_URL, built in each worker after the fork."""
    from tickets import models
    from tickets.app import create_app

    url = os.environ["GUANJIA_BENCH_CREATE_URL"]
    if os.environ["GUANJIA_BENCH_CREATE_APP"] == "floor":
        return floor_app(
            url, (models.Ticket.__table__, models.TimelineEntry.__table__, models.outbox, models.Unit.__table__)
        )
    return create_app(_settings(url), upstreams={})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its children that still run (the gunicorn master and its workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(child) for child in (task / "children").read_text().split()]
    for one in pids:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


class Served:
    """One app under gunicorn (the services' gunicorn_conf, bound to a free local port)."""

    def __init__(self, which: str, url: str):
        self.port = _free_port()
        env = {
            **os.environ,
            "GUANJIA_BENCH_CREATE_URL": url,
            "GUANJIA_BENCH_CREATE_APP": which,
            "GUANJIA_LOG_LEVEL": "warning",
        }
        env.pop("GUANJIA_SERVICE", None)
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "-c",
                "python:guanjia.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--pythonpath",
                str(Path(__file__).parent),
                "create_bench:served_app()",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn for {which} did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def throughput(served: Served, path: str, body: dict, headers: dict, requests: int, concurrency: int):
    """(requests/s wall, server CPU µs per request) of `requests` creates from `concurrency` client threads."""
    payload = json.dumps(body).encode()
    headers = {**headers, "Content-Type": "application/json"}
    failures: list[str] = []

    def post(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
        try:
            for _ in range(count):
                conn.request("POST", path, payload, headers)
                response = conn.getresponse()
                answer = response.read()
                if response.status != 201:
                    failures.append(f"{response.status} {answer[:200]!r}")
                    return
        finally:
            conn.close()

    def run(total: int) -> float:
        shares = [total // concurrency + (i < total % concurrency) for i in range(concurrency)]
        threads = [threading.Thread(target=post, args=(share,)) for share in shares]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise RuntimeError(failures[0])
        return time.perf_counter() - start

    run(concurrency * 10)  # every worker thread warmed up (connections, caches, compiled statements)
    cpu0 = _cpu_seconds(served.process.pid)
    wall = run(requests)
    return requests / wall, (_cpu_seconds(served.process.pid) - cpu0) / requests * 1e6


def concurrent_rounds(url: str, body: dict, headers: dict, args) -> list[tuple]:
    floor, app = Served("floor", url), Served("tickets", url)
    runs = []
    try:
        for _ in range(args.rounds):
            load = os.getloadavg()[0]
            floor_rps, floor_cpu = throughput(floor, "/tickets", body, {}, args.requests, args.concurrency)
            app_rps, app_cpu = throughput(app, "/api/v1/tickets", body, headers, args.requests, args.concurrency)
            runs.append((app_rps / floor_rps, floor_rps, app_rps, floor_cpu, app_cpu, load))
            print(
                json.dumps(
                    {
                        "round": len(runs),
                        "concurrency": args.concurrency,
                        "throughput_ratio": round(runs[-1][0], 2),
                        "floor_requests_per_s": round(floor_rps),
                        "tickets_requests_per_s": round(app_rps),
                        "floor_server_cpu_us": round(floor_cpu),
                        "tickets_server_cpu_us": round(app_cpu),
                        "server_cpu_ratio": round(app_cpu / floor_cpu, 2),
                        "load_average_1m": round(load, 2),
                    }
                ),
                flush=True,
            )
    finally:
        floor.stop()
        app.stop()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--concurrency", type=int, default=0, help="also serve both apps with gunicorn and post from N threads"
    )
    args = parser.parse_args()

    from tickets import models
    from tickets.app import create_app
    from tickets.service import SPEC

    pg = os.environ.get("GUANJIA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    url = f"{pg}/guanjia_bench_create_{uuid.uuid4().hex[:6]}"
    ensure_postgres_database(url)
    upgrade(url, SPEC.migrations_dir)
    community, zone, unit, resident = (str(uuid.uuid4()) for _ in range(4))
    setup = create_engine(url)
    now = datetime.now(UTC)
    with setup.begin() as conn:
        conn.execute(
            models.Zone.__table__.insert().values(
                id=zone,
                community_id=community,
                name="一区",
                butler_ids=json.dumps(["butler-1"]),
                first_seen_at=now,
                source_time=now,
            )
        )
        conn.execute(
            models.Unit.__table__.insert().values(
                id=unit, community_id=community, zone_id=zone, number="101", label="1栋1-101", source_time=now
            )
        )
    setup.dispose()
    settings = _settings(url)
    app = create_app(settings, upstreams={})
    token = issue_token(
        settings,
        Principal(subject="resident-1", role="resident", units=(unit,), resident_id=resident),
        ttl_seconds=3600,
    )
    headers = {"Authorization": f"Bearer {token}"}
    body = {"unit_id": unit, "category": "repair", "description": "厨房水龙头漏水", "reporter_id": resident}
    floor = floor_app(
        url, (models.Ticket.__table__, models.TimelineEntry.__table__, models.outbox, models.Unit.__table__)
    )
    runs = []
    try:
        for _ in range(args.rounds):
            load = os.getloadavg()[0]
            floor_cpu, floor_rps = cpu_per_request(floor.test_client(), "/tickets", body, {}, args.requests)
            app_cpu, app_rps = cpu_per_request(app.test_client(), "/api/v1/tickets", body, headers, args.requests)
            runs.append((app_cpu / floor_cpu, floor_cpu, app_cpu, floor_rps, app_rps, load))
            print(
                json.dumps(
                    {
                        "round": len(runs),
                        "cpu_ratio": round(runs[-1][0], 2),
                        "floor_cpu_us": round(floor_cpu),
                        "tickets_cpu_us": round(app_cpu),
                        "load_average_1m": round(load, 2),
                    }
                ),
                flush=True,
            )
        concurrent = concurrent_rounds(url, body, headers, args) if args.concurrency else []
    finally:
        floor.extensions["bench.engine"].dispose()
        for extension in app.extensions.values():
            dispose = getattr(getattr(extension, "engine", None), "dispose", None)
            if dispose:
                dispose()
        drop_postgres_database(url)

    def median(i, rows=runs):
        return statistics.median(run[i] for run in rows)

    served = {}
    if concurrent:
        served = {
            "concurrency": args.concurrency,
            "served_floor_requests_per_s": round(median(1, concurrent)),
            "served_tickets_requests_per_s": round(median(2, concurrent)),
            "throughput_ratio_median": round(median(0, concurrent), 2),
            "throughput_ratio_min_max": [
                round(min(r[0] for r in concurrent), 2),
                round(max(r[0] for r in concurrent), 2),
            ],
            "served_floor_cpu_us_per_request": round(median(3, concurrent)),
            "served_tickets_cpu_us_per_request": round(median(4, concurrent)),
            "served_load_average_1m": [round(r[5], 2) for r in concurrent],
        }
    print(
        json.dumps(
            {
                "code": models.__file__,
                "requests": args.requests,
                "rounds": args.rounds,
                "floor_cpu_us_per_request": round(median(1)),
                "tickets_cpu_us_per_request": round(median(2)),
                "cpu_ratio_median": round(median(0), 2),
                "cpu_ratio_min_max": [round(min(r[0] for r in runs), 2), round(max(r[0] for r in runs), 2)],
                "floor_requests_per_s": round(median(3)),
                "tickets_requests_per_s": round(median(4)),
                "load_average_1m": [round(r[5], 2) for r in runs],
                **served,
            }
        )
    )


if __name__ == "__main__":
    main()
