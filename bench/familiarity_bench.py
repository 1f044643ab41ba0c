"""Familiarity benchmark: the residents service's zone familiarity over 100,000 households, as the managers'
dashboard asks it (GET /api/v1/communities/{id}/familiarity?days=90, issue 16), through the service's HTTP API
(in-process WSGI, no network).

Usage: .venv/bin/python bench/familiarity_bench.py [--units 100000] [--requests 30] [--keep]
Loads dashboard_bench's residents (20 zones, one moved-in resident a unit, ~1.5 contact-log rows a unit over the
last 120 days) into a scratch database bench_familiarity_<hex> (dropped afterwards unless --keep). The floor of the
same run is GET /api/v1/communities/{id} (the same token check, scope check and transaction, one row). Also times
one zone's familiarity and a month of butler familiarity. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dashboard_bench import ZONES, load_residents  # noqa: E402
from tickets_bench import SERVER, pct  # noqa: E402

from guanjia.config import Settings  # noqa: E402
from guanjia.db import drop_postgres_database, ensure_postgres_database, upgrade  # noqa: E402
from guanjia.testing import TEST_JWT_PRIVATE_KEY, TEST_SERVICE_KEY, auth_header  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (for EXPLAIN), print it")
    args = parser.parse_args()

    from residents.app import create_app
    from residents.service import SPEC

    url = f"{SERVER}/{os.environ.get('GUANJIA_BENCH_DATABASE_PREFIX', 'bench')}_familiarity_{uuid.uuid4().hex[:6]}"
    ensure_postgres_database(url)
    try:
        upgrade(url, SPEC.migrations_dir)
        settings = Settings(
            service="residents",
            database_url=url,
            jwt_private_key=TEST_JWT_PRIVATE_KEY,
            service_key=TEST_SERVICE_KEY,
            pii_key="bench-pii-key",
        )
        client = create_app(settings, upstreams={}).test_client()
        admin = auth_header(settings, "admin")
        community = client.post("/api/v1/communities", headers=admin, json={"name": "压测小区"}).json["id"]
        zones = [
            client.post("/api/v1/zones", headers=admin, json={"community_id": community, "name": f"{n + 1}区"}).json[
                "id"
            ]
            for n in range(ZONES)
        ]
        client.patch(f"/api/v1/zones/{zones[0]}", headers=admin, json={"butler_ids": ["bench-butler"]})
        started = time.perf_counter()
        load_residents(url, community, zones, args.units)
        print(f"loaded {args.units} units in {time.perf_counter() - started:.0f} s")

        manager = auth_header(settings, "cs_manager", communities=[community])
        month = date.today().strftime("%Y-%m")
        calls = {
            "floor: GET /communities/{id}": (f"/api/v1/communities/{community}", manager),
            "GET /communities/{id}/familiarity?days=90": (
                f"/api/v1/communities/{community}/familiarity?days=90",
                manager,
            ),
            "GET /zones/{id}/familiarity?days=90": (f"/api/v1/zones/{zones[0]}/familiarity?days=90", manager),
            "GET /internal/residents/butler-familiarity": (
                f"/api/v1/internal/residents/butler-familiarity?community_id={community}&month={month}",
                auth_header(settings, "service"),
            ),
        }
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for name, (path, headers) in calls.items():
            for _ in range(3):  # warm-up: pool, plan cache
                assert client.get(path, headers=headers).status_code == 200, path
            samples = []
            for _ in range(args.requests):
                begun = time.perf_counter()
                answer = client.get(path, headers=headers)
                samples.append((time.perf_counter() - begun) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            print(f"{name:48s} p50 {pct(samples, 0.5):8.1f} ms   p99 {pct(samples, 0.99):8.1f} ms")
        # The figures themselves, to compare runs of different code on the same data.
        items = client.get(calls["GET /communities/{id}/familiarity?days=90"][0], headers=manager).json["items"]
        print("totals", {k: sum(i[k] for i in items) for k in ("households", "contacted", "effective")})
        # Without the ids (new every run): the same data must give the same figures whatever the code.
        figures = sorted(tuple(v for k, v in sorted(i.items()) if not k.endswith("_id")) for i in items)
        print("figures sha256", hashlib.sha256(repr(figures).encode()).hexdigest()[:12])
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if args.keep:
            print("kept", url)
        else:
            drop_postgres_database(url)


if __name__ == "__main__":
    main()
