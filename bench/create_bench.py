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
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from guanjia.testing import TEST_JWT_PRIVATE_KEY, TEST_SERVICE_KEY
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
    settings = Settings(
        service="tickets", database_url=url, jwt_private_key=TEST_JWT_PRIVATE_KEY, service_key=TEST_SERVICE_KEY
    )
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
    finally:
        floor.extensions["bench.engine"].dispose()
        for extension in app.extensions.values():
            dispose = getattr(getattr(extension, "engine", None), "dispose", None)
            if dispose:
                dispose()
        drop_postgres_database(url)

    def median(i):
        return statistics.median(run[i] for run in runs)

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
            }
        )
    )


if __name__ == "__main__":
    main()
