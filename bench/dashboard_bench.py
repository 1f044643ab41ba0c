"""Dashboard benchmark: server time of the managers' KPI dashboard over 100,000 units with a year of bills and
payments, and a year of tickets.

Usage: .venv/bin/python bench/dashboard_bench.py [--units 100000] [--months 12] [--tickets 1000000] [--requests 20]
       [--keep]  (the scratch databases are left for EXPLAIN; drop them after)

Runs the whole instance in this process on scratch PostgreSQL databases (gateway, every service and the workbench
as WSGI apps, the workbench calling the gateway in-process as in embedded mode), as bench/workbench_bench.py does.
Loads billing with one INSERT … SELECT per table: 20 zones, `--units` units, one bill a unit and month of 2026
(`--months`), 85 % of them paid (one allocation each); tickets with bench/tickets_bench.py's generator (a year of
tickets over 50 communities, one of them renamed to the bench community). Signs a cs_manager in through the
workbench's form and times GET /dashboard (7 charts from 6 API calls made at once: the collection-rate report by
zone and by butler in one call, the arrears, the tickets' weekly series, the zones' familiarity, patrol coverage,
renovation violations; rendering). The residents service gets the
same units with one resident each and ~1.5 contact-log rows a unit over the last 120 days. The floor of the same run is the API calls the page makes, one after another, without the
workbench (the page makes them at once, so it can be under 1 × floor; the slowest call's p50 is printed). Target (issue 16): p99 ≤ 500 ms.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tickets_bench import SERVER, load, pct  # noqa: E402
from workbench_bench import timed  # noqa: E402

from guanjia.db import drop_postgres_database  # noqa: E402

ZONES = 20
PASSWORD = "quiet-garden-walk-9"


def load_billing(url: str, community_id: str, zone_ids: list[str], units: int, months: int) -> None:
    engine = create_engine(url)
    zones = "ARRAY[" + ",".join(f"'{z}'" for z in zone_ids) + "]"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO billing_units (unit_id, community_id, building_id, zone_id, number, floor, unit_type, "
                "area_m2, gross_area_m2, inner_area_m2, status, label, source_time) "
                f"SELECT 'u-' || g, :c, 'b-' || (g % 200), ({zones})[1 + g % {len(zone_ids)}], g::text, 2 + g % 30, "
                "'residential', 90.25, 90.25, 80, 'occupied', (g % 200) || '栋' || g, now() "
                "FROM generate_series(1, :n) g"
            ),
            {"c": community_id, "n": units},
        )
        conn.execute(
            text(
                "INSERT INTO bills (id, community_id, unit_id, building_id, zone_id, kind, source_key, period, "
                "period_start, period_end, due_date, amount_fen, credited_fen, paid_fen, issued_at) "
                "SELECT 'bill-' || g || '-' || m, :c, 'u-' || g, 'b-' || (g % 200), "
                f"({zones})[1 + g % {len(zone_ids)}], 'periodic', 'period:2026-' || lpad(m::text, 2, '0'), "
                "'2026-' || lpad(m::text, 2, '0'), make_date(2026, m, 1), "
                "(make_date(2026, m, 1) + interval '1 month - 1 day')::date, make_date(2026, m, 16), 22563, 0, "
                "CASE WHEN (g + m) % 100 < 85 THEN 22563 ELSE 0 END, make_date(2026, m, 1) "
                "FROM generate_series(1, :n) g, generate_series(1, :months) m"
            ),
            {"c": community_id, "n": units, "months": months},
        )
        conn.execute(
            text(
                "INSERT INTO allocations (id, payment_id, unit_id, bill_id, bill_period_end, amount_fen, kind, "
                "created_at) SELECT gen_random_uuid()::text, 'pay-' || id, unit_id, id, period_end, paid_fen, "
                "'payment', issued_at + interval '10 days' FROM bills WHERE community_id = :c AND paid_fen > 0"
            ),
            {"c": community_id},
        )
    vacuum(engine, ("billing_units", "bills", "allocations"))
    engine.dispose()


def vacuum(engine, tables) -> None:
    """VACUUM ANALYZE the loaded tables, as autovacuum does a table that has taken many inserts: the statistics, and
    the visibility map the reports' index-only scans rely on (a freshly loaded table's pages are not yet marked
    all-visible; a table in service is)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(text(f"VACUUM ANALYZE {table}"))


def load_residents(url: str, community_id: str, zone_ids: list[str], units: int) -> None:
    """The same units in the residents service: 200 buildings over the zones, one moved-in resident a unit, and a
    contact log of about 1.5 contacts a unit spread over the last 120 days (about half of them effective)."""
    engine = create_engine(url)
    zones = "ARRAY[" + ",".join(f"'{z}'" for z in zone_ids) + "]"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO buildings (id, community_id, name, created_at, zone_id) "
                f"SELECT 'rb-' || g, :c, g || '栋', now(), ({zones})[1 + g % {len(zone_ids)}] "
                "FROM generate_series(0, 199) g"
            ),
            {"c": community_id},
        )
        conn.execute(
            text(
                "INSERT INTO units (id, community_id, building_id, number, floor, area_m2, status, created_at, "
                "updated_at, zone_id, unit_type, household) "
                "SELECT 'ru-' || g, :c, 'rb-' || (g % 200), g::text, 2 + g % 30, 90.25, 'occupied', now(), now(), "
                f"({zones})[1 + (g % 200) % {len(zone_ids)}], 'residential', true FROM generate_series(1, :n) g"
            ),
            {"c": community_id, "n": units},
        )
        conn.execute(
            text(
                "INSERT INTO residents (id, community_id, unit_id, name, phone, role, status, moved_in_at, "
                "created_at, sms_opt_out) "
                "SELECT 'rr-' || g, :c, 'ru-' || g, '住户' || g, '+86138' || lpad(g::text, 8, '0'), 'owner', "
                "'moved_in', now(), now(), false FROM generate_series(1, :n) g"
            ),
            {"c": community_id, "n": units},
        )
        conn.execute(
            text(
                "INSERT INTO contact_logs (id, resident_id, unit_id, kind, effective, contacted_at, staff_id) "
                "SELECT gen_random_uuid()::text, 'rr-' || (1 + (g * 7919) % :n), 'ru-' || (1 + (g * 7919) % :n), "
                "'visit', g % 2 = 0, now() - (g % 120) * interval '1 day', 'bench' "
                "FROM generate_series(1, :contacts) g"
            ),
            {"n": units, "contacts": units * 3 // 2},
        )
        # What log_contact keeps for each unit (the bench writes the log directly; each unit is a household).
        conn.execute(
            text(
                "UPDATE units SET last_contacted_at = c.last, last_effective_at = c.last_effective FROM ("
                "SELECT unit_id, max(contacted_at) AS last, max(contacted_at) FILTER (WHERE effective) AS last_effective "
                "FROM contact_logs GROUP BY unit_id) c WHERE c.unit_id = units.id"
            )
        )
    vacuum(engine, ("buildings", "units", "residents", "contact_logs"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases (for EXPLAIN), print them")
    parser.add_argument("--profile", action="store_true", help="then profile 3 pages (cProfile, every thread)")
    args = parser.parse_args()

    from guanjia import config, http
    from guanjia.runtime import migrate
    from guanjia.service import load_specs
    from guanjia.testing import TEST_RATE_LIMITS_ENV

    tag = uuid.uuid4().hex[:6]
    scratch = f"{SERVER}/guanjia_bench_dash{tag}_{{service}}"
    env = {
        "GUANJIA_DATABASE_URL": scratch,
        "GUANJIA_VAR_DIR": f"/tmp/guanjia-bench-dash-{tag}",
        "GUANJIA_ADMIN_PASSWORD": "bench-admin-password",
        "GUANJIA_RATE_LIMITS": TEST_RATE_LIMITS_ENV + ",api=1000000/60",
    }
    specs = load_specs()
    settings = {name: config.from_env(name, env) for name in specs}
    upstreams: dict = {}
    try:
        for name, spec in specs.items():
            migrate(spec, settings[name])
        for name, spec in specs.items():
            if name != "gateway":
                upstreams[name] = http.WsgiUpstream(name, spec.create_app(settings[name], upstreams))
        gateway = specs["gateway"].create_app(settings["gateway"], upstreams)
        upstreams["gateway"] = http.WsgiUpstream("gateway", gateway)
        specs["gateway"].bootstrap(settings["gateway"])
        results = run(gateway, args, scratch)
    finally:
        for name in specs:
            if args.keep:
                print("kept", scratch.format(service=name))
            else:
                drop_postgres_database(scratch.format(service=name))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "dashboard.json").write_text(json.dumps(results, indent=2))


def run(gateway, args, scratch: str) -> dict:
    api = gateway.test_client()
    admin = api.post("/api/v1/auth/token", json={"username": "admin", "password": "bench-admin-password"}).json
    admin_h = {"Authorization": f"Bearer {admin['access_token']}"}

    def created(path: str, body: dict) -> dict:
        answer = api.post(path, headers=admin_h, json=body)
        assert answer.status_code == 201, (path, answer.status_code, answer.get_data(as_text=True)[:300])
        return answer.json

    community = created("/api/v1/communities", {"name": "压测小区"})["id"]
    zones = [created("/api/v1/zones", {"community_id": community, "name": f"{n + 1}区"})["id"] for n in range(ZONES)]
    created(
        "/api/v1/users",
        {
            "username": "bench-manager",
            "password": PASSWORD,
            "role": "cs_manager",
            "display_name": "压测经理",
            "communities": [community],
        },
    )
    started = time.perf_counter()
    # Billing's zone projection follows zone.updated on the bus; the bench writes it directly (no worker runs).
    billing_url = scratch.format(service="billing")
    engine = create_engine(billing_url)
    with engine.begin() as conn:
        for index, zone_id in enumerate(zones):
            conn.execute(
                text(
                    "INSERT INTO billing_zones (zone_id, community_id, name, butler_ids, source_time) "
                    "VALUES (:z, :c, :n, '[]', now()) ON CONFLICT (zone_id) DO NOTHING"
                ),
                {"z": zone_id, "c": community, "n": f"{index + 1}区"},
            )
    engine.dispose()
    load_billing(billing_url, community, zones, args.units, args.months)
    load_residents(scratch.format(service="residents"), community, zones, args.units)
    tickets_url = scratch.format(service="tickets")
    engine = create_engine(tickets_url)
    load(engine, args.tickets, 1000)
    with engine.begin() as conn:
        conn.execute(text("UPDATE tickets SET community_id = :c WHERE community_id = 'c-0'"), {"c": community})
        mine = conn.execute(text("SELECT count(*) FROM tickets WHERE community_id = :c"), {"c": community}).scalar()
        conn.execute(text("ANALYZE tickets"))
    engine.dispose()
    print(f"loaded {args.units} units × {args.months} months of bills and {args.tickets} tickets "
          f"({mine} in the bench community) in {time.perf_counter() - started:.0f} s")  # fmt: skip

    web = gateway.test_client()
    form = web.get("/signin").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    signed = web.post("/signin", data={"username": "bench-manager", "password": PASSWORD, "csrf_token": csrf})
    assert signed.status_code == 303, signed.get_data(as_text=True)[:300]
    token = api.post("/api/v1/auth/token", json={"username": "bench-manager", "password": PASSWORD}).json
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    period = "2026-11"
    today = date.today().isoformat()
    calls = [
        f"/api/v1/billing/reports/collection-rate?community_id={community}&period={period}&group_by=zone,butler",
        f"/api/v1/billing/arrears?community_id={community}&group_by=zone",
        f"/api/v1/tickets/reports/weekly-series?community_id={community}&week={today}&weeks=8",
        f"/api/v1/communities/{community}/familiarity?days=90",
        f"/api/v1/tickets/patrols/coverage?community_id={community}&days=30",
        f"/api/v1/communities/{community}/renovation-violations?months=6",
    ]

    each: dict = {call: [] for call in calls}

    def floor() -> list[float]:
        samples = []
        for call_samples in each.values():
            call_samples.clear()
        for _ in range(args.requests):
            begun = time.perf_counter()
            for call in calls:
                started = time.perf_counter()
                assert api.get(call, headers=bearer).status_code == 200, call
                each[call].append((time.perf_counter() - started) * 1000)
            samples.append((time.perf_counter() - begun) * 1000)
        return samples

    path = f"/dashboard?community_id={community}&period={period}"
    results = {"units": args.units, "months": args.months, "tickets": args.tickets, "pages": {}}
    for name, measure in (
        (f"floor: the page's {len(calls)} API calls in turn", floor),
        ("cs_manager: GET /dashboard", lambda: timed(web, path, args.requests)),
    ):
        measure()  # warm-up: pools, plan cache, template compilation
        samples = measure()
        results["pages"][name] = {"p50_ms": pct(samples, 0.5), "p99_ms": pct(samples, 0.99)}
        print(f"{name:44s} p50 {pct(samples, 0.5):8.1f} ms   p99 {pct(samples, 0.99):8.1f} ms")
    results["calls"] = {
        re.sub(r"community_id=[^&]*&?|/communities/[^/]+", "", call): {"p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99)}
        for call, v in each.items()
    }
    for call, figures in results["calls"].items():
        print(f"  {call:70s} p50 {figures['p50_ms']:8.1f} ms")
    if args.profile:
        profile_pages(web, path)
    return results


def profile_pages(web, path: str) -> None:
    """Where the process's Python time goes over 3 pages (the page's call threads included): top 30 by own time."""
    import cProfile
    import pstats
    import threading

    profiles = []

    def traced(frame, event, arg):  # each new thread runs under its own profiler
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()

    main = cProfile.Profile()
    threading.setprofile(traced)
    main.enable()
    try:
        timed(web, path, 3)
    finally:
        main.disable()
        threading.setprofile(None)
    for profile in profiles:
        profile.disable()
    stats = pstats.Stats(main)
    for profile in profiles:
        stats.add(profile)
    stats.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
