"""Private RabbitMQ nodes and PostgreSQL clusters for fault tests: started in a temp dir, stopped or killed by us.

The shared servers (127.0.0.1:5432 and :5672) serve every test session on the machine and are never stopped;
a test that takes a dependency away starts its own here (own node name, ports, data directories).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _as(user: str) -> list[str]:
    """Run as `user` when we are root (PostgreSQL refuses root; RabbitMQ's cookie belongs to its user)."""
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def _chown(path: Path, user: str) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, user, user)


class _Server:
    process: subprocess.Popen | None = None

    def kill(self) -> None:
        """kill -9 of the whole server (its process group): a crash, no clean shutdown."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        self.process = None

    def _reap(self, grace: float) -> None:
        """Wait for the stopping server to exit; kill it (process group) if it takes longer than `grace`."""
        if self.process is not None:
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def _start_up_tail(self, size: int = 2000) -> str:
        """The end of what the server said while starting: kept in the error, because its directory is removed."""
        startup = getattr(self, "root", None)
        path = startup / "startup.log" if startup is not None and (startup / "startup.log").exists() else self.log
        try:
            return Path(path).read_text(errors="replace")[-size:]
        except OSError:
            return "(no start-up log)"

    def _wait_port(self, port: int, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not _port_open(port):
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{what} exited during start-up; see {self.log}:\n{self._start_up_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not listening after {timeout}s; see {self.log}")
            time.sleep(0.2)


class PrivatePostgres(_Server):
    """A PostgreSQL cluster of our own: initdb in a temp dir, trust auth, its own port."""

    def __init__(self, port: int | None = None):
        bindir = Path(os.path.realpath(shutil.which("initdb") or "/usr/lib/postgresql/15/bin/initdb")).parent
        self.bindir = bindir
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="guanjia-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        _chown(self.root, "postgres")
        subprocess.run(
            [
                *_as("postgres"),
                str(bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def database_url_template(self, prefix: str = "guanjia") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{prefix}_{{service}}"

    def start(self, timeout: float = 60.0) -> PrivatePostgres:
        out = open(self.log, "ab")  # noqa: SIM115 - kept open for the server's lifetime
        self.process = subprocess.Popen(
            [
                *_as("postgres"),
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=300",
                "-c",
                "fsync=off",  # a throw-away cluster; synchronous_commit stays on
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_port(self.port, timeout, "private PostgreSQL")
        self._wait_accepting(timeout)
        return self

    def _wait_accepting(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(
                    f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", connect_timeout=2
                ).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        """Fast shutdown (SIGINT): clients are disconnected, as when an operator stops the database."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        self._reap(60)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRabbit(_Server):
    """A RabbitMQ node of our own: own node name, AMQP and distribution ports, mnesia and log dirs."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.dist_port = free_port()
        self.name = f"guanjia-{uuid.uuid4().hex[:8]}@localhost"
        self.root = Path(tempfile.mkdtemp(prefix="guanjia-rabbit-"))
        self.log = self.root / "log"
        (self.root / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n"
            # The shared broker's memory/disk alarms must not be reached by a test node on the same disk.
            "disk_free_limit.absolute = 50MB\n"
        )
        (self.root / "enabled_plugins").write_text("[].\n")
        (self.root / "rabbitmq-env.conf").write_text("")
        for sub in ("mnesia", "log"):
            (self.root / sub).mkdir()
        for path in (self.root, self.root / "mnesia", self.root / "log"):
            _chown(path, "rabbitmq")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")},
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_PID_FILE": str(self.root / "rabbit.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        if os.geteuid() == 0:
            self.env["HOME"] = "/var/lib/rabbitmq"  # the Erlang cookie rabbitmqctl uses too

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def start(self, timeout: float = 240.0) -> PrivateRabbit:
        out = open(self.root / "startup.log", "ab")  # noqa: SIM115 - kept open for the server's lifetime
        self.process = subprocess.Popen(
            [*_as("rabbitmq"), str(RABBITMQ_BIN / "rabbitmq-server")],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.root,
        )
        self._wait_port(self.port, timeout, "private RabbitMQ")
        self.wait_amqp(timeout)
        return self

    def wait_amqp(self, timeout: float = 60.0) -> None:
        """Until an AMQP connection opens (cheaper than `rabbitmqctl await_startup`, an Erlang VM of its own)."""
        import kombu

        deadline = time.monotonic() + timeout
        while True:
            try:
                with kombu.Connection(self.url, connect_timeout=2) as conn:
                    conn.ensure_connection(max_retries=1)
                    conn.channel()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def ctl(self, *args: str, timeout: float = 60.0, tool: str = "rabbitmqctl") -> str:
        result = subprocess.run(
            [*_as("rabbitmq"), str(RABBITMQ_BIN / tool), "-n", self.name, "-q", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout

    def alarmed(self) -> bool:
        """Whether a memory or disk alarm is in force on the node (`rabbitmq-diagnostics alarms`)."""
        return "no alarms" not in self.ctl("alarms", tool="rabbitmq-diagnostics")

    def stop_app(self) -> None:
        """The broker stops serving (connections closed), the node stays up: `rabbitmqctl stop_app`."""
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.wait_amqp()

    def close_connections(self, reason: str = "fault test") -> int:
        """`rabbitmqctl close_all_connections`: every client is disconnected at once."""
        self.ctl("close_all_connections", reason)
        return 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.ctl("stop", timeout=60)
            except Exception:
                pass
        self._reap(30)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
