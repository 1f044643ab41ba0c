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
from pathlib import Path

import requests
from werkzeug.serving import make_server

from . import auth, config, http, web
from .runtime import Worker, migrate
from .service import load_specs

log = logging.getLogger("guanjia.stack")
DISTRIBUTED_DEFAULTS = {
    "GUANJIA_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/guanjia_{service}",
    "GUANJIA_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",
}


def admin_token(gateway_settings) -> str:
    """A short-lived admin token for loading demo data through the API (the CLI holds the signing key)."""
    principal = auth.Principal(subject="cli:seed", role="admin", username="seed")
    return auth.issue_token(gateway_settings, principal, ttl_seconds=600)


class EmbeddedStack:
    """Gateway and every service in this process: SQLite under var/, memory:// bus, workers as threads."""

    def __init__(self, env=None, host: str = "127.0.0.1", port: int = 8000):
        self.env = dict(os.environ if env is None else env)
        self.host, self.port = host, port
        self.specs = load_specs()
        self.settings = {name: config.from_env(name, self.env) for name in self.specs}
        self.upstreams: dict = {}
        self.workers: list[Worker] = []
        self.server = None
        self.lines: list[str] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.server_port if self.server else self.port}"

    def start(self) -> EmbeddedStack:
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
        self.server = make_server(
            self.host, self.port, gateway_app, threaded=True, request_handler=web.ProblemRequestHandler
        )
        threading.Thread(target=self.server.serve_forever, name="http", daemon=True).start()
        return self

    def seed(self) -> None:
        gateway = self.specs["gateway"]
        if gateway.seed:
            self.lines += gateway.seed(self.url, admin_token(self.settings["gateway"]))

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
        for worker in self.workers:
            worker.stop()


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
        """web_replicas gunicorn instances per service (replica i listens on its port + 5*i, like pods behind a
        Service) and worker_replicas `guanjia worker` processes per service: the scale-out shape of deploy/k8s."""
        base = dict(os.environ if env is None else env)
        for key, value in DISTRIBUTED_DEFAULTS.items():
            base.setdefault(key, value)
        # Keys generated under var/ when none are given, as in embedded mode (every process gets the same ones).
        if not base.get("GUANJIA_JWT_PRIVATE_KEY") and not base.get("GUANJIA_JWT_PRIVATE_KEY_FILE"):
            base["GUANJIA_JWT_PRIVATE_KEY"] = config.local_signing_key(config.var_dir(base), "jwt-signing.key")
        if not base.get("GUANJIA_SERVICE_KEY") and not base.get("GUANJIA_SERVICE_KEY_FILE"):
            base["GUANJIA_SERVICE_KEY"] = config.local_signing_key(config.var_dir(base), "service-signing.key")
        if not base.get("GUANJIA_PII_KEY"):
            base["GUANJIA_PII_KEY"] = config.local_jwt_secret(config.var_dir(base), "pii.key")
        self.ports = {
            name: port + offset
            for offset, name in enumerate(["gateway", "residents", "tickets", "billing", "notifications"])
        }
        for name, service_port in self.ports.items():
            base.setdefault(f"GUANJIA_{name.upper()}_URL", f"http://127.0.0.1:{service_port}")
        self.env = base
        self.web_workers = web_workers
        self.web_replicas, self.worker_replicas = web_replicas, worker_replicas
        self.specs = load_specs()
        self.settings = {name: config.from_env(name, self.env) for name in self.specs}
        self.processes: list[subprocess.Popen] = []
        self.log_dir = log_dir
        self.lines: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def replica_urls(self, name: str) -> list[str]:
        """Every web replica of `name` (the first is the one GUANJIA_<NAME>_URL names)."""
        return [f"http://127.0.0.1:{self.ports[name] + 5 * i}" for i in range(self.web_replicas)]

    def _spawn(self, name: str, argv: list[str], extra_env: dict | None = None) -> None:
        out = subprocess.DEVNULL
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.processes.append(
            subprocess.Popen(
                argv,
                env={**self.env, **(extra_env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def start(self, timeout: float = 60.0) -> DistributedStack:
        for name, spec in self.specs.items():
            migrate(spec, self.settings[name])
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
        gateway = self.specs["gateway"]
        if gateway.bootstrap:
            self.lines += gateway.bootstrap(self.settings["gateway"])
        return self

    def _spawn_web(self, name: str, replica: int, url: str, metrics_root: Path, bindir: Path) -> None:
        # Each gunicorn gets its own multiprocess metrics directory (as each pod has its own emptyDir).
        metrics_dir = metrics_root / f"{name}-{replica}"
        self._spawn(
            f"{name}-web-{replica}",
            [
                str(bindir / "gunicorn"),
                f"{name}.wsgi:app",
                "-c",
                "python:guanjia.gunicorn_hooks",
                "--bind",
                url.removeprefix("http://"),
                "--workers",
                str(self.web_workers),
                "--worker-class",
                "gthread",
                "--threads",
                "8",
                "--keep-alive",
                "30",
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
            ],
            {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
        )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for url in [u for name in self.ports for u in self.replica_urls(name)]:
            while True:
                try:
                    if requests.get(url + "/readyz", timeout=2).status_code == 200:
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
        for proc in self.processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.processes:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.processes.clear()
        metrics_root = getattr(self, "_metrics_root", None)
        if metrics_root is not None:
            shutil.rmtree(metrics_root, ignore_errors=True)
