"""Every web process as gunicorn runs it (`gunicorn <name>.wsgi:app`): one masked JSON log line per request, and
its spans exported over OTLP/HTTP to the collector named by the standard OTEL_* variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from guanjia.service import load_specs
from guanjia.testing import free_port_block

# The API services; the workbench (people's screens, no API of its own) is checked by its browser tests.
SERVICES = [name for name in load_specs() if name != "workbench"]
# Whole process trees on a shared 2-core machine: minutes, not the default two, when it is busy.
pytestmark = pytest.mark.timeout(600)
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
PHONE = "13800138000"
# A path of each service that answers 401 to an anonymous caller before touching its database.
PROTECTED = {"gateway": "/api/v1/users/me"}


class FakeCollector:
    """An OTLP/HTTP trace receiver (POST /v1/traces, protobuf), as an OpenTelemetry Collector or Tempo offers."""

    def __init__(self):
        self.requests: list[ExportTraceServiceRequest] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/v1/traces" and self.headers.get("Content-Type") == "application/x-protobuf":
                    message = ExportTraceServiceRequest()
                    message.ParseFromString(body)
                    collector.requests.append(message)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-protobuf")
                    self.end_headers()
                else:
                    self.send_response(404)
                    self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def spans(self) -> list[tuple[str, str, str]]:
        """(service.name, span name, trace id) of everything received."""
        found = []
        for message in self.requests:
            for resource_spans in message.resource_spans:
                attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        found.append((attributes.get("service.name"), span.name, span.trace_id.hex()))
        return found


@pytest.fixture(scope="module")
def collector():
    fake = FakeCollector()
    yield fake
    fake.server.shutdown()


@pytest.fixture(scope="module")
def web_processes(tmp_path_factory, collector):
    """Each service's gunicorn (one worker), embedded-style settings (SQLite, memory://) so no server is needed."""
    root = tmp_path_factory.mktemp("gunicorn")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUANJIA_", "OTEL_"))}
    env.update(
        {
            "GUANJIA_VAR_DIR": str(root / "var"),
            "GUANJIA_DATABASE_URL": f"sqlite:///{root}/{{service}}.db",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
    )
    base = free_port_block(len(SERVICES))
    running = {}
    for offset, name in enumerate(SERVICES):
        log = open(root / f"{name}.log", "w+b")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [
                GUNICORN,
                f"{name}.wsgi:app",
                "-c",
                "python:guanjia.gunicorn_hooks",
                "--bind",
                f"127.0.0.1:{base + offset}",
            ]
            + ["--workers", "1", "--log-level", "warning"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        running[name] = (proc, f"http://127.0.0.1:{base + offset}", root / f"{name}.log", log)
    deadline = time.monotonic() + 120
    for name, (proc, url, path, _log) in running.items():
        while True:
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, f"{name} exited: {path.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"{name} not up: {path.read_text()[-2000:]}"
            time.sleep(0.2)
    yield {name: (url, path) for name, (_p, url, path, _l) in running.items()}
    for proc, _url, _path, log in running.values():
        proc.terminate()
        proc.wait(20)
        log.close()


def _json_lines(path: Path) -> list[dict]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


@pytest.mark.parametrize("service", SERVICES)
def test_a_request_under_gunicorn_writes_one_masked_json_line(web_processes, service):
    url, log = web_processes[service]
    request_id = f"ops-{service}-{PHONE}"
    path = PROTECTED.get(service, f"/api/v1/{service}-probe?phone={PHONE}")
    answer = requests.get(url + path, headers={"X-Request-ID": request_id}, timeout=10)
    assert answer.status_code in (401, 404)
    masked = request_id.replace(PHONE, "138****8000")
    deadline = time.monotonic() + 10
    while not [line for line in _json_lines(log) if line.get("request_id") == masked] and time.monotonic() < deadline:
        time.sleep(0.1)
    mine = [line for line in _json_lines(log) if line.get("request_id") == masked]
    assert len(mine) == 1, log.read_text()[-2000:]
    [line] = mine
    assert line["service"] == service and line["logger"] == "guanjia.access" and line["status"] == answer.status_code
    assert PHONE not in log.read_text(encoding="utf-8")


@pytest.mark.parametrize("service", SERVICES)
def test_spans_reach_an_otlp_collector_named_by_the_standard_variables(web_processes, collector, service):
    url, _log = web_processes[service]
    trace_id = os.urandom(16).hex()
    requests.get(url + "/healthz", headers={"traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"}, timeout=10)
    deadline = time.monotonic() + 15
    while not [s for s in collector.spans() if s[2] == trace_id] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [(name, span) for name, span, trace in collector.spans() if trace == trace_id] == [
        (f"guanjia-{service}", "GET /healthz")
    ]
