"""`guanjia run` as an operator's supervisor meets it: a signal at any moment of start-up leaves nothing behind, and
/readyz means "log in now" (the admin and the demo logins exist)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from guanjia.testing import free_port_block

# Whole process trees on a shared 2-core machine: minutes, not the default two, when it is busy.
pytestmark = pytest.mark.timeout(600)
GUANJIA = str(Path(sys.executable).parent / "guanjia")


class Run:
    """`guanjia run` in a child process whose output is collected line by line."""

    def __init__(self, args: list[str], env: dict, var_dir: Path, port: int):
        self.var_dir, self.port = var_dir, port
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [GUANJIA, "run", "--demo", "--port", str(port), *args],
            env={**env, "GUANJIA_VAR_DIR": str(var_dir)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def banner_printed(self) -> bool:
        return any("is running" in line for line in self.lines)

    def wait_for(self, predicate, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.proc.poll() is None, f"exited before {what}:\n{self.output[-3000:]}"
            assert time.monotonic() < deadline, f"no {what} after {timeout}s:\n{self.output[-3000:]}"
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"still running 40 s after {sig.name}:\n{self.output[-3000:]}") from None


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _post_once_more_if_dropped(url: str, body: dict) -> requests.Response:
    """One CI run (of many) saw the first sign-in after /readyz dropped without an answer (RemoteDisconnected), not
    reproduced since: a connection closed unanswered is tried once more, as a client's retry would; a second drop,
    and every answer that is not a 200, still fails the test."""
    try:
        return requests.post(url, json=body, timeout=30)
    except requests.ConnectionError:
        return requests.post(url, json=body, timeout=30)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _processes_of(var_dir: Path) -> list[str]:
    """Live processes started for this run: every child inherits GUANJIA_VAR_DIR=<this test's directory>."""
    marker = f"GUANJIA_VAR_DIR={var_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_text().split(") ")[-1].startswith("Z"):
                continue
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
                found.append(f"{entry.name}: {command}")
        except (OSError, IndexError):
            continue
    return found


def _assert_nothing_left(run: Run, ports) -> None:
    deadline = time.monotonic() + 10
    while (_processes_of(run.var_dir) or any(_listening(p) for p in ports)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_of(run.var_dir) == [], run.output[-3000:]
    assert [p for p in ports if _listening(p)] == [], run.output[-3000:]


DISTRIBUTED_MOMENTS = {
    # The stack has begun (its keys are under var/) and is migrating the databases.
    "while migrating": lambda run: run.var_dir.exists() and any(run.var_dir.iterdir()),
    "once a web process listens": lambda run: any(_listening(run.port + i) for i in range(5)),
    "once the gateway answers, before the banner": lambda run: (
        _answers(f"http://127.0.0.1:{run.port}/healthz") and not run.banner_printed()
    ),
}


@pytest.mark.parametrize("moment", list(DISTRIBUTED_MOMENTS))
def test_sigterm_at_any_moment_of_a_distributed_start_leaves_no_process_and_no_port(infra, tmp_path, moment):
    env = infra.stack_env("signals", GUANJIA_ADMIN_PASSWORD="signals-admin-pw")
    # As `make run-distributed` starts it: no keys given, the stack generates them under var/.
    for key in ("GUANJIA_SERVICE_KEY", "GUANJIA_JWT_PRIVATE_KEY", "GUANJIA_PII_KEY"):
        env.pop(key)
    port = free_port_block(5)
    run = Run(["--distributed", "--web-workers", "1"], env, tmp_path / "var", port)
    reached = DISTRIBUTED_MOMENTS[moment]
    run.wait_for(lambda: reached(run), moment)
    assert run.stop() == 0, run.output[-3000:]
    _assert_nothing_left(run, range(port, port + 5))


def test_sigint_during_an_embedded_start_stops_the_process(tmp_path):
    """(SIGTERM after the banner: the readiness test below ends that way.)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUANJIA_")}
    port = free_port_block(1)
    early = Run([], env, tmp_path / "early", port)
    # Migrating: the first SQLite files exist, the server does not listen yet.
    early.wait_for(lambda: early.var_dir.exists() and any(early.var_dir.glob("*.db")), "the first database")
    assert early.stop(signal.SIGINT) == 0, early.output[-3000:]
    _assert_nothing_left(early, [port])


def test_a_start_up_failure_stops_every_child_and_says_why(infra, tmp_path):
    """A port of the block already taken: the gunicorn that cannot bind exits, and so does everything else."""
    env = infra.stack_env("signals", GUANJIA_ADMIN_PASSWORD="signals-admin-pw")
    port = free_port_block(5)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port + 3))  # billing's port
        taken.listen()
        run = Run(["--distributed", "--web-workers", "1"], env, tmp_path / "var", port)
        assert run.proc.wait(120) == 1, run.output[-3000:]
        assert "start-up failed" in run.output
        _assert_nothing_left(run, [port, port + 1, port + 2, port + 4])


def test_ready_means_the_banners_logins_work_and_the_log_shows_the_console_sms(tmp_path):
    """A script that polls /readyz and then signs in gets in (embedded, GUANJIA_LOG_LEVEL left at its default)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUANJIA_")}
    port = free_port_block(1)
    # The demo itself sends the resident five SMS at start: the per-minute cap (3) would hold this one back a minute.
    env = {**env, "GUANJIA_ADMIN_PASSWORD": "ready-admin-pw", "GUANJIA_SMS_RECIPIENT_PER_MINUTE": "50"}
    run = Run([], env, tmp_path / "var", port)
    base = f"http://127.0.0.1:{port}"
    try:
        run.wait_for(lambda: _answers(base + "/readyz"), "readiness")
        tokens = {}
        for username, password in (("resident", "home-1-101-sunny"), ("butler", "garden-walk-2026")):
            try:
                answer = _post_once_more_if_dropped(
                    base + "/api/v1/auth/token", {"username": username, "password": password}
                )
            except requests.ConnectionError as exc:  # what the process said (and whether it still runs) tells why
                raise AssertionError(f"{exc}\nexit code {run.proc.poll()}:\n{run.output[-3000:]}") from None
            assert answer.status_code == 200, (username, answer.text)
            tokens[username] = answer.json()["access_token"]
        assert requests.post(base + "/api/v1/auth/token", json={"username": "admin", "password": "ready-admin-pw"}).ok
        headers = {"Authorization": f"Bearer {tokens['resident']}"}
        unit = requests.get(base + "/api/v1/units", headers=headers).json()["items"][0]["id"]
        created = requests.post(
            base + "/api/v1/tickets",
            headers=headers,
            json={"unit_id": unit, "category": "repair", "description": "卫生间漏水"},
        )
        assert created.status_code == 201, created.text

        # INFO by default: the console SMS is logged after the banner, its phone number masked.
        # (The banner may name the demo resident by the same masked number: look only after it.)
        def after_banner() -> str:
            return run.output.split("Stop with Ctrl-C.", 1)[-1] if "Stop with Ctrl-C." in run.output else ""

        run.wait_for(lambda: "138****8000" in after_banner(), "the console SMS in the log", timeout=30)
        sms_lines = [json.loads(line) for line in after_banner().splitlines() if "138****8000" in line]
        assert sms_lines and all(line["level"] == "INFO" for line in sms_lines)
        assert "13800138000" not in run.output
    finally:
        returncode = run.stop()
    assert returncode == 0
    _assert_nothing_left(run, [port])
