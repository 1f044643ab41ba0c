"""The gateway's keep-alive connections to a service, against a scripted HTTP server on a local socket."""

import socket
import threading
import time

import pytest

from gateway.pool import ConnectionPool
from guanjia.errors import UpstreamUnavailable


class ScriptedServer:
    """Accepts connections; for each request read, calls `answer(index, request bytes)` → bytes to send, or None to
    close the connection without answering. `close_after` closes a connection after that many answers on it."""

    def __init__(self, answer, close_after=None):
        self.answer = answer
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buffer = b""
        answered = 0
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(rest) < length:
                    rest += conn.recv(65536)
                request, buffer = head + b"\r\n\r\n" + rest[:length], rest[length:]
                with self._lock:
                    index = len(self.requests)
                    self.requests.append(request)
                reply = self.answer(index, request)
                if reply is None:
                    return
                conn.sendall(reply)
                answered += 1
                if self.close_after is not None and answered >= self.close_after:
                    return

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.listener.close()


def ok(body=b'{"ok":true}', status="200 OK", headers=()):
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.fixture
def serve():
    servers = []

    def start(answer, **kwargs):
        server = ScriptedServer(answer, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def call(pool, method="GET", target="/api/v1/tickets", headers=None, body=b"", read_timeout=2.0):
    return pool.request(method, target, headers or {"X-Request-ID": "r-1"}, body, 1.0, read_timeout)


def test_the_request_goes_out_as_http_1_1_with_host_length_and_the_given_headers(serve):
    server = serve(lambda i, request: ok())
    pool = ConnectionPool("tickets", server.url + "/base/")
    status, headers, body = call(pool, "POST", "/api/v1/tickets?x=1", {"X-Request-ID": "r-9"}, b'{"a":1}')
    assert (status, body) == (200, b'{"ok":true}')
    assert ("Content-Type", "application/json") in headers
    head, _, sent_body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /base/api/v1/tickets?x=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}" in lines and "X-Request-ID: r-9" in lines
    assert "Content-Length: 7" in lines and sent_body == b'{"a":1}'
    # A POST without a body still says so, as http.client did.
    call(pool, "POST", "/x")
    assert b"Content-Length: 0" in server.requests[1]


def test_one_connection_carries_the_requests_one_after_another(serve):
    server = serve(lambda i, request: ok(str(i).encode()))
    pool = ConnectionPool("tickets", server.url)
    assert [call(pool)[2] for _ in range(5)] == [b"0", b"1", b"2", b"3", b"4"]
    assert server.connections == 1


def test_a_connection_the_service_closed_while_idle_is_never_sent_on(serve):
    # The service answers once per connection and closes it (its keep-alive ran out): a POST must still get through.
    server = serve(lambda i, request: ok(), close_after=1)
    pool = ConnectionPool("tickets", server.url)
    assert call(pool, "POST", body=b"{}")[0] == 200
    time.sleep(0.1)  # the close reaches the gateway's side
    assert call(pool, "POST", body=b"{}")[0] == 200
    assert len(server.requests) == 2 and server.connections == 2


def test_a_get_on_a_connection_that_breaks_is_sent_once_more_on_a_new_one(serve):
    server = serve(lambda i, request: None if i == 1 else ok(str(i).encode()))
    pool = ConnectionPool("tickets", server.url)
    assert call(pool)[2] == b"0"
    assert call(pool)[2] == b"2"  # the second request died with its connection; re-sent, answered
    assert len(server.requests) == 3 and server.connections == 2


def test_a_post_on_a_connection_that_breaks_is_a_502_and_never_sent_twice(serve):
    server = serve(lambda i, request: None if i == 1 else ok())
    pool = ConnectionPool("tickets", server.url)
    call(pool, "POST", body=b"{}")
    with pytest.raises(UpstreamUnavailable) as raised:
        call(pool, "POST", body=b"{}")
    assert raised.value.status == 502 and "closed the connection" in raised.value.detail
    assert len(server.requests) == 2  # the service may have applied it: the client retries with its Idempotency-Key


def test_a_get_that_breaks_twice_is_a_502(serve):
    server = serve(lambda i, request: None)
    with pytest.raises(UpstreamUnavailable) as raised:
        call(ConnectionPool("tickets", server.url))
    assert raised.value.status == 502
    assert len(server.requests) == 2


def test_no_answer_in_time_is_a_504(serve):
    server = serve(lambda i, request: time.sleep(1) or ok())
    with pytest.raises(UpstreamUnavailable) as raised:
        call(ConnectionPool("tickets", server.url), read_timeout=0.2)
    assert raised.value.status == 504
    assert len(server.requests) == 1  # a timeout is not re-sent


def test_a_refused_connection_is_a_502():
    unused = socket.socket()
    unused.bind(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()  # bound, never listening: the connection is refused
    with pytest.raises(UpstreamUnavailable) as raised:
        call(ConnectionPool("tickets", f"http://127.0.0.1:{port}"))
    assert raised.value.status == 502 and "unreachable" in raised.value.detail


def test_chunked_answers_are_joined_and_repeated_headers_kept(serve):
    chunked = (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    server = serve(lambda i, request: chunked if i == 0 else ok())
    pool = ConnectionPool("tickets", server.url)
    status, headers, body = call(pool)
    assert (status, body) == (201, b"hello world")
    assert [v for k, v in headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert call(pool)[0] == 200 and server.connections == 1  # the connection stays usable after a chunked answer


def test_an_answer_without_a_length_runs_to_the_close_and_the_connection_is_not_kept(serve):
    server = serve(lambda i, request: b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it", close_after=1)
    pool = ConnectionPool("tickets", server.url)
    assert call(pool)[2] == b"all of it"
    assert call(pool)[2] == b"all of it"
    assert server.connections == 2


def test_connection_close_is_honoured_and_head_has_no_body(serve):
    server = serve(lambda i, request: ok(b"", headers=["Connection: close"]) if i == 0 else ok(b"12345"))
    pool = ConnectionPool("tickets", server.url)
    assert call(pool)[0] == 200
    # HEAD: Content-Length describes the GET's body, none follows.
    assert call(pool, "HEAD")[2] == b""
    assert server.connections == 2


def test_a_short_body_is_a_broken_answer(serve):
    server = serve(lambda i, request: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close_after=1)
    with pytest.raises(UpstreamUnavailable) as raised:
        call(ConnectionPool("tickets", server.url), "POST", body=b"{}")
    assert raised.value.status == 502


def test_not_http_is_a_broken_answer(serve):
    server = serve(lambda i, request: b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(UpstreamUnavailable) as raised:
        call(ConnectionPool("tickets", server.url), "POST", body=b"{}")
    assert raised.value.status == 502


@pytest.mark.parametrize(
    "target, headers",
    [("/x", {"X-Request-ID": "r\r\nX-Injected: 1"}), ("/x\r\nX-Injected: 1", {}), ("/x", {"Accept": "a\nb"})],
)
def test_a_line_break_in_a_header_or_the_target_is_refused_before_anything_is_sent(serve, target, headers):
    server = serve(lambda i, request: ok())
    with pytest.raises(ValueError):
        call(ConnectionPool("tickets", server.url), target=target, headers=headers)
    assert server.requests == []


def test_a_large_body_is_sent_whole(serve):
    server = serve(lambda i, request: ok())
    body = bytes(range(256)) * 4096  # 1 MiB: sent apart from the head
    call(ConnectionPool("tickets", server.url), "POST", body=body)
    assert server.requests[0].endswith(body)


def test_interim_answers_are_skipped(serve):
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
    server = serve(lambda i, request: interim + ok(b"final"))
    pool = ConnectionPool("tickets", server.url)
    assert call(pool, "POST", body=b"{}")[::2] == (200, b"final")
    assert call(pool)[2] == b"final" and server.connections == 1


def test_through_the_router_hop_by_hop_headers_stop_and_the_trace_goes_on(serve):
    import io

    from gateway.routing import Router
    from guanjia.auth import Principal, issue_token
    from guanjia.config import Settings
    from guanjia.http import HttpUpstream

    chunked = (
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: keep-alive\r\nKeep-Alive: timeout=30\r\nX-Request-ID: r-7\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    )
    server = serve(lambda i, request: chunked)
    settings = Settings(
        service="gateway", database_url="sqlite://", jwt_private_key="AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"
    )
    token = issue_token(settings, Principal(subject="r1", role="resident", units=("u1",)))
    router = Router(None, settings, {"tickets": HttpUpstream("tickets", server.url)})
    body = b'{"unit_id": "u1"}'
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/tickets",
        "QUERY_STRING": "q=\u00e4\u00b8\u00ad",  # raw UTF-8 of 中 as the WSGI server hands it over (latin-1)
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_AUTHORIZATION": "Bearer " + token,
        "HTTP_X_REQUEST_ID": "r-7",
        "HTTP_TRACEPARENT": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "HTTP_CONNECTION": "keep-alive",
        "HTTP_KEEP_ALIVE": "300",
        "HTTP_COOKIE": "session=s",
    }
    answered = []
    payload = b"".join(router(environ, lambda status, headers, exc_info=None: answered.append((status, headers))))
    status, headers = answered[0]
    assert status == "201 Created" and payload == b"{}"
    names = {name.lower() for name, _ in headers}
    assert not names & {"transfer-encoding", "connection", "keep-alive"}
    assert ("Content-Length", "2") in headers and ("X-Request-ID", "r-7") in headers
    sent = server.requests[0].decode("latin-1")
    assert sent.startswith("POST /api/v1/tickets?q=%E4%B8%AD HTTP/1.1\r\n")
    assert "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n" in sent
    assert "X-Request-ID: r-7\r\n" in sent and sent.endswith(body.decode())
    # What the client said about its own connection, and its cookies, stay at the gateway.
    assert "Keep-Alive" not in sent and "Connection" not in sent and "Cookie" not in sent
