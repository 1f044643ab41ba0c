"""The `guanjia` command: run, worker, migrate, seed, users, load, jobs, config check, dead-letters, outbox replay."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time

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


class UsageError(Exception):
    """A wrong service name, job name or argument: printed as one line naming the allowed values (exit 2)."""


def _spec(name: str, *, with_jobs: bool = False):
    from .service import load_specs

    specs = load_specs()
    if with_jobs:
        specs = {key: spec for key, spec in specs.items() if spec.periodic}
    if name not in specs:
        raise UsageError(f"unknown service {name!r}; one of: {', '.join(specs)}")
    return specs[name]


def _port(args) -> int:
    if args.port:
        return args.port
    raw = os.environ.get("GUANJIA_PORT", "8000")
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise config.ConfigError([f"GUANJIA_PORT: a TCP port number from 1 to 65535 (got {raw!r})"])
    return int(raw)


def cmd_run(args) -> int:
    from .stack import GUARD, DistributedStack, EmbeddedStack, Stopped

    # From here on SIGTERM/SIGINT unwind whatever start-up is doing, and the finally below stops every child.
    GUARD.install()
    stack = None
    try:
        port = _port(args)
        # INFO unless GUANJIA_LOG_LEVEL says otherwise: the console SMS and the requests show after the banner.
        glog.configure("guanjia", os.environ.get("GUANJIA_CITY", "demo"), config.log_level())
        if args.demo:
            os.environ["GUANJIA_DEMO"] = "1"  # the gateway's /readyz then waits for the demo logins too
        if args.distributed:
            stack = DistributedStack(port=port, web_workers=args.web_workers, log_dir=config.var_dir() / "logs")
            mode = "distributed: gunicorn + workers on PostgreSQL and RabbitMQ; logs in var/logs/"
        else:
            stack = EmbeddedStack(host=args.host, port=port)
            mode = "embedded: one process, SQLite under var/, in-memory bus"
        stack.start()
        if args.demo:
            stack.seed()
        print(_banner(stack.url, stack.lines, mode), flush=True)
        while True:
            time.sleep(3600)
    except Stopped as stopped:
        print(f"{stopped.args[0]}: stopping", file=sys.stderr, flush=True)
        return 0
    except (config.ConfigError, UsageError):
        raise
    except Exception as exc:
        # Start-up failed (a database that refuses, a port in use, a process that exited): everything stops.
        print(f"start-up failed: {exc.__class__.__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        GUARD.stopping = True
        if stack is not None:
            stack.stop()


def cmd_worker(args) -> int:
    from .runtime import Worker

    spec = _spec(args.service)
    settings = config.from_env(args.service)
    glog.configure(args.service, settings.city, settings.log_level)
    from . import tracing

    tracing.configure(args.service)
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
    names = list(specs) if args.service == "all" else [_spec(args.service).name]
    for name in names:
        settings = config.from_env(name)
        migrate(specs[name], settings)
        print(f"migrated {name}")
        # The first admin (GUANJIA_ADMIN_PASSWORD, or a generated one printed here once): compose and Kubernetes
        # run only `guanjia migrate`, and the gateway reports ready once the admin exists.
        if specs[name].bootstrap:
            for line in specs[name].bootstrap(settings):
                print(line)
    return 0


def _gateway_call(hook: str):
    """The gateway's operator hook and an admin token for it (the CLI holds the token signing key)."""
    from .stack import admin_token

    gateway = _spec("gateway")
    return getattr(gateway, hook), admin_token(config.from_env("gateway"))


def cmd_users(args) -> int:
    users, token = _gateway_call("users")
    options = {
        "role": getattr(args, "role", None),
        "password": getattr(args, "password", None),
        "display_name": getattr(args, "display_name", None),
        "communities": getattr(args, "communities", None),
        "zones": getattr(args, "zones", None),
    }
    for line in users(args.url, token, args.action, args.username, **options):
        print(line)
    return 0


def cmd_load(args) -> int:
    load, token = _gateway_call("load")
    for line in load(args.url, token, args.file):
        print(line)
    return 0


def cmd_config_check(args) -> int:
    from .service import check_instance, load_specs

    specs = load_specs()
    _settings, problems = check_instance(specs)
    if problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) in the configuration", file=sys.stderr)
        return 1
    mode = "embedded" if config.from_env("gateway").embedded else "distributed"
    print(f"configuration ok ({mode}; services: {', '.join(specs)})")
    return 0


def cmd_jobs(args) -> int:
    from .db import Database
    from .jobs import last_runs
    from .service import load_specs

    if args.action == "run":
        return _run_job(args)
    specs = {name: spec for name, spec in load_specs().items() if spec.periodic}
    if args.service:
        specs = {args.service: _spec(args.service, with_jobs=True)}
    for name, spec in specs.items():
        database = Database(config.from_env(name).database_url, pool_size=1)
        try:
            runs = last_runs(database)
        finally:
            database.dispose()
        for job, every, _fn in spec.periodic:
            run = runs.get(job)
            last = f"last run {run['last_run_at'].isoformat()} {run['outcome']}" if run else "not run yet"
            if run and run["outcome"] == "ok" and run["result"]:
                last += f" ({run['result']})"
            if run and run["last_success_at"] and run["outcome"] != "ok":
                last += f", last success {run['last_success_at'].isoformat()}"
            print(f"{name} {job}: every {every:g}s, {last}")
    return 0


def _run_job(args) -> int:
    from .runtime import Worker

    spec = _spec(args.service, with_jobs=True)
    names = [job for job, _every, _fn in spec.periodic]
    if args.job not in names:
        raise UsageError(f"{args.service} has no job {args.job!r}; one of: {', '.join(names)}")
    settings = config.from_env(args.service)
    glog.configure(args.service, settings.city, settings.log_level)
    worker = Worker(spec, settings, http.upstreams_for(settings))
    try:
        run = worker.run_job(args.job)
    finally:
        worker.stop()
    print(
        f"{args.service} {args.job}: {run.outcome} in {run.duration_seconds:.2f}s"
        + (f" ({run.result})" if run.result else "")
    )
    return 0 if run.outcome == "ok" else 1


def cmd_seed(args) -> int:
    seed, token = _gateway_call("seed")
    for line in seed(args.url, token):
        print(line)
    return 0


def cmd_dead_letters(args) -> int:
    from . import ops

    # Any queue owner, not only an installed service: the dead-letter queue is found by its name.
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

    spec = _spec(args.service)
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


def cmd_outbox_dead(args) -> int:
    """`guanjia outbox dead|retry SERVICE`: the rows the relay set aside, and giving them another try."""
    from . import outbox
    from .db import Database
    from .service import load_specs

    spec = load_specs()[args.service]
    if spec.outbox is None:
        print(f"{args.service} publishes no events", file=sys.stderr)
        return 2
    settings = config.from_env(args.service)
    database = Database(settings.database_url, pool_size=1)
    try:
        with database.transaction() as session:
            if args.outbox_command == "dead":
                rows = outbox.dead_rows(session, spec.outbox, settings.outbox_max_attempts, limit=args.limit)
                for row in rows:
                    print(
                        json.dumps(
                            {
                                "id": row.id,
                                "event_type": row.event_type,
                                "created_at": str(row.created_at),
                                "attempts": row.attempts,
                                "error": row.last_error,
                            },
                            ensure_ascii=False,
                        )
                    )
                print(f"{len(rows)} outbox row(s) set aside in {args.service}", file=sys.stderr)
                return 0
            if not args.ids and not args.all:
                print("name row ids (--id, repeatable) or --all", file=sys.stderr)
                return 2
            count = outbox.retry_dead(
                session, spec.outbox, settings.outbox_max_attempts, None if args.all else list(args.ids)
            )
    finally:
        database.dispose()
    print(f"{count} outbox row(s) of {args.service} handed back to the relay", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="guanjia", description="Guanjia 管家 — property management platform")
    parser.add_argument("--version", action="version", version=f"guanjia {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    gateway_url = os.environ.get("GUANJIA_GATEWAY_URL", "http://127.0.0.1:8000")

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

    users = sub.add_parser("users", help="create, reset the password of, or disable an account (through the API)")
    users_sub = users.add_subparsers(dest="action", required=True)
    create = users_sub.add_parser("create", help="create an account; without --password a one-time one is printed")
    create.add_argument("username")
    create.add_argument(
        "--role", required=True, help="admin, butler, senior_butler, cs_manager, engineer, finance, ..."
    )
    create.add_argument("--password", help="default: a generated one-time password, changed at the first sign-in")
    create.add_argument("--display-name")
    create.add_argument("--community", dest="communities", action="append", help="community id (repeatable)")
    create.add_argument("--zone", dest="zones", action="append", help="zone id (repeatable)")
    for action, text in (
        ("reset-password", "give the account a temporary password (printed) to change at the next sign-in"),
        ("disable", "disable the account: refresh tokens revoked, access tokens refused within a minute"),
    ):
        users_sub.add_parser(action, help=text).add_argument("username")
    for choice in users_sub.choices.values():
        choice.add_argument("--url", default=gateway_url, help="the gateway (GUANJIA_GATEWAY_URL)")
    users.set_defaults(func=cmd_users)

    load = sub.add_parser("load", help="create communities with their fee defaults and users from a JSON file")
    load.add_argument("file")
    load.add_argument("--url", default=gateway_url, help="the gateway (GUANJIA_GATEWAY_URL)")
    load.set_defaults(func=cmd_load)

    jobs = sub.add_parser("jobs", help="the periodic jobs: when each last ran and how; run one now")
    jobs_sub = jobs.add_subparsers(dest="action", required=True)
    jobs_sub.add_parser("list", help="every job of every service (or of one)").add_argument("service", nargs="?")
    run_job = jobs_sub.add_parser("run", help="run one job now (recorded like a scheduled run)")
    run_job.add_argument("service")
    run_job.add_argument("job")
    jobs.set_defaults(func=cmd_jobs)

    conf = sub.add_parser("config", help="check the configuration (every missing or bad setting)")
    conf_sub = conf.add_subparsers(dest="config_command", required=True)
    conf_sub.add_parser("check", help="name every missing or bad GUANJIA_* setting; exit 1 if any")
    conf.set_defaults(func=cmd_config_check)

    dead = sub.add_parser("dead-letters", help="inspect, replay or discard a service's dead-lettered events")
    dead.add_argument("action", choices=["list", "replay", "discard"])
    dead.add_argument("service")
    dead.add_argument("--id", dest="ids", action="append", help="event id to act on (repeatable)")
    dead.add_argument("--all", action="store_true", help="act on every dead letter")
    dead.add_argument("--limit", type=int, default=100, help="list at most this many")
    dead.set_defaults(func=cmd_dead_letters)

    outbox = sub.add_parser("outbox", help="republish events; list or retry rows the relay set aside")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    replay = outbox_sub.add_parser("replay", help="republish a service's events of a time range (replay=true)")
    replay.add_argument("service")
    replay.add_argument("--since", required=True, help="ISO 8601 time, inclusive (2026-11-01T00:00:00+08:00)")
    replay.add_argument("--until", required=True, help="ISO 8601 time, exclusive")
    replay.add_argument("--type", dest="types", action="append", help="event type or pattern such as ticket.*")
    replay.add_argument("--queue", help="send only to this queue (an integrator's) instead of guanjia.events")
    replay.set_defaults(func=cmd_outbox_replay)
    dead_rows = outbox_sub.add_parser("dead", help="rows the relay set aside (unpublishable), with the reason")
    dead_rows.add_argument("service")
    dead_rows.add_argument("--limit", type=int, default=100, help="list at most this many")
    dead_rows.set_defaults(func=cmd_outbox_dead)
    retry_rows = outbox_sub.add_parser("retry", help="hand set-aside rows back to the relay (after a fix)")
    retry_rows.add_argument("service")
    retry_rows.add_argument("--id", dest="ids", action="append", help="outbox row (event) id (repeatable)")
    retry_rows.add_argument("--all", action="store_true", help="every set-aside row")
    retry_rows.set_defaults(func=cmd_outbox_dead)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except config.ConfigError as exc:
        print("configuration error:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"guanjia {args.command}: {exc}", file=sys.stderr)
        return 2
    except _operator_errors() as exc:
        print(f"guanjia {args.command}: {exc}", file=sys.stderr)
        return 1


def _operator_errors() -> tuple:
    """Errors an operator can act on from their message alone (no traceback): an unreachable gateway, a refused
    API call (the gateway's hooks raise RuntimeError subclasses naming the request and the answer)."""
    import requests

    return (requests.ConnectionError, requests.Timeout, RuntimeError)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("guanjia")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
