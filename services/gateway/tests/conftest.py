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


@pytest.fixture(scope="session")
def tickets_settings(infra):
    return infra.settings("tickets")


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
