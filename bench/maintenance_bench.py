"""Maintenance bench: the `maintenance` job making the work orders of 10,000 pieces of equipment due today (issue 17).

Usage: .venv/bin/python bench/maintenance_bench.py [--equipment 10000] [--keep]

Loads a scratch PostgreSQL database (guanjia_bench_maintenance, migrated) with N pieces of equipment in 50
communities and one active plan each (a quarter daily, weekly, monthly and yearly), all due today, with one
INSERT … SELECT generate_series per table; then runs the tickets worker's `maintenance` job once, as the scheduler
does (`Worker.run_job`: batches of plans locked SKIP LOCKED, one order and one equipment.maintenance_due outbox row
per plan), and a second time (nothing due: the re-run every 15 minutes). The floor, in the same run: one
INSERT … SELECT of the same number of order rows (no event, no per-row work). Target: ≤ 5 s for 10,000.
Prints figures and writes bench/results/maintenance.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from guanjia.config import Settings
from guanjia.db import drop_postgres_database, ensure_postgres_database, upgrade

SERVER = os.environ.get("GUANJIA_BENCH_DATABASE_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
URL = f"{SERVER}/guanjia_bench_maintenance"
COMMUNITIES = 50


def load(engine, equipment: int, today: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(f"""
            INSERT INTO equipment (id, community_id, zone_id, kind, name, code, state, state_changed_at, created_by,
                created_at, updated_at)
            SELECT 'e-' || g, 'c-' || (g % {COMMUNITIES}), NULL,
                (ARRAY['elevator','water_pump','fire_system','generator','gate','cctv'])[1 + g % 6],
                '设备' || g, 'EQ-' || g, 'operating', now(), 'bench', now(), now()
            FROM generate_series(1, :n) AS g
            """),
            {"n": equipment},
        )
        conn.execute(
            text(f"""
            INSERT INTO maintenance_plans (id, equipment_id, community_id, title, frequency, checklist, starts_on,
                assignee_id, active, next_n, next_due_on, created_by, created_at)
            SELECT 'p-' || g, 'e-' || g, 'c-' || (g % {COMMUNITIES}), '保养',
                (ARRAY['daily','weekly','monthly','yearly'])[1 + g % 4], '["检查运行","清洁","记录读数"]',
                CAST(:today AS date), 'eng-' || (g % 200), true, 0, CAST(:today AS date), 'bench', now()
            FROM generate_series(1, :n) AS g
            """),
            {"n": equipment, "today": today},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def floor(engine, equipment: int, today: str) -> float:
    """The same number of order rows written by one statement, rolled back."""
    with engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(
            text("""
            INSERT INTO maintenance_orders (id, plan_id, equipment_id, community_id, due_on, status, assignee_id,
                checklist, fault_ticket_ids, created_at)
            SELECT gen_random_uuid()::text, id, equipment_id, community_id, CAST(:today AS date), 'open', assignee_id,
                checklist, '[]', now()
            FROM maintenance_plans WHERE active AND next_due_on <= CAST(:today AS date) LIMIT :n
            """),
            {"n": equipment, "today": today},
        )
        elapsed = time.perf_counter() - started
        conn.rollback()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--equipment", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    from guanjia.runtime import Worker
    from guanjia.testing import TEST_JWT_PRIVATE_KEY, TEST_SERVICE_KEY
    from tickets.domain.maintenance import local_today
    from tickets.service import SPEC

    settings = Settings(
        service="tickets", database_url=URL, jwt_private_key=TEST_JWT_PRIVATE_KEY, service_key=TEST_SERVICE_KEY
    )
    today = local_today(datetime.now(UTC), settings.timezone).isoformat()
    drop_postgres_database(URL)
    ensure_postgres_database(URL)
    upgrade(URL, SPEC.migrations_dir)
    engine = create_engine(URL)
    started = time.perf_counter()
    load(engine, args.equipment, today)
    print(f"loaded {args.equipment} pieces of equipment and plans in {time.perf_counter() - started:.1f} s")
    print(f"load average {Path('/proc/loadavg').read_text().split()[:3]}")

    floor_s = floor(engine, args.equipment, today)
    print(f"{'floor: one INSERT … SELECT of the orders':46s} {floor_s:7.2f} s")
    worker = Worker(SPEC, settings, {})
    try:
        run = worker.run_job("maintenance")
        assert run.outcome == "ok", run
        with engine.connect() as conn:
            orders = conn.execute(text("SELECT count(*) FROM maintenance_orders")).scalar()
            due = conn.execute(
                text("SELECT count(*) FROM outbox WHERE event_type = 'equipment.maintenance_due'")
            ).scalar()  # fmt: skip
        print(f"{'maintenance job, first run':46s} {run.duration_seconds:7.2f} s  {orders} orders, {due} events"
              f"  ({run.duration_seconds / floor_s:.1f}× floor)")  # fmt: skip
        again = worker.run_job("maintenance")
        print(f"{'maintenance job, re-run (nothing due)':46s} {again.duration_seconds:7.2f} s")
    finally:
        worker.stop()
    engine.dispose()
    results = {
        "equipment": args.equipment,
        "floor_s": round(floor_s, 3),
        "first_run_s": round(run.duration_seconds, 3),
        "rerun_s": round(again.duration_seconds, 3),
        "orders": orders,
        "events": due,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "maintenance.json").write_text(json.dumps(results, indent=2))
    if not args.keep:
        drop_postgres_database(URL)


if __name__ == "__main__":
    main()
