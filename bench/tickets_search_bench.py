"""Ticket free-text search over 1,000,000 tickets with Chinese descriptions and notes (issue 17): p50/p99 of
`GET /api/v1/tickets?q=…` as a manager and as a butler, for a rare phrase, a common one, a two-character word,
two words, a ticket number, a phrase only in notes.

Usage: .venv/bin/python bench/tickets_search_bench.py [--tickets 1000000] [--notes 200000] [--requests 40] [--keep]
       [--reuse]

Loads a scratch PostgreSQL database (guanjia_bench_tickets_search, migrated) with `bench/tickets_bench.py`'s
generator (50 communities, 10 zones each, a year of tickets) and descriptions made of a place, a problem and a
remark (`3号楼大堂门禁刷卡失灵，请尽快处理`: 17 × 31 × 11 combinations; each problem is in about 1 ticket in 31,
`门禁刷卡` also), then notes on every fifth ticket (one in 200 of them with `阀门型号DN25`); the text indexes (trigrams, character pairs) are built after the load. The floor, in the
same run: the same list without `q`. Target: p99 ≤ 100 ms. Writes bench/results/tickets_search.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from tickets_bench import load, pct, scratch_app, timed

from guanjia.db import drop_postgres_database, ensure_postgres_database, upgrade

SERVER = os.environ.get("GUANJIA_BENCH_DATABASE_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
URL = f"{SERVER}/guanjia_bench_tickets_search"
PLACES = ("1号楼", "2号楼", "3号楼大堂", "地下车库", "5栋电梯厅", "东门", "西门岗亭", "会所", "游泳池", "儿童乐园",
          "6栋12楼", "7栋天台", "垃圾房", "北区花园", "南区道闸", "配电房", "水泵房")  # fmt: skip
PROBLEMS = ("卫生间漏水", "天花板渗水", "门禁刷卡失灵", "电梯异响", "路灯不亮", "下水道堵塞", "墙面开裂", "噪音扰民",
            "停车位被占", "垃圾未清运", "绿化带枯死", "窗户关不上", "水压太低", "暖气不热", "外墙脱落", "楼道积水",
            "宠物扰民", "监控摄像头损坏", "道闸不抬杆", "消防通道堵塞", "水管爆裂", "燃气味道", "电表跳闸",
            "信箱损坏", "单元门关不严", "地砖空鼓", "防盗门锁坏", "空调外机滴水", "装修噪音", "快递柜故障",
            "蚊虫太多")  # fmt: skip
REMARKS = ("请尽快处理", "已经第二次了", "业主很着急", "晚上八点后在家", "请先电话联系", "", "希望今天解决",
           "孩子在家", "老人独居", "周末也可以", "麻烦师傅带工具")  # fmt: skip
NOTES = ("已联系维修师傅上门查看", "业主不在家，约明天再去", "更换密封圈后观察两天", "已报物业经理协调",
         "材料已订购，预计周五到货", "回访业主表示满意")  # fmt: skip


def _array(values) -> str:
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]"


DESCRIPTION = (
    f"({_array(PLACES)})[1 + g % {len(PLACES)}] || ({_array(PROBLEMS)})[1 + (g / {len(PLACES)}) % {len(PROBLEMS)}]"
    f" || '，' || ({_array(REMARKS)})[1 + (g / {len(PLACES) * len(PROBLEMS)}) % {len(REMARKS)}]"
)
# The text indexes, dropped for the load and built after it (faster than keeping them up row by row).
TEXT_INDEXES = {
    "ix_tickets_description_trgm": "tickets USING gin (description gin_trgm_ops)",
    "ix_ticket_notes_body_trgm": "ticket_notes USING gin (body gin_trgm_ops)",
    "ix_tickets_description_bigrams": "tickets USING gin (ticket_bigrams(description))",
    "ix_ticket_notes_body_bigrams": "ticket_notes USING gin (ticket_bigrams(body))",
}


def load_all(engine, tickets: int, notes: int) -> None:
    with engine.begin() as conn:
        for name in TEXT_INDEXES:
            conn.execute(text(f"DROP INDEX {name}"))
    load(engine, tickets, 0, DESCRIPTION)
    with engine.begin() as conn:
        conn.execute(
            text(f"""
            INSERT INTO ticket_notes (id, ticket_id, kind, visibility, body, author, created_at)
            SELECT gen_random_uuid()::text, id, 'note', CASE WHEN seq % 2 = 0 THEN 'internal' ELSE 'resident' END,
                ({_array(NOTES)})[1 + seq % {len(NOTES)}] || CASE WHEN seq % 1000 = 507 THEN '，补充：阀门型号DN25' ELSE '' END,
                'butler', created_at + interval '1 hour'
            FROM tickets WHERE seq % 5 = 2 LIMIT :n
            """),
            {"n": notes},
        )
        for name, definition in TEXT_INDEXES.items():
            conn.execute(text(f"CREATE INDEX {name} ON {definition}"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--notes", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=40, help="per query")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()

    from tickets.service import SPEC

    if not args.reuse:
        drop_postgres_database(URL)
        ensure_postgres_database(URL)
        upgrade(URL, SPEC.migrations_dir)
        engine = create_engine(URL)
        started = time.perf_counter()
        load_all(engine, args.tickets, args.notes)
        print(f"loaded {args.tickets} tickets and {args.notes} notes in {time.perf_counter() - started:.0f} s")
        engine.dispose()
    print(f"load average {Path('/proc/loadavg').read_text().split()[:3]}")

    app, client, header = scratch_app(URL)

    manager = header("cs_manager", "mgr-7", communities=("c-7",))
    butler = header("butler", "butler-7-3", communities=("c-7",), zones=("z-7-3", "z-7-4"))
    admin = header("admin", "admin")
    cases = {
        "floor: manager's list, no q": ("/api/v1/tickets", manager),
        "manager: 门禁刷卡 (3+ chars)": ("/api/v1/tickets?q=门禁刷卡", manager),
        "manager: 监控摄像头损坏 (long phrase)": ("/api/v1/tickets?q=监控摄像头损坏", manager),
        "manager: 漏水 (2 chars)": ("/api/v1/tickets?q=漏水", manager),
        "manager: 漏水 尽快 (two words)": ("/api/v1/tickets?q=漏水 尽快", manager),
        "manager: 阀门型号DN25 (only in notes)": ("/api/v1/tickets?q=阀门型号DN25", manager),
        "manager: ticket number": ("/api/v1/tickets?q=T00012357", manager),
        "butler: 电梯异响 in own zones": ("/api/v1/tickets?q=电梯异响", butler),
        "admin: 快递柜故障, whole instance": ("/api/v1/tickets?q=快递柜故障", admin),
    }
    results = {"tickets": args.tickets, "notes": args.notes, "queries": {}}
    floor_p99 = None
    for name, (path, headers) in cases.items():
        timed(client, path, headers, 3)  # warm-up
        samples = timed(client, path, headers, args.requests)
        total = client.get(path, headers=headers).json["total"]
        p50, p99 = pct(samples, 0.5), pct(samples, 0.99)
        floor_p99 = floor_p99 or p99
        results["queries"][name] = {
            "p50_ms": p50,
            "p99_ms": p99,
            "total": total,
            "ratio_p99": round(p99 / floor_p99, 1),
        }
        print(f"{name:40s} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  ({p99 / floor_p99:4.1f}× floor)  {total} found")
    results["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "tickets_search.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    app.extensions["guanjia.db"].dispose()
    if not args.keep:
        drop_postgres_database(URL)


if __name__ == "__main__":
    main()
