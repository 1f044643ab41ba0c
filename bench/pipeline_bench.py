"""Benchmark the whole pipeline (issue 22): CPU per ticket of every process, and the highest rate it keeps up with.

Usage: .venv/bin/python bench/pipeline_bench.py [--rates 40,80,120,160] [--seconds 30] [--warmup 8] [--search]
       [--profile RATE] [--provider aliyun|console] [--web-workers 2]
Starts the distributed stack as bench/run.py does (gunicorn per service + one `guanjia worker` each, on PostgreSQL
and RabbitMQ), with the SMS going to a fake Aliyun API in a process of its own (`--provider console` logs them
instead). For each rate: an open loop of `POST /api/v1/tickets` through the gateway (a load-generator process of
its own, keep-alive connections), CPU read from /proc for every process group over the steady window (after
`--warmup` s), then the SMS of every ticket awaited. Per rate it prints ms of CPU per ticket per process, the
product's total (the stack, its PostgreSQL backends, RabbitMQ above its idle rate) and the total with the load
generator and the fake provider, commit → SMS latency per quarter of the run, and whether the pipeline kept up.
`--search` goes on doubling past the last rate while it keeps up, then bisects twice. `--profile RATE` runs one more
step with py-spy attached to the stack's Python processes and prints each one's largest functions (py-spy's own CPU
makes that step's figures not comparable). Writes bench/results/pipeline-<timestamp>.json. Not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
# Python thread names in the workers (guanjia.runtime.Worker and the SMS sender pool) → the part they are.
THREAD_PARTS = [
    (re.compile(r"-consumer$"), "consumer"),
    (re.compile(r"-relay-\d+$"), "relay"),
    (re.compile(r"^sms-send"), "senders"),
    (re.compile(r"dispatch"), "dispatcher"),
]


GRACE_SECONDS = 3.0  # a request not sent by this long after the run's end is dropped (the stack fell behind)


# -- the load generator (a process of its own, so that its CPU is its own) -----------------------------------------
def generate(config: dict) -> dict:
    """Open loop: request i is due at start + i / rate; `connections` threads on keep-alive connections take the
    next due request. A request sent late means every connection was busy (the stack answered too slowly) or this
    process got no CPU."""
    host, port = config["host"], config["port"]
    body = json.dumps(config["body"]).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {config['token']}"}
    total, rate, start = int(config["rate"] * config["seconds"]), config["rate"], config["start_at"]
    lock = threading.Lock()
    state = {"next": 0}
    records: list[tuple] = []  # (due offset s, lateness ms, latency ms, status, ticket id)

    def loop() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= total:
                break
            due = start + i / rate
            if time.time() > start + config["seconds"] + GRACE_SECONDS:
                continue  # the run is over: a request this late is not sent (counted as unsent)
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            sent = time.time()
            status, ticket = 0, None
            try:
                conn.request("POST", "/api/v1/tickets", body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
                if status == 201:
                    ticket = json.loads(payload)["id"]
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
            records.append((i / rate, (sent - due) * 1000, (time.time() - sent) * 1000, status, ticket))
        conn.close()

    threads = [threading.Thread(target=loop) for _ in range(config["connections"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"records": records, "unsent": total - len(records)}


def load_fakes():
    from notifications_overdue import load_fakes

    return load_fakes()


def template_codes() -> dict:
    from notifications_overdue import template_codes

    return template_codes()


def serve_sms() -> int:
    """Child process: the fake Aliyun SMS API (signatures and template variables checked), keep-alive."""
    fakes = load_fakes()
    from notifications.templates import TEMPLATES

    server = fakes.FakeSmsServer()
    server.fake.templates["aliyun"] = {code: TEMPLATES[key].variables for key, code in template_codes().items()}
    server.httpd.RequestHandlerClass.protocol_version = "HTTP/1.1"
    # Nothing reads what it accepted (the deliveries are the record): keep its lists from growing for hours.
    server.fake.accept = lambda provider, phone, **details: f"{int(time.time() * 1000)}^{uuid.uuid4().int % 10**10}"
    print(f"READY {server.url}", flush=True)
    server.httpd.serve_forever()
    return 0


# -- CPU from /proc -------------------------------------------------------------------------------------------------
def _stat(path: str) -> tuple[int, int, str] | None:
    """(process group, utime + stime in ticks, command name) of /proc/<pid>[/task/<tid>]/stat."""
    try:
        raw = Path(path).read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2 :].split()
    return int(rest[2]), int(rest[11]) + int(rest[12]), comm


class Meter:
    """Snapshots of the CPU ticks of every process group involved, by name."""

    def __init__(self, stack, prefix: str, own: dict[str, int]):
        # The stack starts each child in a session of its own: its process group id is the child's pid.
        self.groups = {proc.pid: launch[0] for launch, proc in zip(stack.launches, stack.processes, strict=True)}
        self.prefix = f"guanjia_{prefix}_"
        self.own = {pid: name for name, pid in own.items()}  # load generator, fake SMS, this bench
        self.threads: dict[str, dict[int, str]] = {}  # group → native thread id → part

    def name_threads(self, group: str, python: Path) -> None:
        """The Python names of a worker's threads (py-spy dump) → which part of it each native thread is."""
        pid = next((p for p, name in self.groups.items() if name == group), None)
        spy = python.parent / "py-spy"
        if pid is None or not spy.exists():
            return
        out = subprocess.run(
            [str(spy), "dump", "--nonblocking", "--pid", str(pid)], capture_output=True, text=True, timeout=30
        ).stdout
        parts = {}
        for tid, name in re.findall(r'^Thread (\d+) \(\w+\): "([^"]*)"', out, re.M):
            parts[int(tid)] = next((part for rx, part in THREAD_PARTS if rx.search(name)), "other threads")
        # Kept from the last dump when this one failed (py-spy may time out on a loaded machine); sender threads
        # start when first needed, so later dumps add them.
        self.threads.setdefault(group, {}).update(parts)

    def snapshot(self) -> dict[str, dict[int, int]]:
        """group → {pid or 'pid:tid' → ticks}; per-thread entries for the workers named by name_threads."""
        out: dict[str, dict] = defaultdict(dict)
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            stat = _stat(f"/proc/{pid}/stat")
            if stat is None:
                continue
            pgrp, ticks, comm = stat
            if pgrp in self.groups:
                group = self.groups[pgrp]
                out[group][pid] = ticks
                for tid, part in self.threads.get(group, {}).items():
                    sub = _stat(f"/proc/{pid}/task/{tid}/stat")
                    if sub is not None:
                        out[f"{group} · {part}"][f"{pid}:{tid}"] = sub[1]
            elif pid in self.own:
                out[self.own[pid]][pid] = ticks
            elif comm == "beam.smp":
                out["rabbitmq (beam.smp, shared)"][pid] = ticks
            elif comm == "postgres":
                try:
                    title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                except OSError:
                    continue
                match = re.search(re.escape(self.prefix) + r"(\w+)", title)
                if match:
                    out[f"postgres backends · {match.group(1)}"][pid] = ticks
                elif not re.search(r"\d\(\d+\)|\[local\]", title):
                    # postmaster, WAL writer, checkpointer, …: every agent's work, not ours alone
                    out["postgres aux (shared)"][pid] = ticks
        return out


def delta_ms(before: dict, after: dict) -> dict[str, float]:
    """CPU ms per group between two snapshots (a process or thread that started in between counts from zero)."""
    result = {}
    for group, pids in after.items():
        start = before.get(group, {})
        result[group] = sum(ticks - start.get(pid, 0) for pid, ticks in pids.items()) * TICK_MS
    return result


# -- one rate ----------------------------------------------------------------------------------------------------------
def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


PRODUCT_EXCLUDED = ("load generator", "fake SMS provider", "bench monitor", "postgres aux (shared)")


def classify(group: str) -> str:
    if " · " in group and not group.startswith("postgres backends"):
        return "thread"  # a part of a worker already counted in its group
    if group in PRODUCT_EXCLUDED:
        return "outside"
    return "product"


def run_step(ctx: dict, rate: float, seconds: int, warmup: int, lag: float, profile: bool = False) -> dict:
    stack, meter, household = ctx["stack"], ctx["meter"], ctx["household"]
    from run import admin_token, sms_times, wait_drained

    wait_drained(stack)
    # Idle rates first (RabbitMQ and PostgreSQL serve other agents too: their idle rate is subtracted).
    idle_a = meter.snapshot()
    time.sleep(ctx["idle_seconds"])
    idle = {g: ms / ctx["idle_seconds"] for g, ms in delta_ms(idle_a, meter.snapshot()).items()}
    token = admin_token(stack.settings["gateway"]) if ctx["as"] == "admin" else resident_token(stack, household)
    start_at = time.time() + 1.0
    config = {
        "host": "127.0.0.1",
        "port": stack.ports["gateway"],
        "token": token,
        "body": {
            "unit_id": household["unit_id"],
            "category": "repair",
            "description": "pipeline bench",
            **({"reporter_id": household["resident_id"]} if ctx["as"] == "admin" else {}),
        },
        "rate": rate,
        "seconds": seconds,
        "start_at": start_at,
        "connections": ctx["connections"],
    }
    gen = subprocess.Popen(
        [sys.executable, __file__, "--generate"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    meter.own = {pid: name for pid, name in meter.own.items() if name != "load generator"}
    meter.own[gen.pid] = "load generator"
    gen.stdin.write(json.dumps(config))
    gen.stdin.close()
    spies = []
    window_start, window_end = start_at + warmup, start_at + seconds
    time.sleep(max(0.0, window_start - 1.5 - time.time()))
    for group in ("notifications-worker-0", "tickets-worker-0"):
        meter.name_threads(group, Path(sys.executable))
    if profile:
        spies = start_spies(ctx, meter, window_end - window_start)
    time.sleep(max(0.0, window_start - time.time()))
    load_start = os.getloadavg()
    snap_a, t_a = meter.snapshot(), datetime.now(UTC)
    time.sleep(max(0.0, window_end - time.time()))
    snap_b, t_b = meter.snapshot(), datetime.now(UTC)
    load_end = os.getloadavg()
    generated = json.loads(gen.stdout.read())
    records, unsent = generated["records"], generated["unsent"]
    gen.wait()
    generated_at = time.time()
    ids = [r[4] for r in records if r[4]]
    # The SMS of every ticket of the step (or a minute at most): how long after the last answer they were all sent.
    notes = create_engine(stack.settings["notifications"].database_url)
    tickets_db = create_engine(stack.settings["tickets"].database_url)
    deadline = time.monotonic() + 60
    while True:
        times = sms_times(notes, ids)
        if len(times) >= len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    drain_s = time.time() - generated_at
    sent = {subject: sent_at for subject, (_planned, sent_at) in times.items()}
    snap_c = meter.snapshot()
    with tickets_db.connect() as conn:
        created = dict(conn.execute(text("SELECT id, created_at FROM tickets WHERE id = ANY(:i)"), {"i": ids}).all())
    with notes.connect() as conn:
        sms_in_window = conn.execute(
            text("SELECT count(*) FROM deliveries WHERE sent_at >= :a AND sent_at < :b AND status = 'sent'"),
            {"a": t_a, "b": t_b},
        ).scalar_one()
    profiles = finish_spies(spies) if profile else {}
    in_window = sum(1 for c in created.values() if t_a <= c < t_b)
    window_s = (t_b - t_a).total_seconds()
    cpu = delta_ms(snap_a, snap_b)
    cpu_drain = delta_ms(snap_a, snap_c)
    # RabbitMQ and the PostgreSQL aux processes serve every agent on the machine: their idle rate is not ours.
    for group in ("rabbitmq (beam.smp, shared)", "postgres aux (shared)"):
        if group in cpu:
            cpu[group + " − idle"] = max(0.0, cpu[group] - idle.get(group, 0.0) * window_s)
    by_due = sorted(r for r in records if r[4] and f"ticket/{r[4]}" in sent and r[4] in created)
    latencies = [(sent[f"ticket/{r[4]}"] - created[r[4]]).total_seconds() * 1000 for r in by_due]
    # Where the time goes: commit → the delivery row planned (relay, broker, consumer), planned → sent (dispatcher,
    # contact, provider).
    planned = {subject: planned_at for subject, (planned_at, _sent) in times.items()}
    to_planned = [(planned[f"ticket/{r[4]}"] - created[r[4]]).total_seconds() * 1000 for r in by_due]
    to_sent = [(sent[f"ticket/{r[4]}"] - planned[f"ticket/{r[4]}"]).total_seconds() * 1000 for r in by_due]
    quarters = [latencies[len(latencies) * q // 4 : len(latencies) * (q + 1) // 4] for q in range(4)]
    late = [r[1] for r in records]
    failed = sum(1 for r in records if r[3] != 201)
    on_time = sum(1 for x in late if x <= 250) / max(1, len(late))
    p50s = [quantile(q, 0.5) for q in quarters]
    notes.dispose()
    tickets_db.dispose()
    kept_up = (
        failed == 0
        and unsent == 0
        and on_time >= 0.98
        and len(sent) >= len(ids)
        and drain_s <= lag
        and p50s[3] <= 2 * p50s[0] + 50
    )
    per_ticket = {g: ms / max(1, in_window) for g, ms in sorted(cpu.items())}
    product = sum(v for g, v in per_ticket.items() if classify(g) == "product" and not g.startswith("rabbitmq"))
    rabbit = per_ticket.get("rabbitmq (beam.smp, shared) − idle", 0.0)
    product_total = product + rabbit
    outside = sum(v for g, v in per_ticket.items() if g in PRODUCT_EXCLUDED and g != "postgres aux (shared)")
    return {
        "rate": rate,
        "seconds": seconds,
        "warmup": warmup,
        "load_start": load_start,
        "load_end": load_end,
        "requests": len(records),
        "unsent": unsent,
        "failed": failed,
        "sent_on_time": on_time,
        "request_p50_ms": quantile([r[2] for r in records], 0.5),
        "request_p99_ms": quantile([r[2] for r in records], 0.99),
        "late_p99_ms": quantile(late, 0.99),
        "tickets": len(ids),
        "sms": len(sent),
        "window_s": window_s,
        "tickets_in_window": in_window,
        "sms_in_window": sms_in_window,
        "tickets_per_s": in_window / window_s,
        "drain_after_last_s": drain_s,
        "latency_p50_ms": quantile(latencies, 0.5),
        "latency_p99_ms": quantile(latencies, 0.99),
        "latency_p50_by_quarter_ms": p50s,
        "latency_p99_by_quarter_ms": [quantile(q, 0.99) for q in quarters],
        "commit_to_planned_p50_p99_ms": [quantile(to_planned, 0.5), quantile(to_planned, 0.99)],
        "planned_to_sent_p50_p99_ms": [quantile(to_sent, 0.5), quantile(to_sent, 0.99)],
        "kept_up": kept_up,
        "cpu_ms": cpu,
        "cpu_ms_to_drained": cpu_drain,
        "idle_ms_per_s": idle,
        "cpu_ms_per_ticket": per_ticket,
        "product_ms_per_ticket": product_total,
        "with_outside_ms_per_ticket": product_total + outside,
        "profiles": profiles,
    }


def resident_token(stack, household: dict) -> str:
    """A token as the gateway issues a resident after the SMS sign-in: the resident files for themselves, so tickets
    has no reporter to check at residents (an admin filing with reporter_id has: one more call per ticket)."""
    from guanjia import auth

    principal = auth.Principal(
        subject=str(uuid.uuid4()),
        role="resident",
        communities=(household["community_id"],),
        units=(household["unit_id"],),
        resident_id=household["resident_id"],
        username="phone-bench",
    )
    return auth.issue_token(stack.settings["gateway"], principal, ttl_seconds=600)


# -- py-spy -----------------------------------------------------------------------------------------------------------
OURS = re.compile(r"\((guanjia|tickets|residents|notifications|gateway)/")
PROFILED = ("gateway-web-0", "tickets-web-0", "tickets-worker-0", "notifications-worker-0", "residents-web-0")


def start_spies(ctx: dict, meter: Meter, seconds: float) -> list:
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        print("py-spy not found next to the interpreter: .venv/bin/pip install py-spy", file=sys.stderr)
        return []
    spies = []
    out_dir = Path(ctx["out_dir"])
    for pgrp, group in meter.groups.items():
        if group not in PROFILED:
            continue
        members = [p for p in _group_members(pgrp) if p != pgrp] or [pgrp]  # gunicorn: its workers, not the master
        for pid in members:
            path = out_dir / f"{group}-{pid}.txt"
            # --gil: a sample only where the thread holds the GIL, i.e. runs Python (on a loaded machine a thread
            # woken from a wait but not yet on a core would otherwise count as busy in psycopg's or select's wait)
            argv = [str(spy), "record", "--nonblocking", "--gil", "--rate", "50", "--format", "raw", "-o", str(path)]
            argv += ["--duration", str(int(seconds)), "--pid", str(pid)]
            spies.append((group, path, subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    return spies


def _group_members(pgrp: int) -> list[int]:
    members = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(f"/proc/{entry.name}/stat")
            if stat and stat[0] == pgrp:
                members.append(int(entry.name))
    return members


def finish_spies(spies: list) -> dict:
    """group → {"samples": n, "self": [(function, share)], "inclusive": [(function, share)]} from py-spy's raw stacks."""
    for _group, _path, proc in spies:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    stacks: dict[str, Counter] = defaultdict(Counter)
    for group, path, _proc in spies:
        if path.exists():
            for line in path.read_text().splitlines():
                frames, _, count = line.rpartition(" ")
                if frames and count.isdigit():
                    stacks[group][frames] += int(count)
    result = {}
    for group, counter in stacks.items():
        total = sum(counter.values())
        own, inclusive = Counter(), Counter()
        for frames, count in counter.items():
            # the first is the thread; a function's lines are one function here
            parts = [re.sub(r":\d+\)$", ")", f) for f in frames.split(";")[1:]]
            if parts:
                own[parts[-1]] += count
            for frame in set(parts):
                inclusive[frame] += count
        result[group] = {
            "samples": total,
            "self": [(f, n / total) for f, n in own.most_common(25)],
            "inclusive": [(f, n / total) for f, n in inclusive.most_common(200)],
            "raw": [str(path) for g, path, _ in spies if g == group],
        }
    return result


# -- report -----------------------------------------------------------------------------------------------------------
def print_step(step: dict) -> None:
    la, lb = step["load_start"], step["load_end"]
    print(
        f"\n## {step['rate']:g} tickets/s filed by {step.get('as', 'admin')} for {step['seconds']} s (window {step['window_s']:.1f} s after "
        f"{step['warmup']} s), load {la[0]:.1f}/{la[1]:.1f}/{la[2]:.1f} → {lb[0]:.1f}\n"
        f"requests {step['requests']} (unsent {step['unsent']}, failed {step['failed']}, sent on time {step['sent_on_time']:.1%}, "
        f"late p99 {step['late_p99_ms']:.0f} ms), request p50 {step['request_p50_ms']:.1f} / p99 "
        f"{step['request_p99_ms']:.1f} ms; in the window {step['tickets_in_window']} tickets "
        f"({step['tickets_per_s']:.1f}/s), {step['sms_in_window']} SMS; all {step['sms']}/{step['tickets']} SMS "
        f"{step['drain_after_last_s']:.1f} s after the last answer\n"
        f"commit → SMS p50 {step['latency_p50_ms']:.0f} ms, p99 {step['latency_p99_ms']:.0f} ms; p50 by quarter "
        + " / ".join(f"{v:.0f}" for v in step["latency_p50_by_quarter_ms"])
        + " ms; p99 by quarter "
        + " / ".join(f"{v:.0f}" for v in step["latency_p99_by_quarter_ms"])
        + " ms (commit → planned p50/p99 "
        + " / ".join(f"{v:.0f}" for v in step["commit_to_planned_p50_p99_ms"])
        + ", planned → sent "
        + " / ".join(f"{v:.0f}" for v in step["planned_to_sent_p50_p99_ms"])
        + f" ms) → **{'kept up' if step['kept_up'] else 'did NOT keep up'}**",
        flush=True,
    )
    print("\n| process group | ms CPU / ticket | CPU % of a core | idle % of a core |\n|---|---:|---:|---:|")
    for group, value in sorted(step["cpu_ms_per_ticket"].items(), key=lambda kv: -kv[1]):
        if value < 0.005 and classify(group) != "thread":
            continue
        share = step["cpu_ms"][group] / step["window_s"] / 10
        idle = step["idle_ms_per_s"].get(group.removesuffix(" − idle"), 0.0) / 10
        label = f"  ↳ {group}" if classify(group) == "thread" else group
        print(f"| {label} | {value:.2f} | {share:.0f} | {idle:.1f} |")
    print(
        f"\n**product (stack processes + their PostgreSQL backends + RabbitMQ above idle): "
        f"{step['product_ms_per_ticket']:.2f} ms/ticket**; with the load generator, fake SMS and bench monitor: "
        f"{step['with_outside_ms_per_ticket']:.2f} ms/ticket",
        flush=True,
    )
    for group, prof in step.get("profiles", {}).items():
        print(f"\npy-spy {group}: {prof['samples']} samples; largest self:")
        for frame, share in prof["self"][:12]:
            print(f"  {share:6.1%}  {frame}")
        print("  largest inclusive (our code):")
        ours = [(f, v) for f, v in prof["inclusive"] if OURS.search(f)]
        for frame, share in ours[:20]:
            print(f"  {share:6.1%}  {frame}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="40,80,120,160", help="tickets/s, in order")
    parser.add_argument("--seconds", type=int, default=30, help="length of each rate's open loop")
    parser.add_argument("--warmup", type=int, default=8, help="seconds before the CPU window opens")
    parser.add_argument("--lag", type=float, default=2.0, help="kept up: every SMS sent this long after the last")
    parser.add_argument("--search", action="store_true", help="double past the last rate kept up, then bisect")
    parser.add_argument("--stop-after-miss", action="store_true", help="stop the list at the first rate missed")
    parser.add_argument("--profile", type=float, default=0, help="one more step at this rate under py-spy")
    parser.add_argument("--provider", choices=["aliyun", "console"], default="aliyun")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument(
        "--as",
        dest="caller",
        default="admin",
        help="who files: admin (naming the reporter, as bench/run.py: tickets asks residents about them), resident "
        "(for themselves: no such call), or both in turn at each rate: admin,resident",
    )
    parser.add_argument("--connections", type=int, default=32, help="load generator's keep-alive connections")
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-sms", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        print(json.dumps(generate(json.loads(sys.stdin.read()))))
        return 0
    if args.serve_sms:
        return serve_sms()

    from run import bench_env, machine, setup_household, start_stack, teardown

    prefix = f"bench{uuid.uuid4().hex[:6]}"
    extra, own, fake = {"GUANJIA_SMS_QUIET_HOURS": "off"}, {"bench monitor": os.getpid()}, None
    if args.provider == "aliyun":
        fake = subprocess.Popen([sys.executable, __file__, "--serve-sms"], stdout=subprocess.PIPE, text=True)
        url = fake.stdout.readline().split()[1]
        fakes = load_fakes()
        extra.update(
            {
                "GUANJIA_SMS_PROVIDER": "aliyun",
                "GUANJIA_SMS_ALIYUN_ACCESS_KEY_ID": fakes.ALIYUN_KEY_ID,
                "GUANJIA_SMS_ALIYUN_ACCESS_KEY_SECRET": fakes.ALIYUN_SECRET,
                "GUANJIA_SMS_ALIYUN_ENDPOINT": f"{url}/aliyun/",
                "GUANJIA_SMS_ALIYUN_TEMPLATES": json.dumps(template_codes()),
            }
        )
        own["fake SMS provider"] = fake.pid
    stack = None
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    import guanjia

    results = {
        "machine": machine(),
        "when": datetime.now(UTC).isoformat(),
        "argv": sys.argv,
        "python": sys.executable,
        "code": str(Path(guanjia.__file__).resolve().parents[3]),  # the worktree whose services the stack runs
        "steps": [],
    }
    try:
        stack = start_stack(bench_env(prefix, extra), args.web_workers)
        household = setup_household(stack)
        ctx = {
            "stack": stack,
            "household": household,
            "meter": Meter(stack, prefix, own),
            "connections": args.connections,
            "as": "admin",
            "idle_seconds": args.idle_seconds,
            "out_dir": tempfile.mkdtemp(prefix=f"pipeline-{stamp}-pyspy-"),
        }
        # A short warm-up of every process (imports, pools, prepared statements) before anything is measured.
        run_step(ctx, 10, 5, 2, 60)
        rates = [float(r) for r in args.rates.split(",")]
        ok, miss = 0.0, None
        queue = list(rates)
        while queue:
            rate = queue.pop(0)
            kept = True
            for caller in args.caller.split(","):
                ctx["as"] = caller
                step = {"as": caller, **run_step(ctx, rate, args.seconds, args.warmup, args.lag)}
                results["steps"].append(step)
                print_step(step)
                kept = kept and step["kept_up"]
            if kept:
                ok = max(ok, rate)
            else:
                miss = rate if miss is None else min(miss, rate)
                if args.stop_after_miss and not args.search:
                    break
            if args.search and not queue:
                if miss is None:
                    queue.append(rate * 2)
                elif ok and miss - ok > max(5.0, ok * 0.1) and len(results["steps"]) < len(rates) + 6:
                    queue.append(round((ok + miss) / 2))
        results["highest_kept_up"] = ok
        results["lowest_missed"] = miss
        if args.profile:
            ctx["as"] = args.caller.split(",")[0]
            step = run_step(ctx, args.profile, args.seconds, args.warmup, args.lag, profile=True)
            step.update(profiled=True, **{"as": ctx["as"]})
            results["profile"] = step
            print_step(step)
        print(f"\nhighest rate kept up: {ok:g} tickets/s; lowest missed: {miss}", flush=True)
    finally:
        if stack is not None:
            teardown(stack, prefix)
        if fake is not None:
            fake.terminate()
            fake.wait(10)
        path = out / f"pipeline-{stamp}.json"
        path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
        print(f"results written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
