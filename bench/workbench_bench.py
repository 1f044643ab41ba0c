"""Workbench benchmark: server time of the butler's home and the ticket list over 1,000,000 tickets, and the weight
of a first load.

Usage: .venv/bin/python bench/workbench_bench.py [--tickets 1000000] [--requests 200] [--keep] [--reuse]

Loads a scratch tickets database (bench/tickets_bench.py's generator; guanjia_bench_wb_tickets), runs the whole
instance in this process — gateway, every service and the workbench as WSGI apps on PostgreSQL (the other services'
databases are scratch ones), the workbench calling the gateway in-process as in embedded mode — signs a butler in
through the workbench's form, and times GET / and GET /tickets (routing, session, token refresh check, every API
call the page makes through the gateway, rendering; no HTTP server, no network). The floor of the same run is the
single API call the ticket list rests on (GET /api/v1/tickets through the gateway). Then it adds up the bytes of
a first load (HTML and every asset it references) and checks that nothing references another host.
Target (issue 11): p99 ≤ 300 ms, first load ≤ 300 KB, no request to another host.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tickets_bench import COMMUNITIES, SERVER, load, pct  # noqa: E402

from guanjia.db import drop_postgres_database, ensure_postgres_database, upgrade  # noqa: E402

TICKETS_URL = f"{SERVER}/guanjia_bench_wb_tickets"
BUTLER_OF = ("c-7", "z-7-3", "butler-7-3")  # community, zone and first-responder id of the generated data


def timed(client, path: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:300])
    return samples


def first_load(client, path: str) -> dict:
    """Bytes of the page and of every asset it references (as a browser with an empty cache fetches them)."""
    page = client.get(path)
    html = page.get_data()
    text_ = html.decode()
    refs = re.findall(r'(?:src|href)="([^"]+)"', text_)
    foreign = [r for r in refs if r.startswith(("http:", "https:", "//"))]
    assets = sorted({r for r in refs if r.startswith("/static/")} | {"/favicon.ico"})
    total, compressed, found = len(html), len(gzip.compress(html)), {}
    for asset in assets:
        body = client.get(asset).get_data()
        if asset.endswith(".css"):
            foreign += [u for u in re.findall(r"url\(([^)]+)\)", body.decode()) if "//" in u]
        found[asset] = len(body)
        total += len(body)
        compressed += len(gzip.compress(body))
    return {"bytes": total, "gzip_bytes": compressed, "assets": found, "foreign_references": foreign}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the loaded tickets database for another run")
    parser.add_argument("--reuse", action="store_true", help="reuse a tickets database kept with --keep")
    args = parser.parse_args()

    from tickets.service import SPEC as TICKETS

    if not args.reuse:
        drop_postgres_database(TICKETS_URL)
        ensure_postgres_database(TICKETS_URL)
        upgrade(TICKETS_URL, TICKETS.migrations_dir)
        engine = create_engine(TICKETS_URL)
        started = time.perf_counter()
        load(engine, args.tickets, 1000)
        print(f"loaded {args.tickets} tickets in {time.perf_counter() - started:.0f} s")
        engine.dispose()

    from guanjia import config, http
    from guanjia.runtime import migrate
    from guanjia.service import load_specs
    from guanjia.testing import TEST_RATE_LIMITS_ENV

    tag = uuid.uuid4().hex[:6]
    scratch = f"{SERVER}/guanjia_bench_wb{tag}_{{service}}"
    env = {
        "GUANJIA_DATABASE_URL": scratch,
        "GUANJIA_TICKETS_DATABASE_URL": TICKETS_URL,
        "GUANJIA_VAR_DIR": f"/tmp/guanjia-bench-wb-{tag}",
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
        results = run(gateway, args, settings)
    finally:
        for name in specs:
            if name != "tickets":
                drop_postgres_database(scratch.format(service=name))
        if not args.keep:
            drop_postgres_database(TICKETS_URL)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "workbench.json").write_text(json.dumps(results, indent=2))


def run(gateway, args, settings) -> dict:
    community, zone, responder = BUTLER_OF
    api = gateway.test_client()
    admin = api.post("/api/v1/auth/token", json={"username": "admin", "password": "bench-admin-password"}).json
    admin_h = {"Authorization": f"Bearer {admin['access_token']}"}

    def created(path: str, body: dict) -> dict:
        answer = api.post(path, headers=admin_h, json=body)
        assert answer.status_code == 201, (path, answer.status_code, answer.get_data(as_text=True)[:300])
        return answer.json

    # The generated tickets name a community and zone that residents does not know: make them, and rename.
    real_community = created("/api/v1/communities", {"name": "压测小区"})["id"]
    real_zone = created("/api/v1/zones", {"community_id": real_community, "name": "压测一区"})["id"]
    butler = created(
        "/api/v1/users",
        {
            "username": "bench-butler",
            "password": "quiet-garden-walk-9",
            "role": "butler",
            "display_name": "压测管家",
            "communities": [real_community],
            "zones": [real_zone],
        },
    )
    # The generated tickets name their butler by a made-up id: give this zone's to the real account.
    engine = create_engine(TICKETS_URL)
    with engine.begin() as conn:
        # A reused database (--reuse) holds the previous run's ids instead of the generated ones.
        community, zone, responder = (
            conn.execute(
                text(f"SELECT {column} FROM tickets WHERE {column} = :g OR {column} NOT LIKE :p LIMIT 1"),
                {"g": g, "p": p},
            ).scalar()
            for column, g, p in (
                ("community_id", community, "c-%"),
                ("zone_id", zone, "z-%"),
                ("first_responder", responder, "butler-%"),
            )
        )
        conn.execute(
            text("UPDATE tickets SET community_id = :new WHERE community_id = :old"),
            {"new": real_community, "old": community},
        )
        conn.execute(text("UPDATE tickets SET zone_id = :new WHERE zone_id = :old"), {"new": real_zone, "old": zone})
        conn.execute(
            text("UPDATE tickets SET first_responder = :me, assignee_id = :me WHERE first_responder = :old"),
            {"me": butler["id"], "old": responder},
        )
        mine = conn.execute(
            text("SELECT count(*) FROM tickets WHERE assignee_id = :me AND status IN ('new','assigned','in_progress')"),
            {"me": butler["id"]},
        ).scalar()
        total = conn.execute(text("SELECT count(*) FROM tickets")).scalar()
    engine.dispose()
    print(f"{total} tickets in {COMMUNITIES} communities; the bench butler holds {mine} open ones")

    web = gateway.test_client()
    form = web.get("/signin").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    signed = web.post(
        "/signin", data={"username": "bench-butler", "password": "quiet-garden-walk-9", "csrf_token": csrf}
    )
    assert signed.status_code == 303, signed.get_data(as_text=True)[:300]

    token = api.post("/api/v1/auth/token", json={"username": "bench-butler", "password": "quiet-garden-walk-9"}).json
    bearer = {"Authorization": f"Bearer {token['access_token']}"}

    def api_list():
        samples = []
        for _ in range(args.requests):
            started = time.perf_counter()
            assert api.get("/api/v1/tickets?page_size=50", headers=bearer).status_code == 200
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    results = {"tickets": total, "butler_open_tickets": mine, "pages": {}}
    cases = {
        "floor: GET /api/v1/tickets (the list's one API call)": None,
        "butler: GET / (home)": "/",
        "butler: GET /tickets (list, 50 rows)": "/tickets",
        "butler: GET /tickets?status=in_progress&sla=breached": "/tickets?status=in_progress&sla=breached",
    }
    for name, path in cases.items():
        if path is None:
            api_list()
            samples = api_list()
        else:
            timed(web, path, 5)  # warm-up: pools, plan cache, template compilation
            samples = timed(web, path, args.requests)
        results["pages"][name] = {"p50_ms": pct(samples, 0.5), "p99_ms": pct(samples, 0.99)}
        print(f"{name:56s} p50 {pct(samples, 0.5):7.2f} ms   p99 {pct(samples, 0.99):7.2f} ms")

    weight = first_load(gateway.test_client(), "/signin")
    home = first_load(web, "/")
    results["first_load"] = {"signin": weight, "home": home}
    for name, found in (("sign-in page", weight), ("butler's home", home)):
        print(
            f"first load of the {name}: {found['bytes'] / 1024:.1f} KB ({found['gzip_bytes'] / 1024:.1f} KB gzipped), "
            f"references to other hosts: {found['foreign_references'] or 'none'}"
        )
    return results


if __name__ == "__main__":
    main()
