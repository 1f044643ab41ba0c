"""The `guanjia` command: run (embedded or distributed), worker, migrate, seed, dead-letters, outbox replay."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from . import config, http
from . import logging as glog


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1):
        pass


def _banner(url: str, lines: list[str], mode: str) -> str:
    rule = "=" * 72
    from .service import load_specs

    # People first: the workbench's address and the demo logins, then what programs use.
    web = [f"Workbench      {url}/", *[f"  {line}" for line in lines]] if "workbench" in load_specs() else []
    body = [
        rule,
        *web,
        f"Guanjia 管家 is running ({mode})",
        f"  API gateway    {url}/api/v1/",
        f"  API docs       {url}/api/v1/docs",
        f"  Log in         curl -s -X POST {url}/api/v1/auth/token -H 'Content-Type: application/json' \\",
        '                   -d \'{"username": "resident", "password": "home-1-101-sunny"}\'',
        *([] if web else [f"  {line}" for line in lines]),
        "  Stop with Ctrl-C.",
        rule,
    ]
    return "\n".join(body)


def cmd_run(args) -> int:
    from .stack import DistributedStack, EmbeddedStack

    port = args.port or int(os.environ.get("GUANJIA_PORT", "8000"))
    glog.configure("guanjia", os.environ.get("GUANJIA_CITY", "demo"), os.environ.get("GUANJIA_LOG_LEVEL", "WARNING"))
    if args.distributed:
        stack = DistributedStack(port=port, web_workers=args.web_workers, log_dir=config.var_dir() / "logs")
        mode = "distributed: gunicorn + workers on PostgreSQL and RabbitMQ; logs in var/logs/"
    else:
        stack = EmbeddedStack(host=args.host, port=port)
        mode = "embedded: one process, SQLite under var/, in-memory bus"
    stack.start()
    try:
        if args.demo:
            stack.seed()
        print(_banner(stack.url, stack.lines, mode), flush=True)
        _wait_for_signal()
    finally:
        stack.stop()
    return 0


def cmd_worker(args) -> int:
    from .runtime import Worker
    from .service import load_specs

    spec = load_specs()[args.service]
    settings = config.from_env(args.service)
    glog.configure(args.service, settings.city, settings.log_level)
    worker = Worker(spec, settings, http.upstreams_for(settings), relays=args.relays).start()
    port = args.metrics_port or int(os.environ.get("GUANJIA_METRICS_PORT", "0"))
    if port:
        from . import metrics

        # Prometheus scrapes the worker here; Kubernetes' liveness probe uses the same port.
        metrics.serve(port, settings, worker.database)
    try:
        _wait_for_signal()
    finally:
        worker.stop()
    return 0


def cmd_migrate(args) -> int:
    from .runtime import migrate
    from .service import load_specs

    specs = load_specs()
    names = list(specs) if args.service == "all" else [args.service]
    for name in names:
        migrate(specs[name], config.from_env(name))
        print(f"migrated {name}")
    return 0


def cmd_seed(args) -> int:
    from .service import load_specs
    from .stack import admin_token

    gateway = load_specs()["gateway"]
    for line in gateway.seed(args.url, admin_token(config.from_env("gateway"))):
        print(line)
    return 0


def cmd_dead_letters(args) -> int:
    from . import ops

    settings = config.from_env(args.service)
    if args.action == "list":
        letters = ops.list_dead_letters(settings, limit=args.limit)
        for letter in letters:
            print(json.dumps(letter.as_dict(), ensure_ascii=False))
        print(f"{len(letters)} dead letter(s) shown in {settings.queue_name('events.dead')}", file=sys.stderr)
        return 0
    if not args.ids and not args.all:
        print("name event ids (--id, repeatable) or --all", file=sys.stderr)
        return 2
    act = ops.replay_dead_letters if args.action == "replay" else ops.discard_dead_letters
    done = act(settings, args.ids, all_=args.all)
    for event_id in done:
        print(event_id)
    verb = "replayed onto " + settings.queue_name("events") if args.action == "replay" else "discarded"
    print(f"{len(done)} dead letter(s) {verb}", file=sys.stderr)
    missing = set(args.ids or ()) - set(done)
    if missing:
        print(f"not found in the dead-letter queue: {', '.join(sorted(missing))}", file=sys.stderr)
        return 1
    return 0


def cmd_outbox_replay(args) -> int:
    from . import ops
    from .db import Database, parse_time
    from .service import load_specs

    spec = load_specs()[args.service]
    if spec.outbox is None:
        print(f"{args.service} publishes no events", file=sys.stderr)
        return 2
    settings = config.from_env(args.service)
    try:
        since, until = parse_time(args.since), parse_time(args.until)
    except ValueError as exc:
        print(f"--since/--until must be ISO 8601 times with an offset: {exc}", file=sys.stderr)
        return 2
    database = Database(settings.database_url, pool_size=1)
    try:
        count = ops.replay_outbox(
            settings, database, spec.outbox, since=since, until=until, types=args.types, queue=args.queue
        )
    finally:
        database.dispose()
    target = f"queue {args.queue}" if args.queue else settings.exchange
    print(f"{count} event(s) from {args.service} republished to {target}, marked replay=true")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="guanjia", description="Guanjia 管家 — property management platform")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the whole system (embedded by default)")
    run.add_argument("--demo", action="store_true", help="load the demo community and logins")
    run.add_argument("--distributed", action="store_true", help="gunicorn + workers on PostgreSQL/RabbitMQ")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=None, help="gateway port (GUANJIA_PORT, default 8000)")
    run.add_argument("--web-workers", type=int, default=2, help="gunicorn workers per service (distributed)")
    run.set_defaults(func=cmd_run)

    worker = sub.add_parser("worker", help="outbox relay + event consumer of one service")
    worker.add_argument("service")
    worker.add_argument("--relays", type=int, default=1)
    worker.add_argument("--metrics-port", type=int, default=None, help="serve /metrics here (GUANJIA_METRICS_PORT)")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="create/upgrade a service's database and declare its queues")
    migrate.add_argument("service", help="a service name or 'all'")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="load the demo community through the gateway API")
    seed.add_argument("--url", default="http://127.0.0.1:8000")
    seed.set_defaults(func=cmd_seed)

    dead = sub.add_parser("dead-letters", help="inspect, replay or discard a service's dead-lettered events")
    dead.add_argument("action", choices=["list", "replay", "discard"])
    dead.add_argument("service")
    dead.add_argument("--id", dest="ids", action="append", help="event id to act on (repeatable)")
    dead.add_argument("--all", action="store_true", help="act on every dead letter")
    dead.add_argument("--limit", type=int, default=100, help="list at most this many")
    dead.set_defaults(func=cmd_dead_letters)

    outbox = sub.add_parser("outbox", help="republish already published events")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    replay = outbox_sub.add_parser("replay", help="republish a service's events of a time range (replay=true)")
    replay.add_argument("service")
    replay.add_argument("--since", required=True, help="ISO 8601 time, inclusive (2026-11-01T00:00:00+08:00)")
    replay.add_argument("--until", required=True, help="ISO 8601 time, exclusive")
    replay.add_argument("--type", dest="types", action="append", help="event type or pattern such as ticket.*")
    replay.add_argument("--queue", help="send only to this queue (an integrator's) instead of guanjia.events")
    replay.set_defaults(func=cmd_outbox_replay)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
