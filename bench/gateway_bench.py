"""Benchmark the gateway: the same read, direct to the service and through the gateway, in one run.

Usage: .venv/bin/python bench/gateway_bench.py [--duration 8] [--web-workers 2] [--concurrency 1,8,32]
       [--servers gunicorn,granian] [--create]
Starts the distributed stack (gunicorn per service, PostgreSQL, RabbitMQ, Redis for the rate limits), files one
ticket, then runs `wrk` against `GET /api/v1/tickets/{id}`:
  - direct to the tickets service;
  - through the gateway (token verified, disabled-account check, per-principal rate limit in Redis, forwarded
    over a pooled keep-alive connection);
  - through the gateway with an integrator API key (key lookup cached, token minted per key);
  - a floor: `GET /healthz` on the gateway (its HTTP stack alone).
`--create` adds `POST /api/v1/tickets` (the same body every time) direct and through the gateway.
`--servers gunicorn,granian` also starts a second tickets service and gateway under granian (WSGI interface,
the same worker processes x threads as gunicorn's gthread configuration; that gateway forwards to that tickets
service, the rest of the stack stays on gunicorn) and interleaves their targets with gunicorn's in every round.
granian is not a dependency of the project: `.venv/bin/pip install granian`; without it that part is skipped.
Prints a Markdown table and writes bench/results/gateway-<timestamp>.json. Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import AMQP, HERE, PG, machine, wrk  # noqa: E402

from guanjia.stack import STACK_SERVICES, DistributedStack, admin_token  # noqa: E402
from guanjia.testing import free_port_block  # noqa: E402

GET = """
wrk.method = "GET"
wrk.headers["{header}"] = "{value}"
"""


def setup(stack) -> dict:
    token = admin_token(stack.settings["gateway"])
    headers = {"Authorization": f"Bearer {token}"}

    def post(path, body):
        response = requests.post(stack.url + path, json=body, headers=headers, timeout=10)
        assert response.status_code in (200, 201), (path, response.text)
        return response.json()

    community = post("/api/v1/communities", {"name": "压测小区"})
    building = post("/api/v1/buildings", {"community_id": community["id"], "name": "1栋"})
    unit = post("/api/v1/units", {"building_id": building["id"], "number": "1-101", "floor": 1, "area_m2": "90.00"})
    resident = post(
        "/api/v1/residents", {"unit_id": unit["id"], "name": "李四", "phone": "13900139000", "role": "owner"}
    )
    ticket = post(
        "/api/v1/tickets",
        {"unit_id": unit["id"], "category": "repair", "description": "bench", "reporter_id": resident["id"]},
    )
    key = post("/api/v1/api-keys", {"name": "bench", "communities": [community["id"]], "resources": ["tickets"]})["key"]
    probe = requests.get(stack.url + f"/api/v1/tickets/{ticket['id']}", headers={"X-API-Key": key}, timeout=10)
    if probe.status_code != 200:
        print(f"the API key is refused: {probe.status_code} {probe.text[:300]}", file=sys.stderr)
    return {
        "token": token,
        "ticket_id": ticket["id"],
        "api_key": key,
        "unit_id": unit["id"],
        "resident_id": resident["id"],
    }


POST = """
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{body}'
"""

# guanjia.gunicorn_conf: gthread, 4 threads per worker process.
GUNICORN_THREADS = 4


@contextmanager
def granian_pair(stack, workers: int, threads: int):
    """tickets and the gateway under granian (WSGI) on ports of their own; that gateway forwards to that tickets.

    Each is started in a session of its own, so its process group (granian's main process and its workers) is
    what the CPU is read from, as for gunicorn. Each gets its own Prometheus multiprocess directory, as gunicorn
    does in guanjia.stack, so both servers pay the same for their counters."""
    import socket
    import subprocess

    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    urls = {"tickets": f"http://127.0.0.1:{ports[0]}", "gateway": f"http://127.0.0.1:{ports[1]}"}
    granian = str(Path(sys.executable).parent / "granian")
    processes = {}
    try:
        for name in ("tickets", "gateway"):
            env = {
                **stack.env,
                "GUANJIA_TICKETS_URL": urls["tickets"],
                "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix=f"guanjia-granian-{name}-"),
            }
            argv = [granian, "--interface", "wsgi", "--host", "127.0.0.1", "--port", urls[name].rsplit(":", 1)[1]]
            argv += ["--workers", str(workers), "--blocking-threads", str(threads), "--log-level", "warning"]
            processes[name] = subprocess.Popen(
                [*argv, f"{name}.wsgi:app"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        for name, url in urls.items():
            while True:
                try:
                    if requests.get(url + "/readyz", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if processes[name].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"granian {name} did not start")
                time.sleep(0.2)
        yield urls, {name: os.getpgid(proc.pid) for name, proc in processes.items()}
    finally:
        import signal

        for proc in processes.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)


NGINX_CONF = """
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    upstream tickets {{ server 127.0.0.1:{port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://tickets;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


@contextmanager
def nginx_proxy(upstream_port: int, workers: int):
    """nginx as a plain reverse proxy in front of the tickets service: what a compiled hop costs (no token check)."""
    import socket
    import subprocess
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        listen = sock.getsockname()[1]
    directory = tempfile.mkdtemp(prefix="guanjia-nginx-")
    conf = Path(directory) / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, dir=directory, port=upstream_port, listen=listen))
    subprocess.run(["nginx", "-c", str(conf), "-p", directory], check=True)
    try:
        time.sleep(0.5)
        yield f"http://127.0.0.1:{listen}"
    finally:
        subprocess.run(["nginx", "-c", str(conf), "-p", directory, "-s", "quit"], check=False)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", default="gunicorn", help="gunicorn, granian or gunicorn,granian")
    parser.add_argument(
        "--granian-threads", type=int, default=GUNICORN_THREADS, help="granian's blocking threads per worker"
    )
    parser.add_argument("--create", action="store_true", help="also POST /api/v1/tickets, direct and via the gateway")
    args = parser.parse_args()
    servers = args.servers.split(",")
    if "granian" in servers and not (Path(sys.executable).parent / "granian").exists():
        print("granian is not installed (.venv/bin/pip install granian): its measurements are skipped")
        servers.remove("granian")
        if not servers:
            return 0
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    prefix = f"gwbench{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUANJIA_")}
    env.update(
        {
            "GUANJIA_DATABASE_URL": f"{PG}/guanjia_{prefix}_{{service}}",
            "GUANJIA_AMQP_URL": AMQP,
            "GUANJIA_EXCHANGE": f"{prefix}.guanjia.events",
            "GUANJIA_QUEUE_PREFIX": f"{prefix}.",
            "GUANJIA_CITY": "bench",
            "GUANJIA_LOG_LEVEL": "WARNING",
            "GUANJIA_VAR_DIR": tempfile.mkdtemp(prefix="guanjia-gwbench-"),
            # The limits stay on (they cost a Redis round trip per request) but high enough not to refuse.
            "GUANJIA_RATE_LIMITS": "api=100000000/60,api_key=100000000/60",
        }
    )
    for attempt in range(3):
        # On a busy machine another process may take a port of the block between the check and the bind.
        stack = DistributedStack(
            env=env,
            port=free_port_block(len(STACK_SERVICES)),
            web_workers=args.web_workers,
            log_dir=Path(env["GUANJIA_VAR_DIR"]) / "logs",
        )
        try:
            stack.start()
            break
        except RuntimeError:
            if attempt == 2:
                raise
    results = {
        "machine": machine(),
        "when": datetime.now(UTC).isoformat(),
        "web_workers": args.web_workers,
        "servers": servers,
        "granian_threads": args.granian_threads,
        "duration_s": args.duration,
        "runs": [],
    }
    exits = ExitStack()
    try:
        data = setup(stack)
        path = f"/api/v1/tickets/{data['ticket_id']}"
        bearer = GET.format(header="Authorization", value=f"Bearer {data['token']}")
        keyed = GET.format(header="X-API-Key", value=data["api_key"])
        create = json.dumps(
            {
                "unit_id": data["unit_id"],
                "category": "repair",
                "description": "bench",
                "reporter_id": data["resident_id"],
            }
        )
        posting = POST.format(token=data["token"], body=create)
        # (label, url, wrk script, server whose processes' CPU is read)
        targets = [("floor: GET /healthz on the gateway", stack.url + "/healthz", bearer, "gunicorn")]
        groups = {
            "gunicorn": {
                "gateway": _group_of(stack, "gateway.wsgi:app"),
                "tickets": _group_of(stack, "tickets.wsgi:app"),
            }
        }
        urls = {"gunicorn": {"gateway": stack.url, "tickets": stack.service_url("tickets")}}
        if "granian" in servers:
            urls["granian"], groups["granian"] = exits.enter_context(
                granian_pair(stack, args.web_workers, args.granian_threads)
            )
            targets.append(
                (
                    "floor: GET /healthz on the gateway [granian]",
                    urls["granian"]["gateway"] + "/healthz",
                    bearer,
                    "granian",
                )
            )
        for server in [s for s in ("gunicorn", "granian") if s in urls]:
            tag = "" if server == "gunicorn" else " [granian]"
            targets += [
                ("GET ticket, direct to tickets" + tag, urls[server]["tickets"] + path, bearer, server),
                ("GET ticket, through the gateway" + tag, urls[server]["gateway"] + path, bearer, server),
            ]
            if args.create:
                targets += [
                    (
                        "create ticket, direct to tickets" + tag,
                        urls[server]["tickets"] + "/api/v1/tickets",
                        posting,
                        server,
                    ),
                    (
                        "create ticket, through the gateway" + tag,
                        urls[server]["gateway"] + "/api/v1/tickets",
                        posting,
                        server,
                    ),
                ]
        if "gunicorn" in servers:
            targets.append(("GET ticket, gateway with an API key", stack.url + path, keyed, "gunicorn"))
        if shutil.which("nginx"):
            proxy = exits.enter_context(nginx_proxy(stack.ports["tickets"], args.web_workers))
            targets.append(("GET ticket, through nginx (proxy only)", proxy + path, bearer, "gunicorn"))
        else:
            print("nginx not installed (apt-get install nginx-light): the compiled-proxy comparison is skipped")
        if "gunicorn" not in servers:
            targets = [t for t in targets if t[3] != "gunicorn" or t[0].startswith("floor")]
        # What each server burns with no request at all (a runtime thread that polls would count against it).
        idle_before = {(s, n): _cpu_seconds(g) for s, named in groups.items() for n, g in named.items()}
        time.sleep(3)
        results["idle_cpu_ms_per_s"] = {
            f"{s} {n}": (_cpu_seconds(g) - idle_before[(s, n)]) / 3 * 1000
            for s, named in groups.items()
            for n, g in named.items()
        }
        print("idle CPU (ms per s):", results["idle_cpu_ms_per_s"])
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            for _label, url, script, _server in targets:
                wrk(url, concurrency, 2, script)  # warm-up: pools, caches, JWKS
            # Interleaved rounds, medians: on a shared machine, noise then hits every target alike (and every
            # server: gunicorn's and granian's targets alternate within each round).
            samples: dict[str, list] = {label: [] for label, _, _, _ in targets}
            for _ in range(args.rounds):
                for label, url, script, server in targets:
                    cpu_before = {name: _cpu_seconds(pgid) for name, pgid in groups[server].items()}
                    figures = wrk(url, concurrency, args.duration, script)
                    done = figures["rps"] * args.duration
                    for name, pgid in groups[server].items():
                        used = _cpu_seconds(pgid) - cpu_before[name]
                        figures[f"cpu_us_per_request_{name}"] = used / done * 1e6 if done else None
                    figures["load_1m"] = os.getloadavg()[0]
                    samples[label].append(figures)
            for label, runs in samples.items():
                figures = {
                    key: statistics.median(r[key] for r in runs if r[key] is not None)
                    for key in runs[0]
                    if all(isinstance(r[key], int | float) for r in runs if r[key] is not None)
                }
                figures.update(target=label, concurrency=concurrency, rounds=len(runs), samples=runs)
                results["runs"].append(figures)
                print(
                    f"{label:40s} c={concurrency:<3d} {figures['rps']:8.0f} req/s  p50 {figures['p50_ms']:6.2f} ms"
                    f"  p99 {figures['p99_ms']:6.2f} ms  non-2xx {figures['non_2xx']:.0f}"
                    f"  CPU/request: gateway {figures['cpu_us_per_request_gateway']:5.0f} us"
                    f", tickets {figures['cpu_us_per_request_tickets']:5.0f} us  load {figures['load_1m']:.1f}",
                    flush=True,
                )
    finally:
        exits.close()
        stack.stop()
        from guanjia.db import drop_postgres_database
        from guanjia.testing import _delete_broker_objects

        for service in stack.specs:
            drop_postgres_database(stack.settings[service].database_url)
        _delete_broker_objects(AMQP, prefix)
    print()
    by = {(r["target"], r["concurrency"]): r for r in results["runs"]}
    if "gunicorn" in servers:
        print(
            "| concurrency | direct req/s | gateway req/s | ratio | direct p50 | gateway p50 | added p50 "
            "| gateway CPU / request | tickets CPU / request | API key req/s | nginx (proxy only) req/s, ratio, added p50 |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            direct = by[("GET ticket, direct to tickets", concurrency)]
            gateway = by[("GET ticket, through the gateway", concurrency)]
            keyed_run = by[("GET ticket, gateway with an API key", concurrency)]
            print(
                f"| {concurrency} | {direct['rps']:.0f} | {gateway['rps']:.0f} | {gateway['rps'] / direct['rps']:.2f} | "
                f"{direct['p50_ms']:.2f} ms | {gateway['p50_ms']:.2f} ms | {gateway['p50_ms'] - direct['p50_ms']:+.2f} ms | "
                f"{gateway['cpu_us_per_request_gateway']:.0f} µs | {direct['cpu_us_per_request_tickets']:.0f} µs | "
                f"{keyed_run['rps']:.0f} | {_nginx_cell(by, direct, concurrency)} |"
            )
    if len(servers) > 1 or "gunicorn" not in servers or args.create:
        _server_table(by, [s for s in ("gunicorn", "granian") if s in servers], args)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    target = out / f"gateway-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    target.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"results written to {target.relative_to(HERE.parent)}")
    return 0


def _group_of(stack, wsgi: str) -> int:
    """The process group of the gunicorn serving `wsgi` (started in a session of its own: master and workers)."""
    for proc in stack.processes:
        if wsgi in proc.args:
            return os.getpgid(proc.pid)
    raise LookupError(wsgi)


def _cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in the group, from /proc (workers are long-lived: none exit)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "(comm)": state, ppid, pgrp, ..., utime (12), stime (13)
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _server_table(by: dict, servers: list[str], args) -> None:
    """Per server and operation: direct vs gateway throughput and CPU, and granian ÷ gunicorn for the gateway hop."""
    print()
    print(
        "| c | operation | server | direct req/s | gateway req/s | gateway ÷ direct | gateway CPU / request "
        "| tickets CPU / request (direct) | tickets CPU / request (via gateway) | load 1 min |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    operations = ["GET ticket"] + (["create ticket"] if args.create else [])
    for concurrency in [int(c) for c in args.concurrency.split(",")]:
        for operation in operations:
            hop = {}
            for server in servers:
                tag = "" if server == "gunicorn" else " [granian]"
                direct = by[(f"{operation}, direct to tickets{tag}", concurrency)]
                gateway = by[(f"{operation}, through the gateway{tag}", concurrency)]
                hop[server] = gateway["cpu_us_per_request_gateway"]
                print(
                    f"| {concurrency} | {operation} | {server} | {direct['rps']:.0f} | {gateway['rps']:.0f} | "
                    f"{gateway['rps'] / direct['rps']:.2f} | {gateway['cpu_us_per_request_gateway']:.0f} µs | "
                    f"{direct['cpu_us_per_request_tickets']:.0f} µs | {gateway['cpu_us_per_request_tickets']:.0f} µs | "
                    f"{gateway['load_1m']:.1f} |"
                )
            if len(hop) == 2:
                print(
                    f"| {concurrency} | {operation} | granian ÷ gunicorn, gateway CPU / request | | | | "
                    f"{hop['granian'] / hop['gunicorn']:.2f} | | | |"
                )


def _nginx_cell(by: dict, direct: dict, concurrency: int) -> str:
    run = by.get(("GET ticket, through nginx (proxy only)", concurrency))
    if run is None:
        return "—"
    return f"{run['rps']:.0f} ({run['rps'] / direct['rps']:.2f}, {run['p50_ms'] - direct['p50_ms']:+.2f} ms)"


if __name__ == "__main__":
    sys.exit(main())
