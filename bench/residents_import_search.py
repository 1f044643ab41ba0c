"""Benchmark the residents service on PostgreSQL: a 20,000-unit / 50,000-resident XLSX roster import, and search
by phone over 100,000 residents (p50/p99), through the service's HTTP API (in-process WSGI, no network).

Usage: .venv/bin/python bench/residents_import_search.py [--units 20000] [--residents 50000] [--searches 2000]
Creates a scratch database bench_residents_<hex> (dropped afterwards unless --keep), prints a Markdown table and
writes bench/results/residents-<timestamp>.json. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
from stdnum.cn import ric

from guanjia.config import Settings
from guanjia.db import drop_postgres_database, ensure_postgres_database, upgrade
from guanjia.testing import TEST_JWT_PRIVATE_KEY, TEST_SERVICE_KEY, auth_header

HERE = Path(__file__).resolve().parent
PG = os.environ.get("GUANJIA_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")


def roster(units: int, residents: int, phone_base: int, rng: random.Random) -> tuple[bytes, list[str]]:
    """An XLSX roster: `units` units in buildings of 200, `residents` residents spread over them (2–3 a unit)."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("units")
    sheet.append(["building", "number", "floor", "unit_type", "gross_area_m2", "inner_area_m2"])
    keys = []
    for i in range(units):
        building, n = f"{i // 200 + 1}栋", i % 200
        floor, door = n // 4 + 1, n % 4 + 1
        number = f"{floor}{door:02d}"
        keys.append((building, number))
        gross = rng.randint(6000, 14000)
        sheet.append([building, number, floor, "residential", f"{gross / 100:.2f}", f"{gross * 0.8 / 100:.2f}"])
    sheet = book.create_sheet("residents")
    sheet.append(["building", "unit", "name", "phone", "role", "id_number", "tags", "notes"])
    phones = []
    for i in range(residents):
        building, number = keys[i % units]
        phone = f"+86138{phone_base + i:08d}"
        phones.append(phone)
        id_number = ""
        if i % 2 == 0:
            body = f"110105{1950 + i % 50}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
            id_number = body + ric.calc_check_digit(body + "0")  # it wants a placeholder digit
        role = "owner" if i < units else rng.choice(["family", "tenant"])
        tags = "living_alone" if i % 97 == 0 else ""
        sheet.append([building, number, f"住户{i}", phone, role, id_number, tags, ""])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), phones


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--residents", type=int, default=50_000)
    parser.add_argument("--searches", type=int, default=2_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    url = f"{PG}/bench_residents_{uuid.uuid4().hex[:6]}"
    ensure_postgres_database(url)
    from residents.app import create_app
    from residents.service import SPEC

    upgrade(url, SPEC.migrations_dir)
    settings = Settings(
        service="residents",
        database_url=url,
        city="bench",
        jwt_private_key=TEST_JWT_PRIVATE_KEY,
        service_key=TEST_SERVICE_KEY,
        pii_key="bench-pii-key",
    )
    client = create_app(settings).test_client()
    rng = random.Random(7)
    admin = auth_header(settings, "admin")
    results: dict = {"units": args.units, "residents": args.residents, "imports": []}
    communities, all_phones = [], []
    try:
        # Two communities of the same size: 2 × 50,000 = 100,000 residents to search.
        for index in range(2):
            community = client.post("/api/v1/communities", headers=admin, json={"name": f"bench {index}"}).json["id"]
            communities.append(community)
            started = time.perf_counter()
            content, phones = roster(args.units, args.residents, index * args.residents, rng)
            built = time.perf_counter() - started
            all_phones += phones
            manager = auth_header(settings, "cs_manager", communities=[community])

            def post(dry_run: bool, content=content, community=community, manager=manager):
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/imports",
                    headers=manager,
                    query_string={"community_id": community, "dry_run": str(dry_run).lower()},
                    data={"file": (io.BytesIO(content), "roster.xlsx")},
                    content_type="multipart/form-data",
                )
                assert response.status_code == 200, response.json.get("detail")
                return time.perf_counter() - started, response.json

            dry_seconds, _ = post(True)
            import_seconds, summary = post(False)
            again_seconds, again = post(False)
            assert again["residents"]["created"] == 0 and again["units"]["created"] == 0
            run = {
                "community": index,
                "xlsx_bytes": len(content),
                "xlsx_build_s": round(built, 2),
                "dry_run_s": round(dry_seconds, 2),
                "import_s": round(import_seconds, 2),
                "reimport_unchanged_s": round(again_seconds, 2),
                "created": {k: summary[k]["created"] for k in ("buildings", "units", "residents")},
            }
            results["imports"].append(run)
            print(json.dumps(run, ensure_ascii=False))

        manager = auth_header(settings, "cs_manager", communities=communities)
        sample = rng.sample(all_phones, min(args.searches, len(all_phones)))
        for phone in sample[:50]:  # warm the connection pool and the plan cache
            client.get("/api/v1/residents", headers=manager, query_string={"q": phone})
        timings = []
        for phone in sample:
            started = time.perf_counter()
            response = client.get("/api/v1/residents", headers=manager, query_string={"q": phone[3:]})
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200 and response.json["total"] == 1, response.json.get("detail")
        results["search_by_phone_ms"] = {
            "searches": len(timings),
            "p50": round(statistics.median(timings), 2),
            "p99": round(percentile(timings, 99), 2),
            "max": round(max(timings), 2),
        }
        print(json.dumps(results["search_by_phone_ms"]))
    finally:
        if not args.keep:
            # Close our own pooled connections first so DROP DATABASE is not refused.
            client.application.extensions["guanjia.db"].dispose()
            try:
                drop_postgres_database(url)
            except Exception as exc:  # noqa: BLE001 - a leftover scratch database is not worth a traceback
                print(f"(could not drop {url}: {exc})")

    (HERE / "results").mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (HERE / "results" / f"residents-{stamp}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    first = results["imports"][0]
    search = results["search_by_phone_ms"]
    print()
    print("| measure | figure |")
    print("|---|---|")
    print(
        f"| XLSX roster ({args.units:,} units, {args.residents:,} residents, {first['xlsx_bytes'] / 1e6:.1f} MB) "
        f"import, all-or-nothing | {first['import_s']} s (second community: {results['imports'][1]['import_s']} s) |"
    )
    print(f"| same file, dry run | {first['dry_run_s']} s |")
    print(f"| same file re-imported (nothing changes) | {first['reimport_unchanged_s']} s |")
    print(
        f"| search by phone over {2 * args.residents:,} residents, {search['searches']} queries | "
        f"p50 {search['p50']} ms, p99 {search['p99']} ms |"
    )


if __name__ == "__main__":
    main()
