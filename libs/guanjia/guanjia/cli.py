"""The `guanjia` command: run (embedded or distributed), worker, migrate, seed."""

from __future__ import annotations

import argparse
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
    body = [
        rule,
        f"Guanjia 管家 is running ({mode})",
        f"  API gateway    {url}/api/v1/",
        f"  API docs       {url}/api/v1/docs",
        f"  Log in         curl -s -X POST {url}/api/v1/auth/token -H 'Content-Type: application/json' \\",
        '                   -d \'{"username": "resident", "password": "resident-demo-123"}\'',
        *[f"  {line}" for line in lines],
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
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="create/upgrade a service's database and declare its queues")
    migrate.add_argument("service", help="a service name or 'all'")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="load the demo community through the gateway API")
    seed.add_argument("--url", default="http://127.0.0.1:8000")
    seed.set_defaults(func=cmd_seed)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
