"""What observability costs (issue 8): request overhead of multiprocess metrics, /metrics scrape time, and the
scrape-time outbox backlog query with an empty and with a large backlog.

    .venv/bin/python bench/observability_bench.py [--duration 8] [--backlog 100000]

Needs wrk (Debian package) and the local PostgreSQL (postgres@127.0.0.1:5432, trust). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests

APP = """
from guanjia.config import Settings
from guanjia.web import create_flask_app

app, _api = create_flask_app(Settings(service="bench", database_url="sqlite://"), title="bench")
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn(tmp: Path, multiproc: bool, workers: int):
    (tmp / "benchapp.py").write_text(textwrap.dedent(APP))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(tmp)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if multiproc:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp / f"prom-{uuid.uuid4().hex[:6]}")
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:guanjia.gunicorn_hooks", "benchapp:app"]
    argv += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "gthread", "--threads", "8"]
    proc = subprocess.Popen(argv, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                return proc, base
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def wrk(url: str, duration: int, concurrency: int = 8) -> float:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{duration}s", url], capture_output=True, text=True, check=True
    ).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def scrape_ms(url: str, n: int = 200) -> tuple[float, float, int]:
    times = []
    size = 0
    with requests.Session() as session:
        for _ in range(n):
            started = time.perf_counter()
            body = session.get(url + "/metrics", timeout=10).content
            times.append((time.perf_counter() - started) * 1000)
            size = len(body)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], size


def http_overhead(duration: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for multiproc in (False, True):
            proc, base = gunicorn(Path(tmp), multiproc, workers=2)
            try:
                wrk(base + "/healthz", 2)  # warm up both workers
                rps = wrk(base + "/healthz", duration)
                p50, p95, size = scrape_ms(base)
            finally:
                proc.terminate()
                proc.wait(20)
            rows.append(
                {
                    "multiprocess": multiproc,
                    "healthz_rps": rps,
                    "scrape_p50_ms": p50,
                    "scrape_p95_ms": p95,
                    "scrape_bytes": size,
                }
            )
    return rows


def backlog_query(backlog: int) -> list[dict]:
    from sqlalchemy import MetaData

    from guanjia import events, metrics, outbox
    from guanjia.config import Settings
    from guanjia.db import Database, drop_postgres_database, ensure_postgres_database

    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/guanjia_bench_obs_{uuid.uuid4().hex[:6]}"
    ensure_postgres_database(url)
    database = Database(url)
    rows = []
    try:
        metadata = MetaData()
        table = outbox.define_outbox(metadata)
        metadata.create_all(database.engine)
        collector = metrics.ServiceStateCollector(Settings(service="bench", database_url=url), database)
        for size in (0, backlog):
            if size:
                event = events.build(type="bench.happened", source="/b/b", subject="b/1", data={}, city="b")
                payload = json.dumps(event)
                now = datetime.now(UTC)
                with database.engine.begin() as conn:
                    conn.execute(
                        table.insert(),
                        [
                            {
                                "id": str(uuid.uuid4()),
                                "event_type": "bench.happened",
                                "payload": payload,
                                "created_at": now,
                                "attempts": 0,
                            }
                            for _ in range(size)
                        ],
                    )
                    conn.exec_driver_sql("ANALYZE outbox")
            times = []
            for _ in range(30):
                started = time.perf_counter()
                count, _age = collector._read_outbox()
                times.append((time.perf_counter() - started) * 1000)
            assert count == size
            rows.append({"backlog": size, "query_p50_ms": statistics.median(times), "query_max_ms": max(times)})
    finally:
        database.dispose()
        drop_postgres_database(url)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--backlog", type=int, default=100_000)
    args = parser.parse_args()
    http = http_overhead(args.duration)
    backlog = backlog_query(args.backlog)
    print(
        "| metrics mode (gunicorn 2 workers × 8 threads) | GET /healthz req/s (wrk c=8) | /metrics p50 | p95 | size |"
    )
    print("|---|---|---|---|---|")
    for row in http:
        mode = "multiprocess (PROMETHEUS_MULTIPROC_DIR)" if row["multiprocess"] else "per process (default)"
        print(
            f"| {mode} | {row['healthz_rps']:.0f} | {row['scrape_p50_ms']:.1f} ms | {row['scrape_p95_ms']:.1f} ms "
            f"| {row['scrape_bytes']} B |"
        )
    print()
    print("| unpublished outbox rows | backlog gauge query p50 | max |")
    print("|---|---|---|")
    for row in backlog:
        print(f"| {row['backlog']:,} | {row['query_p50_ms']:.2f} ms | {row['query_max_ms']:.2f} ms |")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "observability.json").write_text(json.dumps({"http": http, "backlog": backlog}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
