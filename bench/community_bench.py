"""Benchmark the community service on PostgreSQL: the survey report (close → analysis) over 20,000 answers, and the
knowledge-base search (Chinese substring) over 10,000 entries, p50/p99 — through the service's HTTP API (in-process
WSGI, no network), against a floor of `GET /healthz` on the same app.

Usage: .venv/bin/python bench/community_bench.py [--answers 20000] [--entries 10000] [--searches 500]
Creates a scratch database bench_community_<hex> (dropped afterwards unless --keep), prints a Markdown table and
writes bench/results/community-<timestamp>.json. The households and answers are written in bulk (they are the
fixture); the report and the searches go through the API. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from residents_import_search import percentile  # bench/ is on the path of a script run from it
from sqlalchemy import text

from guanjia.config import Settings
from guanjia.db import drop_postgres_database, ensure_postgres_database, upgrade, utcnow
from guanjia.testing import TEST_JWT_PRIVATE_KEY, TEST_SERVICE_KEY, auth_header

HERE = Path(__file__).resolve().parent
PG = os.environ.get("GUANJIA_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
WORDS = "漏水 停车 物业费 装修 电梯 门禁 快递 绿化 保洁 噪音 燃气 供暖 宠物 垃圾 维修 押金 车位 监控 水压 路灯".split()


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    url = f"{PG}/bench_community_{uuid.uuid4().hex[:6]}"
    ensure_postgres_database(url)
    from community.app import create_app
    from community.models import KnowledgeEntry, SurveyAnswer, Unit, Zone
    from community.service import SPEC

    upgrade(url, SPEC.migrations_dir)
    settings = Settings(
        service="community",
        database_url=url,
        city="bench",
        jwt_private_key=TEST_JWT_PRIVATE_KEY,
        service_key=TEST_SERVICE_KEY,
        pii_key="bench-pii-key",
    )
    app = create_app(settings)
    client, database = app.test_client(), app.extensions["guanjia.db"]
    rng = random.Random(7)
    community = str(uuid.uuid4())
    manager = auth_header(settings, "cs_manager", communities=[community])
    results: dict = {"answers": args.answers, "entries": args.entries}
    try:
        now = utcnow()
        zones = [str(uuid.uuid4()) for _ in range(10)]
        units = [str(uuid.uuid4()) for _ in range(args.answers)]
        with database.transaction() as session:
            session.add_all(
                Zone(id=z, community_id=community, name=f"{i + 1}区", source_time=now) for i, z in enumerate(zones)
            )
            session.add_all(
                Unit(
                    id=u,
                    community_id=community,
                    zone_id=zones[i % 10],
                    label=f"{i // 200 + 1}栋{i % 200}",
                    source_time=now,
                )
                for i, u in enumerate(units)
            )
        lines = ["customer_service", "maintenance", "security", "cleaning", "greening"]
        questions = [{"service_line": line, "kind": "scale_5", "text": f"{line} 满意度"} for line in lines]
        questions += [
            {"service_line": "overall", "kind": "nps", "text": "推荐度"},
            {"service_line": "overall", "kind": "single", "text": "是否续聘", "options": ["是", "否"]},
            {"service_line": "overall", "kind": "text", "text": "意见", "required": False},
        ]
        survey = client.post(
            "/api/v1/surveys",
            headers=manager,
            json={"community_id": community, "title": "bench", "questions": questions, "low_score": 1},
        ).json
        opened = client.post(f"/api/v1/surveys/{survey['id']}/open", headers=manager)
        assert opened.status_code == 200 and opened.json["households"] == args.answers, opened.json
        ids = [q["id"] for q in opened.json["questions"]]
        with database.transaction() as session:
            session.add_all(
                SurveyAnswer(
                    id=str(uuid.uuid4()),
                    survey_id=survey["id"],
                    unit_id=u,
                    zone_id=zones[i % 10],
                    channel="phone",
                    answers=json.dumps(
                        {
                            **{qid: rng.randint(2, 5) for qid in ids[:5]},
                            ids[5]: rng.randint(0, 10),
                            ids[6]: rng.choice(["是", "否"]),
                            **({ids[7]: "希望加强" + rng.choice(WORDS)} if i % 10 == 0 else {}),
                        },
                        ensure_ascii=False,
                    ),
                    recorded_by="bench",
                    created_at=now,
                )
                for i, u in enumerate(units)
            )
        close_ms, closed = timed(lambda: client.post(f"/api/v1/surveys/{survey['id']}/close", headers=manager))
        assert closed.status_code == 200, closed.json
        report_ms, report = timed(lambda: client.get(f"/api/v1/surveys/{survey['id']}/report", headers=manager))
        assert report.json["answered"] == args.answers
        xlsx_ms, xlsx = timed(
            lambda: client.get(
                f"/api/v1/surveys/{survey['id']}/report", headers=manager, query_string={"format": "xlsx"}
            )
        )
        assert xlsx.status_code == 200
        results["survey"] = {
            "close_and_analyse_ms": round(close_ms),
            "report_json_ms": round(report_ms),
            "report_xlsx_ms": round(xlsx_ms),
        }
        print(json.dumps(results["survey"]))

        review_by = date.today() + timedelta(days=90)
        with database.transaction() as session:
            session.add_all(
                KnowledgeEntry(
                    id=str(uuid.uuid4()),
                    community_id=community,
                    category="other",
                    question=f"第{i}问：{rng.choice(WORDS)}{rng.choice(WORDS)}怎么办？",
                    answer=f"关于{rng.choice(WORDS)}的处理办法：请联系物业服务中心，{rng.choice(WORDS)}由相关单位负责。"
                    * 3,
                    responsible_party="property_company",
                    status="published",
                    review_by=review_by,
                    created_by="bench",
                    updated_by="bench",
                    created_at=now,
                    updated_at=now,
                )
                for i in range(args.entries)
            )
        with database.transaction() as session:  # what autovacuum does soon after a bulk load: the planner's figures
            session.execute(text("ANALYZE knowledge_entries"))
        resident = auth_header(settings, "resident", communities=[community], units=[units[0]], resident_id="r")
        for _ in range(20):  # warm the pool and the plan cache
            client.get("/api/v1/knowledge", headers=resident, query_string={"community_id": community, "q": "漏水"})
        timings, floor = [], []
        for _ in range(args.searches):
            query = {"community_id": community, "q": rng.choice(WORDS)}
            ms, response = timed(
                lambda query=query: client.get("/api/v1/knowledge", headers=resident, query_string=query)
            )
            assert response.status_code == 200 and response.json["total"] > 0
            timings.append(ms)
            floor.append(timed(lambda: client.get("/healthz"))[0])
        results["search_ms"] = {
            "searches": len(timings),
            "p50": round(statistics.median(timings), 2),
            "p99": round(percentile(timings, 99), 2),
            "floor_healthz_p50": round(statistics.median(floor), 2),
        }
        print(json.dumps(results["search_ms"]))
    finally:
        if not args.keep:
            database.dispose()
            try:
                drop_postgres_database(url)
            except Exception as exc:  # noqa: BLE001 - a leftover scratch database is not worth a traceback
                print(f"(could not drop {url}: {exc})")

    (HERE / "results").mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (HERE / "results" / f"community-{stamp}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    survey_figures, search = results["survey"], results["search_ms"]
    print()
    print("| measure | figure |")
    print("|---|---|")
    print(
        f"| close a survey of {args.answers:,} answers (analysis report made) | {survey_figures['close_and_analyse_ms']} ms (target ≤ 2 s) |"
    )
    print(
        f"| its report, JSON / XLSX | {survey_figures['report_json_ms']} ms / {survey_figures['report_xlsx_ms']} ms |"
    )
    print(
        f"| knowledge search over {args.entries:,} entries, {search['searches']} Chinese queries | "
        f"p50 {search['p50']} ms, p99 {search['p99']} ms (target p99 ≤ 50 ms; floor `GET /healthz` p50 {search['floor_healthz_p50']} ms) |"
    )


if __name__ == "__main__":
    main()
