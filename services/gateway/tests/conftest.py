"""Fixtures of the gateway service tests: the gateway on real PostgreSQL, the real tickets app as upstream."""

import socket
import threading
import uuid
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from guanjia.http import HttpUpstream, WsgiUpstream
from guanjia.service import load_specs
from guanjia.testing import auth_header


@pytest.fixture(scope="session")
def gateway_settings(infra):
    return infra.settings("gateway")


@pytest.fixture
def create_user(client, admin_headers, unique):
    """create_user(**fields) → (request body, created user), through the API as an admin."""

    def create(**fields):
        body = {"username": unique("user"), "password": "correct-horse-1", "role": "butler", **fields}
        response = client.post("/api/v1/users", headers=admin_headers, json=body)
        assert response.status_code == 201, response.json
        return body, response.json

    return create


@pytest.fixture
def login(client):
    """login(username, password) → the token response."""
    return lambda username, password: client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    )


class Clock:
    """An injectable UTC clock the tests move forward (code expiry, lockout windows) instead of sleeping."""

    def __init__(self):
        from guanjia.db import utcnow

        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **delta):
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(scope="session")
def tickets_settings(infra):
    return infra.settings("tickets")


@pytest.fixture(scope="session")
def residents_settings(infra):
    return infra.settings("residents")


@pytest.fixture(scope="session")
def residents_app(residents_settings):
    """The real residents service, called in-process (sign-in by phone, API-key scope)."""
    return load_specs()["residents"].create_app(residents_settings, {})


@pytest.fixture(scope="session")
def tickets_app(tickets_settings):
    return load_specs()["tickets"].create_app(tickets_settings, {})


@contextmanager
def serving(app):
    """`app` on a real HTTP server on a free local port, for the distributed-mode paths."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def tickets_url(tickets_app):
    with serving(tickets_app) as url:
        yield url


@pytest.fixture(scope="session")
def gateway_app(gateway_settings, tickets_app):
    """Embedded mode: the tickets app is called in-process."""
    from gateway.app import create_app

    return create_app(gateway_settings, upstreams={"tickets": WsgiUpstream("tickets", tickets_app)})


@pytest.fixture(scope="session")
def distributed_gateway_app(gateway_settings, tickets_url):
    """Distributed mode: the tickets app is reached over HTTP."""
    from gateway.app import create_app

    return create_app(gateway_settings, upstreams={"tickets": HttpUpstream("tickets", tickets_url)})


@pytest.fixture
def client(gateway_app):
    return gateway_app.test_client()


@pytest.fixture(params=["embedded", "distributed"])
def routed_client(request, gateway_app, distributed_gateway_app):
    """The gateway in either run mode: routed behaviour must not depend on it."""
    app = gateway_app if request.param == "embedded" else distributed_gateway_app
    return app.test_client()


@pytest.fixture
def admin_headers(gateway_settings):
    """An admin's Authorization header (a token signed as the gateway signs them)."""
    return auth_header(gateway_settings, "admin")


@pytest.fixture
def unique():
    """A name no other test (or earlier run on the same database) has used."""
    return lambda name: f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def serve():
    """serve(app) → a context manager running `app` on a real local HTTP port, yielding its base URL."""
    return serving


@pytest.fixture
def closed_port():
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _release_connections(monkeypatch):
    """Gateway apps built inside a test give their PostgreSQL connections back when it ends (the server is shared
    by several test sessions; idle pools of finished tests would exhaust it)."""
    import gateway.app
    from guanjia.db import Database

    created = []

    class TrackedDatabase(Database):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(gateway.app, "Database", TrackedDatabase)
    yield
    for database in created:
        database.dispose()
