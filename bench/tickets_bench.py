"""Tickets benchmark: filtered ticket lists over 1,000,000 tickets (p50/p99) and the monthly report over 100,000.

Usage: .venv/bin/python bench/tickets_bench.py [--tickets 1000000] [--report-tickets 100000] [--requests 400] [--keep]

Loads a scratch PostgreSQL database (guanjia_bench_tickets, migrated) with generated tickets using one
INSERT … SELECT generate_series per table, then calls the tickets app in-process (Flask test client: routing,
token check, scoping, query, serialisation — no HTTP server, no network) as the roles that use each list.
Prints figures and writes bench/results/tickets.json. Target (issue 4): list p99 ≤ 50 ms, report ≤ 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from guanjia.auth import Principal, issue_token
from guanjia.config import Settings
from guanjia.db import drop_postgres_database, ensure_postgres_database, upgrade

SERVER = os.environ.get("GUANJIA_BENCH_DATABASE_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
URL = f"{SERVER}/guanjia_bench_tickets"
COMMUNITIES = 50
ZONES_PER_COMMUNITY = 10
ENGINEERS_PER_COMMUNITY = 20
REPORT_COMMUNITY = "c-report"


def load(engine, tickets: int, report_tickets: int, description_sql: str = "'报修内容'") -> None:
    """`description_sql`: the SQL expression of each generated ticket's description (over `g`, 1…tickets)."""
    categories = "ARRAY['repair','repair','repair','complaint','complaint','inquiry','suggestion','praise','service_request','dispute']"
    statuses = (
        "ARRAY['closed','closed','closed','closed','closed','resolved','in_progress','assigned','new','cancelled']"
    )
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.42)"))  # reproducible random() below
        conn.execute(
            text(f"""
            INSERT INTO tickets (id, seq, number, community_id, zone_id, unit_id, location, category, subcategory,
                priority, channel, description, reporter_id, first_responder, department, assignee_id, status,
                response_due_at, resolution_due_at, responded_at, resolved_at, visit_attempts, charge_accepted,
                escalation_level, reopen_count, created_at, updated_at)
            SELECT gen_random_uuid()::text, nextval('ticket_number_seq'),
                'T' || lpad(currval('ticket_number_seq')::text, 8, '0'),
                'c-' || (g % {COMMUNITIES}), 'z-' || (g % {COMMUNITIES}) || '-' || floor(random() * {ZONES_PER_COMMUNITY}),
                'u-' || (g % 20000), 'in_unit', ({categories})[1 + floor(random() * 10)::int], NULL,
                (ARRAY['low','normal','normal','normal','high','emergency'])[1 + g % 6], 'app', {description_sql},
                'r-' || (g % 50000), 'butler-' || (g % {COMMUNITIES}) || '-' || floor(random() * {ZONES_PER_COMMUNITY}),
                'engineering',
                'eng-' || (g % {COMMUNITIES}) || '-' || floor(random() * {ENGINEERS_PER_COMMUNITY}),
                ({statuses})[1 + floor(random() * 10)::int],
                t + interval '2 hours', t + interval '72 hours', t + interval '40 minutes', t + interval '20 hours',
                0, false, 0, 0, t, t
            FROM (SELECT g, now() - (g % 525600) * interval '1 minute' AS t FROM generate_series(1, :n) AS g) s
            """),
            {"n": tickets},
        )
        # The report community: one month (October 2026) holding report_tickets tickets with realistic clocks.
        conn.execute(
            text(f"""
            INSERT INTO tickets (id, seq, number, community_id, zone_id, unit_id, location, category, subcategory,
                priority, channel, description, reporter_id, first_responder, department, assignee_id, status,
                response_due_at, resolution_due_at, responded_at, resolved_at, visit_attempts, charge_accepted,
                escalation_level, reopen_count, created_at, updated_at)
            SELECT gen_random_uuid()::text, nextval('ticket_number_seq'),
                'T' || lpad(currval('ticket_number_seq')::text, 8, '0'),
                '{REPORT_COMMUNITY}', 'z-r-' || (g % 12), 'u-r-' || (g % 3000), 'in_unit', ({categories})[1 + g % 10],
                (ARRAY['plumbing','electrical','noise','parking','lift','cleaning','security', NULL])[1 + g % 8],
                (ARRAY['low','normal','normal','normal','high','emergency'])[1 + g % 6],
                (ARRAY['phone','walk_in','app','wechat','patrol'])[1 + g % 5], '内容',
                'r-r-' || (g % 4000), 'butler-r-' || (g % 12),
                (ARRAY['engineering','security','cleaning','landscaping','customer_service'])[1 + g % 5],
                'eng-r-' || (g % 40), ({statuses})[1 + floor(random() * 10)::int],
                t + interval '2 hours', t + interval '72 hours',
                t + (g % 300) * interval '1 minute', t + (g % 6000) * interval '1 minute',
                0, false, 0, 0, t, t
            FROM (SELECT g, timestamptz '2026-09-30 16:00+00' + (g % 44640) * interval '1 minute' AS t
                  FROM generate_series(1, :n) AS g) s
            """),
            {"n": report_tickets},
        )
        conn.execute(
            text("""
            INSERT INTO return_visits (id, ticket_id, outcome, satisfaction, comment, visited_by, visited_at)
            SELECT gen_random_uuid()::text, id, 'reached', 1 + (seq % 5), NULL, 'cs', created_at + interval '2 days'
            FROM tickets WHERE community_id = :c AND seq % 3 = 0
            """),
            {"c": REPORT_COMMUNITY},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def timed(client, path: str, headers: dict, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:300])
    return samples


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))], 2)


def scratch_app(url: str):
    """(app, test client, header(role, subject, **scopes)) of a tickets app on `url`: it both signs tokens with the
    test keys of guanjia.testing (as the gateway would) and verifies them."""
    from guanjia.testing import TEST_JWT_PRIVATE_KEY, TEST_SERVICE_KEY
    from tickets.app import create_app

    settings = Settings(
        service="tickets", database_url=url, jwt_private_key=TEST_JWT_PRIVATE_KEY, service_key=TEST_SERVICE_KEY
    )
    app = create_app(settings, upstreams={})

    def header(role: str, subject: str, **scopes) -> dict:
        token = issue_token(settings, Principal(subject=subject, role=role, **scopes), ttl_seconds=3600)
        return {"Authorization": f"Bearer {token}"}

    return app, app.test_client(), header


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--report-tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--keep", action="store_true", help="keep the loaded database for another run")
    parser.add_argument("--reuse", action="store_true", help="reuse a database kept with --keep")
    args = parser.parse_args()

    from tickets.service import SPEC

    if not args.reuse:
        drop_postgres_database(URL)
        ensure_postgres_database(URL)
        upgrade(URL, SPEC.migrations_dir)
        engine = create_engine(URL)
        started = time.perf_counter()
        load(engine, args.tickets, args.report_tickets)
        print(f"loaded {args.tickets + args.report_tickets} tickets in {time.perf_counter() - started:.0f} s")
        engine.dispose()

    app, client, header = scratch_app(URL)

    manager = header("cs_manager", "mgr-7", communities=("c-7",))
    butler = header("butler", "butler-7-3", communities=("c-7",), zones=("z-7-3", "z-7-4"))
    engineer = header("engineer", "eng-7-5", communities=("c-7",))
    cases = {
        "manager: status + category, page 1": ("/api/v1/tickets?status=in_progress&category=repair", manager),
        "manager: open tickets, page 5": ("/api/v1/tickets?open=true&page=5", manager),
        "manager: all, newest first": ("/api/v1/tickets?community_id=c-7", manager),
        "butler: own zones + own follow-ups": ("/api/v1/tickets?status=assigned", butler),
        "engineer: dispatched to me": ("/api/v1/tickets?open=true", engineer),
    }
    results = {"tickets": args.tickets, "report_tickets": args.report_tickets, "lists": {}, "report": {}}
    # The floor: the same app answering without touching the database, in the same run on the same machine.
    floor = timed(client, "/healthz", {}, 200)
    results["floor_healthz"] = {"p50_ms": pct(floor, 0.5), "p99_ms": pct(floor, 0.99)}
    print(f"{'floor: GET /healthz (no database)':42s} p50 {pct(floor, 0.5):7.2f} ms   p99 {pct(floor, 0.99):7.2f} ms")
    all_samples = []
    for name, (path, headers) in cases.items():
        timed(client, path, headers, 10)  # warm-up: connection pool, plan cache
        samples = timed(client, path, headers, args.requests // len(cases))
        all_samples += samples
        results["lists"][name] = {"p50_ms": pct(samples, 0.5), "p99_ms": pct(samples, 0.99)}
        print(f"{name:42s} p50 {pct(samples, 0.5):7.2f} ms   p99 {pct(samples, 0.99):7.2f} ms")
    results["lists"]["all"] = {"p50_ms": pct(all_samples, 0.5), "p99_ms": pct(all_samples, 0.99)}
    print(f"{'all list requests':42s} p50 {pct(all_samples, 0.5):7.2f} ms   p99 {pct(all_samples, 0.99):7.2f} ms")

    report_manager = header("cs_manager", "mgr-r", communities=(REPORT_COMMUNITY,))
    for fmt in ("json", "xlsx"):
        path = f"/api/v1/tickets/reports/monthly?community_id={REPORT_COMMUNITY}&month=2026-10&format={fmt}"
        samples = timed(client, path, report_manager, 5)
        results["report"][fmt] = {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}
        print(f"monthly report over {args.report_tickets} tickets ({fmt}): median {statistics.median(samples):.0f} ms")
    body = client.get(
        f"/api/v1/tickets/reports/monthly?community_id={REPORT_COMMUNITY}&month=2026-10", headers=report_manager
    ).json
    print(f"report totals: {body['totals']['tickets']} tickets, response p50/p90 {body['response_time']}")

    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "tickets.json").write_text(json.dumps(results, indent=2))
    app.extensions["guanjia.db"].dispose()
    if not args.keep:
        drop_postgres_database(URL)


if __name__ == "__main__":
    main()
