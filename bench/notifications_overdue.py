"""Benchmark: 10,000 fee.overdue events on RabbitMQ → SMS through a fake Aliyun API (signed requests checked), and
with `--wechat-share 0.5` half the residents bound to WeChat (template messages through a fake official account).

Usage: .venv/bin/python bench/notifications_overdue.py [--events 10000] [--duplicates 100] [--concurrency 8] [--rate 0]
       [--wechat-share 0] [--workers 1]
Runs the notifications worker (consumer + dispatcher + relay) on PostgreSQL and RabbitMQ; `--workers N` runs N-1
more replicas, each in a process of its own. The outside world runs in a separate process: the fake Aliyun API and
a residents stand-in serving the contact endpoint over HTTP (it checks the service credential), both on keep-alive
connections as the real ones. Each event names its own payer, so each must give exactly one SMS;
`--duplicates` events are published twice (a redelivery) and must not. `--rate` paces publishing (events/s, one
confirm each; 0 = as fast as possible, confirms per window of 500 as a relay publishes, so latency includes the
backlog). Prints throughput, latency (publish → the provider
accepted it), duplicates and lost. Not a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from functools import partial
from pathlib import Path

from sqlalchemy import func, select

from guanjia import bus, events
from guanjia.auth import principal_from_header
from guanjia.db import Database, utcnow
from guanjia.http import HttpUpstream
from guanjia.runtime import Worker, declare_queues
from guanjia.testing import Infra

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("GUANJIA_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PUBLISH_CHUNK = 500  # events published per confirmed window with --rate 0
AMQP = os.environ.get("GUANJIA_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def load_fakes():
    path = ROOT / "services" / "notifications" / "tests" / "fake_providers.py"
    spec = importlib.util.spec_from_file_location("notifications_fake_providers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def make_contacts(count: int) -> tuple[dict, set]:
    contacts, phones = {}, set()
    communities = [str(uuid.uuid4()) for _ in range(50)]
    while len(contacts) < count:
        phone = f"+86139{random.randint(0, 99_999_999):08d}"
        if phone in phones:
            continue
        phones.add(phone)
        rid = str(uuid.uuid4())
        contacts[rid] = {
            "resident_id": rid,
            "unit_id": str(uuid.uuid4()),
            "community_id": random.choice(communities),
            "name": "业主",
            "phone": phone,
            "locale": "zh-CN",
        }
    return contacts, phones


def fetch_sent(url: str | None) -> list[dict]:
    import requests

    return requests.get(f"{url}/_sent", timeout=30).json() if url else []


def residents_server(settings, contacts: dict):
    """The residents contact endpoints (one resident, and a batch's), service role only, on keep-alive connections (HTTP/1.1) as the
    residents service under gunicorn keeps them: a new connection per call would bill both sides a TCP set-up and
    this server a thread per SMS that the real world does not cost."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    prefix, suffix = "/api/v1/internal/residents/", "/contact"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall between them

        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):  # noqa: N802 (http.server's naming)
            status, body = 404, b'{"title": "Not Found"}'
            if principal_from_header(settings, self.headers.get("Authorization")).role != "service":
                status, body = 403, b'{"title": "Forbidden"}'
            elif self.path.startswith(prefix) and self.path.endswith(suffix):
                rid = self.path[len(prefix) : -len(suffix)]
                if rid in contacts:
                    status, body = 200, json.dumps(contacts[rid]).encode()
            self._reply(status, body)

        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if principal_from_header(settings, self.headers.get("Authorization")).role != "service":
                return self._reply(403, b'{"title": "Forbidden"}')
            if self.path != "/api/v1/internal/residents/contacts":
                return self._reply(404, b'{"title": "Not Found"}')
            ids = json.loads(body)["resident_ids"]
            found = [contacts[rid] for rid in dict.fromkeys(ids) if rid in contacts]
            return self._reply(200, json.dumps({"contacts": found}).encode())

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


def serve_fakes(contacts_file: str, prefix: str) -> int:
    """Child process: the fake Aliyun API and the residents stand-in; prints their URLs, serves until killed."""
    from notifications.templates import TEMPLATES

    fakes = load_fakes()
    infra = Infra(PG, AMQP)
    infra.prefix = prefix  # the parent's: the same (already migrated) database and the same token keys
    settings = infra.settings("notifications", database="bench_notifications")
    contacts = json.loads(Path(contacts_file).read_text())
    server = fakes.FakeSmsServer().__enter__()
    server.fake.templates["aliyun"] = {code: TEMPLATES[key].variables for key, code in template_codes().items()}
    wechat = fakes.FakeWechatServer().__enter__()
    wechat.fake.templates = {f"tpl-{key}": TEMPLATES[key].variables for key in TEMPLATES}
    wechat.fake.followers = {c["openid"] for c in contacts.values() if c.get("openid")}
    # Keep-alive, as Aliyun's API keeps connections open (the fake's handler answers with a Content-Length).
    server.httpd.RequestHandlerClass.protocol_version = "HTTP/1.1"
    residents = residents_server(settings, contacts)
    print(f"READY {server.url} http://127.0.0.1:{residents.server_port} {wechat.url}", flush=True)
    residents.serve_forever()
    return 0


def template_codes() -> dict:
    from notifications.templates import TEMPLATES

    return {key: f"SMS_{460000000 + i}" for i, key in enumerate(sorted(TEMPLATES))}


def _ticks(stat_path: str) -> float:
    """utime + stime of a process or thread from /proc, in seconds (0 when it is gone)."""
    try:
        fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads_cpu() -> dict[str, float]:
    """CPU seconds of this process's threads by role (a thread name without its numbers: the senders' pool as one)."""
    roles: dict[str, float] = {}
    for thread in threading.enumerate():
        role = "".join(c for c in thread.name if not c.isdigit()).rstrip("-_ ") or "thread"
        roles[role] = roles.get(role, 0.0) + _ticks(f"/proc/self/task/{thread.native_id}/stat")
    return roles


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def start_worker(settings, sms_url: str, residents_url: str, wechat_url: str, concurrency: int, wechat_on: bool):
    """The notifications worker (consumer, dispatcher with `concurrency` senders, relay) against the fakes."""
    from notifications.config import AliyunSettings, SmsSettings, WechatSettings
    from notifications.context import make_context
    from notifications.service import SPEC
    from notifications.templates import TEMPLATES

    fakes = load_fakes()
    sms = SmsSettings(
        provider="aliyun",
        signature="幸福物业",
        aliyun=AliyunSettings(
            access_key_id=fakes.ALIYUN_KEY_ID,
            access_key_secret=fakes.ALIYUN_SECRET,
            endpoint=f"{sms_url}/aliyun/",
            templates=template_codes(),
        ),
        quiet_start=None,  # the bench runs at any hour: quiet hours would (rightly) hold reminders
        quiet_end=None,
        community_daily_budget=1_000_000,
        dispatch_concurrency=concurrency,
    )
    wechat = WechatSettings(
        app_id=fakes.WECHAT_APP_ID,
        app_secret=fakes.WECHAT_SECRET,
        endpoint=wechat_url,
        templates={key: f"tpl-{key}" for key in TEMPLATES} if wechat_on else {},
    )
    upstreams = {"residents": HttpUpstream("residents", residents_url)}
    spec = dataclasses.replace(SPEC, make_context=partial(make_context, sms=sms, wechat=wechat))
    declare_queues(spec, settings)
    return Worker(spec, settings, upstreams).start()


def serve_worker(args) -> int:
    """Child process: one more worker replica on the parent's database and queues; serves until terminated."""
    import signal

    prefix, sms_url, residents_url, wechat_url = args.serve_worker
    infra = Infra(PG, AMQP)
    infra.prefix = prefix
    settings = infra.settings("notifications", database="bench_notifications", retry_delays_ms=(1000, 5000))
    worker = start_worker(settings, sms_url, residents_url, wechat_url, args.concurrency, args.wechat_share > 0)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    started = time.process_time()
    print("READY", flush=True)
    stopped.wait()
    worker.stop()
    print(f"CPU {time.process_time() - started:.3f}", flush=True)  # from READY on: its share of the work
    return 0


def main() -> int:
    from guanjia import logging as glog

    glog.configure("bench", "bench", os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--duplicates", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--wechat-share", type=float, default=0.0, help="share of residents bound to WeChat")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (replicas)")
    parser.add_argument("--serve-fakes", nargs=2, metavar=("CONTACTS_JSON", "PREFIX"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--serve-worker", nargs=4, metavar=("PREFIX", "SMS", "RESIDENTS", "WECHAT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve_fakes:
        return serve_fakes(*args.serve_fakes)
    if args.serve_worker:
        return serve_worker(args)

    from guanjia.pii import encrypt_pii, pii_lookup_hash
    from notifications.models import Delivery, WechatBinding, outbox
    from notifications.wechat import mask_openid

    infra = Infra(PG, AMQP)
    settings = infra.settings("notifications", database="bench_notifications", retry_delays_ms=(1000, 5000))
    contacts, phones = make_contacts(args.events)
    bound = set(random.sample(sorted(contacts), int(len(contacts) * args.wechat_share)))
    for rid in bound:
        contacts[rid]["openid"] = "o" + uuid.uuid4().hex[:27]
    contacts_file = Path(tempfile.mkstemp(suffix=".json")[1])
    contacts_file.write_text(json.dumps(contacts))
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-fakes", str(contacts_file), infra.prefix], stdout=subprocess.PIPE, text=True
    )
    ready = child.stdout.readline().split()
    if not ready or ready[0] != "READY":
        raise SystemExit("the fake providers did not start")
    sms_url, residents_url, wechat_url = ready[1], ready[2], ready[3]
    database = Database(settings.database_url)
    with database.transaction() as session:  # as if each had redeemed a binding code (openids sealed)
        for rid in bound:
            openid, contact = contacts[rid]["openid"], contacts[rid]
            session.add(
                WechatBinding(
                    resident_id=rid,
                    unit_id=contact["unit_id"],
                    community_id=contact["community_id"],
                    openid=encrypt_pii(settings.pii_key, openid),
                    openid_hash=pii_lookup_hash(settings.pii_key, openid),
                    openid_masked=mask_openid(openid),
                    created_at=utcnow(),
                )
            )
    worker = start_worker(settings, sms_url, residents_url, wechat_url, args.concurrency, bool(bound))
    # More replicas of `guanjia worker notifications`, each a process of its own (own GIL): the consumers share the
    # queue, the dispatchers and relays the rows (SKIP LOCKED).
    replicas = [
        subprocess.Popen(
            [sys.executable, __file__, "--serve-worker", infra.prefix, sms_url, residents_url, wechat_url]
            + ["--concurrency", str(args.concurrency), "--wechat-share", str(args.wechat_share)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(args.workers - 1)
    ]
    for replica in replicas:
        if replica.stdout.readline().strip() != "READY":
            raise SystemExit("a worker replica did not start")

    evts = []
    for rid, contact in contacts.items():
        evts.append(
            events.build(
                type="fee.overdue",
                source="/bench/billing",
                subject=f"bill/{uuid.uuid4()}",
                city="bench",
                community=contact["community_id"],
                data={
                    "bill_id": str(uuid.uuid4()),
                    "unit_id": contact["unit_id"],
                    "community_id": contact["community_id"],
                    "period": "2026-11",
                    "amount_due": "1234.50",
                    "due_date": "2026-11-15",
                    "stage": "first",
                    "days_overdue": 12,
                    "payer_id": rid,
                },
            )
        )
    repeats = random.sample(evts, min(args.duplicates, len(evts)))
    cpu_before, process_before = threads_cpu(), _ticks("/proc/self/stat")
    fakes_before = _ticks(f"/proc/{child.pid}/stat")
    load_start = os.getloadavg()[0]
    published_at = {}
    publisher = bus.Publisher(settings.with_service("billing"))
    start = time.time()
    if args.rate:
        for i, event in enumerate(evts):
            time.sleep(max(0.0, start + i / args.rate - time.time()))
            published_at.setdefault(contacts[event["data"]["payer_id"]]["phone"], time.time())
            publisher.publish(event)
        for event in repeats:
            publisher.publish(event)
    else:
        # As fast as possible: as billing's relay publishes, confirms awaited per window rather than per message,
        # so that the queue fills faster than it drains (one confirm per message made the bench's publisher the
        # limit on a busy machine).
        everything = evts + repeats
        for at in range(0, len(everything), PUBLISH_CHUNK):
            chunk, now = everything[at : at + PUBLISH_CHUNK], time.time()
            for event in chunk:
                published_at.setdefault(contacts[event["data"]["payer_id"]]["phone"], now)
            confirmed, nacked = publisher.publish_batch([(e["id"], e["type"], events.to_message(e)[0]) for e in chunk])
            if nacked or len(confirmed) != len(chunk):
                raise SystemExit(f"the broker did not confirm {len(chunk) - len(confirmed)} events")
    publish_done = time.time()
    publisher.close()

    deadline = time.time() + args.timeout
    while len(fetch_sent(sms_url)) + len(fetch_sent(wechat_url)) < args.events and time.time() < deadline:
        time.sleep(1)
    time.sleep(3)  # let any duplicate show itself
    sent, templated = fetch_sent(sms_url), fetch_sent(wechat_url)
    last = max(m["at"] for m in sent) if sent else time.time()
    worker_relay_deadline = time.time() + 60
    while time.time() < worker_relay_deadline:
        with database.transaction() as session:
            unpublished = session.execute(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            ).scalar_one()
        if not unpublished:
            break
        time.sleep(0.5)
    with database.transaction() as session:
        rows = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
        channels = dict(session.execute(select(Delivery.channel, func.count()).group_by(Delivery.channel)).all())
        wechat_times = session.execute(
            select(func.min(Delivery.sent_at), func.max(Delivery.sent_at)).where(Delivery.channel == "wechat")
        ).one()
        planned = session.execute(select(func.min(Delivery.created_at), func.max(Delivery.created_at))).one()
        recorded = session.execute(select(func.min(Delivery.sent_at), func.max(Delivery.sent_at))).one()
        notified = session.execute(
            select(func.count()).select_from(outbox).where(outbox.c.event_type == "notification.sent")
        ).scalar_one()
    cpu_after, process_cpu = threads_cpu(), _ticks("/proc/self/stat") - process_before
    fakes_cpu, load_end = _ticks(f"/proc/{child.pid}/stat") - fakes_before, os.getloadavg()[0]
    worker.stop()
    replica_cpu = []
    for replica in replicas:
        replica.terminate()
        replica_cpu.append(float(replica.stdout.read().split()[-1]))
        replica.wait(30)
    database.dispose()
    child.kill()
    child.wait()
    contacts_file.unlink()

    per_phone = {}
    for message in sent:
        per_phone.setdefault(message["phone"], []).append(message["at"])
    per_openid = {}
    for message in templated:
        per_openid[message["touser"]] = per_openid.get(message["touser"], 0) + 1
    phone_of = {c["openid"]: c["phone"] for c in contacts.values() if c.get("openid")}
    # One message per resident whatever the channel: a bound resident heard by SMS too is a duplicate.
    duplicates = sum(len(v) - 1 for v in per_phone.values()) + sum(n - 1 for n in per_openid.values())
    duplicates += sum(1 for o in per_openid if phone_of.get(o) in per_phone)
    reached = set(per_phone) | {phone_of[o] for o in per_openid if o in phone_of}
    lost = len(phones - reached)
    latencies = [(min(v) - published_at[p]) * 1000 for p, v in per_phone.items() if p in published_at]
    elapsed = last - start
    print(f"events published: {args.events} (+{len(repeats)} published twice) in {publish_done - start:.1f} s")
    print(f"SMS accepted by the fake Aliyun API: {len(sent)}; duplicates: {duplicates}; lost: {lost}")
    if bound:
        print(f"WeChat template messages accepted by the fake official account: {len(templated)} ({len(bound)} bound)")
        print(f"deliveries by channel: {channels}")
        if wechat_times[0]:
            span = max((wechat_times[1] - wechat_times[0]).total_seconds(), 0.001)
            print(f"WeChat: {len(templated) / span:.0f} messages/s recorded over {span:.1f} s")
    print(f"deliveries by status: {rows}; notification.sent events: {notified}")
    if planned[0] and recorded[0]:
        consumed = (planned[1] - planned[0]).total_seconds()
        dispatched = (recorded[1] - recorded[0]).total_seconds()
        print(
            f"stages: consumer planned {args.events} deliveries in {consumed:.1f} s "
            f"({args.events / max(consumed, 0.001):.0f}/s); dispatcher recorded them sent over {dispatched:.1f} s"
        )
    if replicas:
        print(f"worker replicas' CPU (s, after start): {', '.join(f'{c:.2f}' for c in replica_cpu)}")
    count = max(len(sent) + len(templated), 1)
    roles = {role: cpu_after.get(role, 0.0) - cpu_before.get(role, 0.0) for role in cpu_after}
    busy = ", ".join(f"{role} {1000 * cpu / count:.2f}" for role, cpu in sorted(roles.items(), key=lambda r: -r[1]))
    print(
        f"CPU per message (ms): this process {1000 * process_cpu / count:.2f} (by thread: {busy}); replicas "
        f"{1000 * sum(replica_cpu) / count:.2f}; fakes {1000 * fakes_cpu / count:.2f}; "
        f"load average {load_start:.1f} → {load_end:.1f}"
    )
    print(f"throughput (first publish → last SMS): {len(per_phone) / elapsed:.0f} SMS/s over {elapsed:.1f} s")
    if latencies:
        print(
            "latency publish → provider (ms): "
            f"p50 {percentile(latencies, 0.5):.0f}, p95 {percentile(latencies, 0.95):.0f}, "
            f"p99 {percentile(latencies, 0.99):.0f}, max {max(latencies):.0f}, mean {statistics.mean(latencies):.0f}"
        )
    print(
        f"| {args.events} fee.overdue → SMS (aliyun fake, {args.concurrency} senders, "
        f"{'as fast as possible' if not args.rate else f'{args.rate:.0f}/s'}) | "
        f"{len(per_phone) / elapsed:.0f} SMS/s | p50 {percentile(latencies, 0.5):.0f} ms, "
        f"p95 {percentile(latencies, 0.95):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms | "
        f"{duplicates} | {lost} |"
    )
    infra.cleanup()
    return 0 if duplicates == 0 and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
