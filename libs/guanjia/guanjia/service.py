"""What a service tells the `guanjia` CLI about itself (registered under the `guanjia.services` entry points)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table

from . import config

SERVICE_ORDER = ["residents", "tickets", "billing", "notifications", "community", "gateway", "workbench", "staff"]


@dataclass
class ServiceSpec:
    name: str
    create_app: Callable[..., Any]  # create_app(settings=None, upstreams=None) -> Flask
    metadata: MetaData
    migrations_dir: Path
    outbox: Table | None = None
    inbox: Table | None = None
    handlers: dict = field(default_factory=dict)
    # make_context(settings, upstreams) -> whatever the handlers receive as their first argument.
    make_context: Callable[..., Any] | None = None
    # Scheduled jobs run by the worker: [(name, every_seconds, fn(context, database))]. Several worker replicas
    # may run the same job at once, so each job must be idempotent (unique rows, SKIP LOCKED, ...).
    periodic: list = field(default_factory=list)
    # Event types this service publishes that none of ours consumes (integrators may bind them): routed to a
    # sink so that they do not fill guanjia.unrouted, which stays for what nobody expected (bus.bind_routine).
    routine_events: tuple = ()
    # bootstrap(settings) -> lines to print at start (the gateway creates the first admin here).
    bootstrap: Callable[..., list[str]] | None = None
    # seed(base_url, admin_credential) -> lines to print: loads the demo community through the API
    # (admin_credential is an admin bearer token or the admin password).
    seed: Callable[..., list[str]] | None = None
    # Operator commands through the API (the gateway's): users(base_url, token, action, username, **options) and
    # load(base_url, token, path) -> lines to print (`guanjia users ...`, `guanjia load FILE`).
    users: Callable[..., list[str]] | None = None
    load: Callable[..., list[str]] | None = None
    # own_settings(env) -> the service's own typed settings (its config.from_env), read from the variables the
    # shared settings came from (Settings.env); `guanjia config check` reports the ConfigError it raises.
    own_settings: Callable[..., Any] | None = None
    # check_config(settings) -> further problems with this service's own settings (`guanjia config check`).
    check_config: Callable[..., list[str]] | None = None
    # False for a service that never touches the broker (the workbench): `migrate` declares nothing for it.
    uses_bus: bool = True


def check_instance(specs: dict[str, ServiceSpec], env=None) -> tuple[dict, list[str]]:
    """The settings of every service of `specs` from `env` (os.environ when None) and every problem with them, each
    once: the shared settings, each service's own (ServiceSpec.own_settings) and its further checks."""
    settings: dict = {}
    problems: list[str] = []

    def note(found) -> None:
        for problem in found:
            if problem not in problems:
                problems.append(problem)

    for name, spec in specs.items():
        try:
            settings[name] = config.from_env(name, env)
        except config.ConfigError as exc:
            note(exc.problems)
            continue
        note(config.problems_of(spec.own_settings, settings[name].env))
        note(spec.check_config(settings[name]) if spec.check_config else [])
    return settings, problems


def instance_settings(specs: dict[str, ServiceSpec], env=None) -> dict:
    """Every service's settings from `env`, its own settings checked too: start-up stops before anything runs,
    with ConfigError naming every problem at once."""
    settings, problems = check_instance(specs, env)
    if problems:
        raise config.ConfigError(problems)
    return settings


def load_specs() -> dict[str, ServiceSpec]:
    """Every installed service, in start-up order."""
    found = {ep.name: ep.load() for ep in entry_points(group="guanjia.services")}
    return {name: found[name] for name in sorted(found, key=lambda n: (SERVICE_ORDER + [n]).index(n))}
