"""Benchmark the billing service on PostgreSQL: a billing run for 100,000 units, its idempotent re-run, and the
overdue scan over 1,000,000 bills — each against a floor measured in the same run.

Usage: .venv/bin/python bench/billing_bench.py [--units 100000] [--scan-bills 1000000] [--rounds 1] [--skip-scan]
Floors: the run's floor is one set-based SQL transaction inserting the same rows (bills, lines, ledger entries,
bill.issued outbox rows with a JSON payload) with INSERT … SELECT; the scan's floor is the bare SELECT of the open
overdue bills. Prints a Markdown table and writes bench/results/billing-<timestamp>.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import text

from billing.domain import bills, overdue
from billing.service import SPEC
from guanjia.auth import Principal
from guanjia.config import Settings
from guanjia.db import Database, drop_postgres_database, ensure_postgres_database, upgrade

HERE = Path(__file__).resolve().parent
PG = os.environ.get("GUANJIA_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
PERIOD = "2026-11"

# The same rows the run writes, set-based: 2 lines a unit (property fee per m², elevator per unit).
FLOOR_SQL = """
CREATE TEMP TABLE floor_bills ON COMMIT DROP AS
  SELECT gen_random_uuid()::text AS id, gen_random_uuid()::text AS event_id, u.unit_id, u.building_id, u.zone_id,
         round(u.gross_area_m2 * 2.50 * 100)::bigint AS property_fen, 3000::bigint AS elevator_fen
  FROM billing_units u WHERE u.community_id = :c;
INSERT INTO bills (id, community_id, unit_id, building_id, zone_id, kind, source_key, period, period_start, period_end,
                   due_date, amount_fen, credited_fen, paid_fen, issued_at)
  SELECT id, :c, unit_id, building_id, zone_id, 'periodic', 'floor:' || :p, :p, DATE '2026-11-01', DATE '2026-11-30',
         DATE '2026-11-16', property_fen + elevator_fen, 0, 0, now() FROM floor_bills;
INSERT INTO bill_lines (id, bill_id, fee_item_id, description, quantity, rate, amount_fen)
  SELECT gen_random_uuid()::text, id, NULL, '物业服务费', 100, 2.5, property_fen FROM floor_bills
  UNION ALL SELECT gen_random_uuid()::text, id, NULL, '电梯费', 1, 30, elevator_fen FROM floor_bills;
INSERT INTO ledger_entries (id, community_id, unit_id, kind, amount_fen, bill_id, created_at)
  SELECT gen_random_uuid()::text, :c, unit_id, 'charge', property_fen + elevator_fen, id, now() FROM floor_bills;
INSERT INTO outbox (id, event_type, payload, created_at, attempts)
  SELECT f.event_id, 'bill.issued', json_build_object(
      'specversion', '1.0', 'id', f.event_id, 'source', '/bench/billing', 'type', 'bill.issued', 'subject', 'bill/' || f.id,
      'time', now(), 'datacontenttype', 'application/json',
      'dataschema', 'http://127.0.0.1:8000/api/v1/billing/schemas/events/bill.issued/v1.json', 'city', 'bench', 'community', CAST(:c AS text),
      'data', json_build_object('bill_id', f.id, 'unit_id', f.unit_id, 'community_id', CAST(:c AS text), 'period', CAST(:p AS text),
                                'amount', to_char((f.property_fen + f.elevator_fen) / 100.0, 'FM999999990.00'),
                                'due_date', '2026-11-16', 'payer_id', NULL))::text, now(), 0
  FROM floor_bills f;
"""


def clock(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def measured(db, fn):
    """`fn(session)` in a transaction of its own: wall seconds (commit included), CPU seconds of this process and of
    the PostgreSQL backend that served it ({"py", "pg"}; pg None when the server does not run on this host), and
    what `fn` returned. On a shared machine the CPU is the steadier figure: the wall time waits for other work."""
    started, cpu = time.perf_counter(), time.process_time()
    with db.transaction() as s:
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
        pg = backend_cpu(pid)
        result = fn(s)
    wall, py = time.perf_counter() - started, time.process_time() - cpu
    after = backend_cpu(pid)
    return wall, {"py": py, "pg": after - pg if after is not None and pg is not None else None}, result


def backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) PostgreSQL backend `pid` has used, when it is a postgres process of this host."""
    try:
        if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return None
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count(db, table: str, where: str = "TRUE", **params) -> int:
    with db.transaction() as s:
        return s.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar_one()


def setup_units(db, community_id: str, units: int) -> None:
    with db.transaction() as s:
        s.execute(
            text(
                "INSERT INTO billing_units (unit_id, community_id, building_id, zone_id, number, floor, unit_type, "
                "area_m2, gross_area_m2, inner_area_m2, status, source_time) "
                "SELECT gen_random_uuid()::text, :c, 'b-' || (g % 200), 'z-' || (g % 20), g::text, 2 + g % 30, "
                "'residential', 60 + (g % 90) + 0.25, 60 + (g % 90) + 0.25, 50 + (g % 80), 'occupied', now() "
                "FROM generate_series(1, :n) g"
            ),
            {"c": community_id, "n": units},
        )


def fee_items(db, community_id: str) -> None:
    with db.transaction() as s:
        for name, kind, basis, rate in (
            ("物业服务费", "property_service", "per_m2", "2.50"),
            ("电梯费", "elevator", "per_unit", "30.00"),
        ):
            item_id = str(uuid.uuid4())
            types = '["residential", "shop"]'
            s.execute(
                text(
                    "INSERT INTO fee_items (id, community_id, name, kind, basis, unit_types, rounding, active, "
                    "created_at) VALUES (:i, :c, :n, :k, :b, :t, 'half_even', true, now())"
                ),
                {"i": item_id, "c": community_id, "n": name, "k": kind, "b": basis, "t": types},
            )
            s.execute(
                text(
                    "INSERT INTO fee_rates (id, fee_item_id, effective_from, rate, created_at) "
                    "VALUES (:i, :f, DATE '2026-01-01', :r, now())"
                ),
                {"i": str(uuid.uuid4()), "f": item_id, "r": rate},
            )


def setup_scan_bills(db, total: int) -> None:
    """`total` bills over 1,000 communities and 12 months; 85 % paid (a collection rate near the target)."""
    with db.transaction() as s:
        s.execute(
            text(
                "INSERT INTO bills (id, community_id, unit_id, building_id, zone_id, kind, source_key, period, "
                "period_start, period_end, due_date, amount_fen, credited_fen, paid_fen, issued_at) "
                "SELECT gen_random_uuid()::text, 'scan-c' || (g % 1000), gen_random_uuid()::text, NULL, NULL, "
                "'periodic', 'period:' || m, m, DATE '2026-01-01', DATE '2026-01-31', "
                "DATE '2026-01-16' + ((g % 12) * 30), 25000, 0, CASE WHEN g % 100 < 85 THEN 25000 ELSE 0 END, now() "
                "FROM generate_series(1, :n) g, LATERAL (SELECT '2026-' || lpad(((g % 12) + 1)::text, 2, '0') AS m) p"
            ),
            {"n": total},
        )
        s.execute(text("ANALYZE bills"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--scan-bills", type=int, default=1_000_000)
    parser.add_argument(
        "--rounds", type=int, default=1, help="floor and run this many times (alternating which goes first)"
    )
    parser.add_argument("--skip-scan", action="store_true", help="measure the run only (no overdue scan)")
    args = parser.parse_args()
    url = f"{PG}/bench_billing_{uuid.uuid4().hex[:8]}"
    ensure_postgres_database(url)
    results: dict = {"units": args.units, "scan_bills": args.scan_bills, "at": datetime.now(UTC).isoformat()}
    try:
        upgrade(url, SPEC.migrations_dir)
        db = Database(url)
        settings = Settings(service="billing", database_url=url, city="bench")
        admin = Principal(subject="bench", role="admin")
        results["rounds"] = []
        for number in range(args.rounds):
            if number:
                # Each round writes into empty tables, as the first does: rounds differ only by the machine's load.
                with db.transaction() as s:
                    s.execute(text("TRUNCATE bills, bill_lines, ledger_entries, outbox, billing_units"))
            figures = one_round(db, settings, admin, args.units, floor_first=number % 2 == 0)
            results["rounds"].append(figures)
            print(
                f"round {number + 1}: floor {figures['floor_s']:.2f} s, run {figures['run_s']:.2f} s, "
                f"ratio {figures['run_s'] / figures['floor_s']:.2f}, re-run {figures['rerun_s']:.2f} s, "
                f"cpu floor {cpu_text(figures['floor_cpu'])}, run {cpu_text(figures['run_cpu'])}, "
                f"load {figures['load']}",
                flush=True,
            )
        results.update(results["rounds"][-1])  # the table below shows the last round
        if not args.skip_scan:
            scan_rounds(db, settings, args.scan_bills, results)
        db.dispose()
    finally:
        drop_postgres_database(url)

    if args.rounds > 1:
        print_rounds(results["rounds"])
    print_table(results)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"billing-{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(json.dumps(results, indent=2))


def one_round(db, settings, admin, units: int, *, floor_first: bool) -> dict:
    """The floor and the run over `units` units each (two communities of their own), and the run's re-run."""
    figures: dict = {"floor_first": floor_first}
    # Floor: the same rows, set-based, in a community of its own with the same units.
    floor_c = str(uuid.uuid4())
    setup_units(db, floor_c, units)
    community = str(uuid.uuid4())
    setup_units(db, community, units)
    fee_items(db, community)
    with db.transaction() as s:
        s.execute(text("ANALYZE"))

    def floor(s):
        for statement in FLOOR_SQL.split(";\n"):
            if statement.strip():
                s.execute(text(statement), {"c": floor_c, "p": PERIOD})

    def run(s):
        return bills.run_billing(s, settings, admin, community, PERIOD, datetime.now(UTC)).bills_created

    figures["load"] = load_average()
    if floor_first:
        figures["floor_s"], figures["floor_cpu"], _ = measured(db, floor)
    figures["run_s"], figures["run_cpu"], figures["run_bills"] = measured(db, run)
    if not floor_first:
        figures["floor_s"], figures["floor_cpu"], _ = measured(db, floor)
    figures["run_lines"] = count(
        db, "bill_lines l JOIN bills b ON b.id = l.bill_id", "b.community_id = :c", c=community
    )
    figures["run_outbox"] = count(db, "outbox", "event_type = 'bill.issued'") - units  # minus the floor's
    figures["rerun_s"], _, figures["rerun_bills"] = measured(db, run)
    return figures


def scan_rounds(db, settings, scan_bills: int, results: dict) -> None:
    setup_scan_bills(db, scan_bills)
    results["scan_open_bills"] = count(db, "bills", "amount_fen > credited_fen + paid_fen")

    def scan_floor():
        with db.transaction() as s:
            return len(s.execute(text(overdue._DUE), {"today": date(2026, 12, 31)}).all())

    results["scan_floor_s"], results["scan_floor_rows"] = clock(scan_floor)

    def scan():
        with db.transaction() as s:
            return overdue.scan(s, settings, date(2026, 12, 31), datetime.now(UTC))

    results["scan_s"], results["scan_events"] = clock(scan)
    results["rescan_s"], results["rescan_events"] = clock(scan)


def cpu_text(cpu: dict) -> str:
    pg = "?" if cpu["pg"] is None else f"{cpu['pg']:.2f}"
    return f"py {cpu['py']:.2f} + pg {pg} s"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def print_rounds(rounds: list[dict]) -> None:
    print(
        "| round | first | load avg (1/5/15 min) | floor | billing run | run / floor | re-run "
        "| CPU floor (pg) | CPU run (py + pg) |"
    )
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|")
    for number, r in enumerate(rounds, 1):
        print(
            f"| {number} | {'floor' if r['floor_first'] else 'run'} | {r['load']} | {r['floor_s']:.2f} s "
            f"| {r['run_s']:.2f} s | {r['run_s'] / r['floor_s']:.2f}× | {r['rerun_s']:.2f} s "
            f"| {cpu_text(r['floor_cpu'])} | {cpu_text(r['run_cpu'])} |"
        )
    ratios = sorted(r["run_s"] / r["floor_s"] for r in rounds)
    print(f"\nrun / floor: median {ratios[len(ratios) // 2]:.2f}×, {ratios[0]:.2f}–{ratios[-1]:.2f}×\n")


def print_table(r: dict) -> None:
    rows = r["run_bills"] + r["run_lines"] + r["run_bills"] + r["run_outbox"]
    print("| measurement | time | rows | vs floor |\n|---|---:|---:|---:|")
    print(f"| floor: set-based INSERT … SELECT of the same rows | {r['floor_s']:.2f} s | {rows:,} | 1.0× |")
    print(
        f"| billing run, {r['units']:,} units (bills + lines + ledger + `bill.issued` outbox) | {r['run_s']:.2f} s "
        f"| {rows:,} ({r['run_bills']:,} bills, {r['run_lines']:,} lines, {r['run_outbox']:,} events) "
        f"| {r['run_s'] / r['floor_s']:.1f}× |"
    )
    print(f"| idempotent re-run of the same period | {r['rerun_s']:.2f} s | {r['rerun_bills']} bills | – |")
    if "scan_s" not in r:
        return
    print(
        f"| floor: SELECT of the bills due a reminder, {r['scan_bills']:,} bills | {r['scan_floor_s']:.2f} s "
        f"| {r['scan_floor_rows']:,} | 1.0× |"
    )
    print(
        f"| overdue scan, {r['scan_bills']:,} bills ({r['scan_open_bills']:,} open) | {r['scan_s']:.2f} s "
        f"| {r['scan_events']:,} `fee.overdue` | {r['scan_s'] / r['scan_floor_s']:.1f}× |"
    )
    print(f"| overdue scan again (nothing new) | {r['rescan_s']:.2f} s | {r['rescan_events']} | – |")


if __name__ == "__main__":
    main()
