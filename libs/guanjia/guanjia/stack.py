"""Start the whole system: embedded (one process, threads) or distributed (gunicorn + worker processes)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from werkzeug.serving import make_server

from . import auth, config, http, web
from .runtime import Worker, migrate
from .service import instance_settings, load_specs

log = logging.getLogger("guanjia.stack")
# One port each, from the gateway's up (replica i of a service listens len(STACK_SERVICES) * i further on).
STACK_SERVICES = ["gateway", "residents", "tickets", "billing", "notifications", "workbench", "community", "staff"]
DISTRIBUTED_DEFAULTS = {
    "GUANJIA_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/guanjia_{service}",
    "GUANJIA_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",
}


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived: unwind start-up or the wait and stop every child (not an Exception on purpose:
    no `except Exception` in start-up code may swallow it)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SignalGuard:
    """Turns SIGTERM/SIGINT into Stopped in the main thread, at any moment of start-up or afterwards.

    A signal that arrives while a child is being spawned is held until the child is on the list of processes to
    stop (otherwise a process started a moment before the signal would be left running). Further signals during
    the clean-up are ignored: the clean-up finishes."""

    def __init__(self):
        self.depth = 0
        self.deferred: int | None = None
        self.stopping = False

    def install(self) -> SignalGuard:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, _frame) -> None:
        if self.stopping:
            return
        if self.depth:
            self.deferred = signum
            return
        self.stopping = True
        raise Stopped(signum)

    @contextmanager
    def critical(self):
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if not self.depth and self.deferred is not None and not self.stopping:
                self.stopping = True
                raise Stopped(self.deferred)


# The guard of this process: `guanjia run` installs it; the stacks spawn children inside its critical sections.
GUARD = SignalGuard()


class NoBannerHandler(web.ProblemRequestHandler):
    """Werkzeug's handler without its `Server: Werkzeug/x Python/y` banner (no versions for a scanner to match)."""

    def version_string(self) -> str:
        return "guanjia"

    def log_request(self, code="-", size="-") -> None:
        """Werkzeug's request line carries the query string (a searched phone or name): the services' own access
        log (route templates only) is the request log."""


def admin_token(gateway_settings) -> str:
    """A short-lived admin token for loading demo data through the API (the CLI holds the signing key)."""
    principal = auth.Principal(subject="cli:seed", role="admin", username="seed")
    return auth.issue_token(gateway_settings, principal, ttl_seconds=600)


def serving(response) -> bool:
    """A web process is up for start-up's purposes: ready, or waiting only for the demo that start-up loads next."""
    if response.status_code == 200:
        return True
    try:
        checks = response.json().get("checks") or {}
    except ValueError:
        return False
    pending = {name for name, state in checks.items() if state != "ok"}
    return response.status_code == 503 and pending == {"demo"}


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class EmbeddedStack:
    """Gateway and every service in this process: SQLite under var/, memory:// bus, workers as threads."""

    def __init__(self, env=None, host: str = "127.0.0.1", port: int = 8000):
        self.env = dict(os.environ if env is None else env)
        self.host, self.port = host, port
        self.specs = load_specs()
        # Each service reads its own settings from the same mapping (Settings.env): never from os.environ.
        self.settings = instance_settings(self.specs, self.env)
        self.upstreams: dict = {}
        self.workers: list[Worker] = []
        self.server = None
        self.lines: list[str] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.server_port if self.server else self.port}"

    def start(self) -> EmbeddedStack:
        """A failure or a signal (Stopped) during start-up stops the threads and the server started before it."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> EmbeddedStack:
        for name, spec in self.specs.items():
            migrate(spec, self.settings[name])
        for name, spec in self.specs.items():
            if name != "gateway":
                self.upstreams[name] = http.WsgiUpstream(name, spec.create_app(self.settings[name], self.upstreams))
        gateway = self.specs["gateway"]
        gateway_app = gateway.create_app(self.settings["gateway"], self.upstreams)
        # The services reach the gateway's own internal routes (staff contacts) in-process as well.
        self.upstreams["gateway"] = http.WsgiUpstream("gateway", gateway_app)
        # Consumers first: on memory:// an event published before its queue exists would be lost.
        for name, spec in self.specs.items():
            if spec.handlers:
                self.workers.append(Worker(spec, self.settings[name], self.upstreams).start())
        for name, spec in self.specs.items():
            if spec.outbox is not None and not spec.handlers:
                self.workers.append(Worker(spec, self.settings[name], self.upstreams).start())
        if gateway.bootstrap:
            self.lines += gateway.bootstrap(self.settings["gateway"])
        self.server = make_server(self.host, self.port, gateway_app, threaded=True, request_handler=NoBannerHandler)
        threading.Thread(target=self.server.serve_forever, name="http", daemon=True).start()
        return self

    def seed(self) -> None:
        gateway = self.specs["gateway"]
        if gateway.seed:
            self.lines += gateway.seed(self.url, admin_token(self.settings["gateway"]))

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()  # the port is free when stop() returns
            self.server = None
        # Every worker told first, then each waited for: their threads wind down together (≈ 1 s, not 4).
        for worker in self.workers:
            worker.stop_event.set()
        for worker in self.workers:
            worker.stop()
        self.workers.clear()


class DistributedStack:
    """Every service as gunicorn plus `guanjia worker`, on PostgreSQL and RabbitMQ (no Docker needed)."""

    def __init__(
        self,
        env=None,
        port: int = 8000,
        web_workers: int = 2,
        log_dir: Path | None = None,
        *,
        web_replicas: int = 1,
        worker_replicas: int = 1,
    ):
        """web_replicas gunicorn instances per service (replica i listens on its port + 6*i, like pods behind a
        Service) and worker_replicas `guanjia worker` processes per service: the scale-out shape of deploy/k8s."""
        base = dict(os.environ if env is None else env)
        for key, value in DISTRIBUTED_DEFAULTS.items():
            base.setdefault(key, value)
        # Keys generated under var/ when none are given, as in embedded mode (every process gets the same ones).
        if not base.get("GUANJIA_JWT_PRIVATE_KEY") and not base.get("GUANJIA_JWT_PRIVATE_KEY_FILE"):
            base["GUANJIA_JWT_PRIVATE_KEY"] = config.local_signing_key(config.var_dir(base), "jwt-signing.key")
        if not base.get("GUANJIA_SERVICE_KEY") and not base.get("GUANJIA_SERVICE_KEY_FILE"):
            base["GUANJIA_SERVICE_KEY"] = config.local_signing_key(config.var_dir(base), "service-signing.key")
        if not base.get("GUANJIA_PII_KEY") and not base.get("GUANJIA_PII_KEY_FILE"):
            base["GUANJIA_PII_KEY"] = config.local_jwt_secret(config.var_dir(base), "pii.key")
        if not base.get("GUANJIA_WORKBENCH_SECRET") and not base.get("GUANJIA_WORKBENCH_SECRET_FILE"):
            base["GUANJIA_WORKBENCH_SECRET"] = config.local_jwt_secret(config.var_dir(base), "workbench.key")
        self.ports = {name: port + offset for offset, name in enumerate(STACK_SERVICES)}
        for name, service_port in self.ports.items():
            base.setdefault(f"GUANJIA_{name.upper()}_URL", f"http://127.0.0.1:{service_port}")
        self.env = base
        self.web_workers = web_workers
        self.web_replicas, self.worker_replicas = web_replicas, worker_replicas
        self.specs = load_specs()
        self.settings = instance_settings(self.specs, self.env)
        self.processes: list[subprocess.Popen] = []
        self.launches: list[tuple] = []  # (name, argv, extra env) of each process, to restart it
        self.log_dir = log_dir
        self.lines: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def replica_urls(self, name: str) -> list[str]:
        """Every web replica of `name` (the first is the one GUANJIA_<NAME>_URL names)."""
        return [f"http://127.0.0.1:{self.ports[name] + len(STACK_SERVICES) * i}" for i in range(self.web_replicas)]

    def _spawn(self, name: str, argv: list[str], extra_env: dict | None = None) -> None:
        out = subprocess.DEVNULL
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        # Each child runs in a session of its own (a terminal's Ctrl-C reaches only us; we stop them in order), so
        # it must be on self.processes before a signal may interrupt us: stop() kills exactly that list.
        with GUARD.critical():
            self.processes.append(
                subprocess.Popen(
                    argv,
                    env={**self.env, **(extra_env or {})},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        # How to start it again if it dies (see supervise).
        self.launches.append((name, argv, extra_env))

    def start(self, timeout: float = 60.0) -> DistributedStack:
        """Migrate, create the first admin, start every process and wait until each is ready. A failure or a
        signal (Stopped) at any point stops what was started before it propagates."""
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> DistributedStack:
        for name, spec in self.specs.items():
            migrate(spec, self.settings[name])
        gateway = self.specs["gateway"]
        # Before the gateway serves: its /readyz answers 200 only once the admin the banner names exists.
        if gateway.bootstrap:
            self.lines += gateway.bootstrap(self.settings["gateway"])
        bindir = Path(sys.executable).parent
        metrics_root = Path(tempfile.mkdtemp(prefix="guanjia-metrics-"))
        self._metrics_root = metrics_root
        for name, spec in self.specs.items():
            for replica, url in enumerate(self.replica_urls(name)):
                self._spawn_web(name, replica, url, metrics_root, bindir)
            if spec.handlers or spec.outbox is not None:
                for replica in range(self.worker_replicas):
                    self._spawn(f"{name}-worker-{replica}", [str(bindir / "guanjia"), "worker", name])
        self.wait_ready(timeout)
        self.supervise()
        return self

    def supervise(self, interval: float = 1.0) -> None:
        """Restart any process of the stack that exits while it runs (a crash, an OOM kill), with back-off."""
        self._stopping = threading.Event()
        self.restarts: dict[str, int] = {}

        def loop() -> None:
            next_try: dict[int, float] = {}
            while not self._stopping.wait(interval):
                for index, proc in enumerate(list(self.processes)):
                    if proc.poll() is None or self._stopping.is_set():
                        continue
                    name, argv, extra_env = self.launches[index]
                    if time.monotonic() < next_try.get(index, 0):
                        continue
                    count = self.restarts.get(name, 0) + 1
                    log.warning("process exited, restarting", extra={"child": name, "returncode": proc.returncode})
                    self._spawn(name, argv, extra_env)
                    self.processes[index] = self.processes.pop()
                    self.launches.pop()
                    self.restarts[name] = count
                    # A process that keeps dying is restarted less and less often (at most every 30 s).
                    next_try[index] = time.monotonic() + min(30.0, 2.0 ** min(count, 5))

        threading.Thread(target=loop, name="supervisor", daemon=True).start()

    def _spawn_web(self, name: str, replica: int, url: str, metrics_root: Path, bindir: Path) -> None:
        # Each gunicorn gets its own multiprocess metrics directory (as each pod has its own emptyDir).
        metrics_dir = metrics_root / f"{name}-{replica}"
        self._spawn(
            f"{name}-web-{replica}",
            [
                str(bindir / "gunicorn"),
                f"{name}.wsgi:app",
                # The images' configuration (threads, keep-alive, hooks); only what differs per process on top,
                # and a short graceful timeout so that a stack in a terminal stops at once.
                "-c",
                "python:guanjia.gunicorn_conf",
                "--bind",
                url.removeprefix("http://"),
                "--workers",
                str(self.web_workers),
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
            ],
            # GUANJIA_SERVICE as the images set it: the configuration gives the gateway its own thread count.
            {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "GUANJIA_SERVICE": name},
        )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for url in [u for name in self.ports for u in self.replica_urls(name)]:
            while True:
                try:
                    if serving(requests.get(url + "/readyz", timeout=2)):
                        break
                except requests.RequestException:
                    pass
                dead = [p.args for p in self.processes if p.poll() is not None]
                if dead:
                    self.stop()
                    raise RuntimeError(f"process exited during start-up: {dead[0]}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{url} not ready after {timeout}s")
                time.sleep(0.2)

    def seed(self) -> None:
        gateway = self.specs["gateway"]
        if gateway.seed:
            self.lines += gateway.seed(self.url, admin_token(self.settings["gateway"]))

    def stop(self) -> None:
        """Stop every child's whole process group (gunicorn's workers too), even a group whose leader already died."""
        GUARD.stopping = True  # a second Ctrl-C must not interrupt the clean-up half-way
        if getattr(self, "_stopping", None) is not None:
            self._stopping.set()  # no restarts while stopping
        for proc in self.processes:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.processes:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        # Orphans of a leader that exited early (a gunicorn worker whose master crashed) go with their group.
        for proc in self.processes:
            _signal_group(proc, signal.SIGKILL)
        self.processes.clear()
        self.launches.clear()
        metrics_root = getattr(self, "_metrics_root", None)
        if metrics_root is not None:
            shutil.rmtree(metrics_root, ignore_errors=True)
