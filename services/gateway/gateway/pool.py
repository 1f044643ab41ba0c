"""Kept-alive HTTP/1.1 connections from the gateway to one service: written and read here, for the routed hop."""

from __future__ import annotations

import collections
import re
import select
import socket
import ssl
from urllib.parse import urlsplit

from guanjia.errors import UpstreamUnavailable

# Pooled connections kept idle per service; more are opened when every one is busy, and closed after use.
POOL_SIZE = 32
# Safe to send twice: after a kept-alive connection turned out closed by the service, these are re-sent once.
# A POST never is (the service may have applied it): that is a 502 the client retries with its Idempotency-Key.
IDEMPOTENT = frozenset(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])


# As http.client reads an answer: lines and header count bounded, so a broken service cannot exhaust the gateway.
_MAX_LINE = 65536
_MAX_HEADERS = 100
_BODY_METHODS = frozenset(["POST", "PUT", "PATCH"])
# Request bodies up to this size go out in the same send as the head; larger ones (uploads) are not copied.
_ONE_SEND = 64 * 1024
# What no header value or request target may hold: it would end the line (header injection) or the string.
_UNSAFE = re.compile(r"[\r\n\x00]")


class _Closed(Exception):
    """The connection broke while sending the request or reading the answer (the service closed it, or reset it)."""


class ConnectionPool:
    """Idle connections to one service, last used first; a connection is held by one request at a time.

    What urllib3 did for the gateway's hop, without its per-request machinery (Timeout and Retry objects, its
    header dict, its response wrapper): a connection the service closed while it sat idle is noticed before it is
    used (as urllib3's is_connection_dropped), the connect timeout bounds connecting and sending, the read timeout
    every wait for the answer, nothing is retried here and no redirect is followed.
    """

    def __init__(self, name: str, base_url: str, maxsize: int = POOL_SIZE):
        parts = urlsplit(base_url)
        self.name = name
        self.host = parts.hostname or "localhost"
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        self.maxsize = maxsize
        self._ssl = ssl.create_default_context() if self.tls else None
        default_port = 443 if self.tls else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = f"Host: {host}" if self.port == default_port else f"Host: {host}:{self.port}"
        # deque.append/pop are atomic: the gateway's threads share the pool without a lock.
        self._idle: collections.deque = collections.deque()

    def request(
        self, method: str, target: str, headers: dict, body: bytes, connect_timeout: float, read_timeout: float
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, [(name, value)], body) of the service's answer; UpstreamUnavailable (502/504) when there is none.

        `target` is the path and query below the base URL. A broken connection is sent again once, on a new
        connection, for the idempotent methods only.
        """
        if _UNSAFE.search(method + target) or _UNSAFE.search("".join(headers.values())):
            # As http.client refused them: a line break would split the request (header injection).
            raise ValueError("a header value or the target would break the request apart")
        for attempt in (1, 2):
            conn = self._take(fresh=attempt == 2, connect_timeout=connect_timeout)
            try:
                return self._exchange(conn, method, self.prefix + target, headers, body, connect_timeout, read_timeout)
            except _Closed:
                if attempt == 2 or method not in IDEMPOTENT:
                    raise UpstreamUnavailable(
                        f"{self.name} closed the connection", status=502, title="Bad Gateway"
                    ) from None
        raise AssertionError("unreachable")

    def _take(self, *, fresh: bool, connect_timeout: float) -> _Connection:
        while not fresh:
            try:
                conn = self._idle.pop()
            except IndexError:
                break
            if _dropped(conn.sock):
                conn.close()  # closed by the service while idle (its keep-alive ran out): never sent on
                continue
            return conn
        try:
            sock = socket.create_connection((self.host, self.port), timeout=connect_timeout)
        except TimeoutError:
            raise UpstreamUnavailable(
                f"{self.name} did not answer in time", status=504, title="Gateway Timeout"
            ) from None
        except OSError:
            raise UpstreamUnavailable(f"{self.name} is unreachable", status=502, title="Bad Gateway") from None
        # As urllib3 did: the request goes out at once, not held back waiting for an ACK (Nagle).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._ssl is not None:
            try:
                sock = self._ssl.wrap_socket(sock, server_hostname=self.host)
            except OSError:
                sock.close()
                raise UpstreamUnavailable(f"{self.name} is unreachable", status=502, title="Bad Gateway") from None
        return _Connection(sock)

    def _exchange(self, conn: _Connection, method, url, headers, body, connect_timeout, read_timeout):
        head = [f"{method} {url} HTTP/1.1", self.host_header]
        for name, value in headers.items():
            head.append(f"{name}: {value}")
        if "Accept-Encoding" not in headers:
            head.append("Accept-Encoding: identity")  # what http.client (under urllib3) said for a client silent on it
        if body:
            head.append(f"Content-Length: {len(body)}")
        elif method in _BODY_METHODS:
            head.append("Content-Length: 0")
        head.append("\r\n")
        text = "\r\n".join(head)
        data = text.encode("latin-1")
        sock = conn.sock
        try:
            sock.settimeout(connect_timeout)
            try:
                if body and len(body) > _ONE_SEND:
                    sock.sendall(data)
                    sock.sendall(body)
                else:
                    sock.sendall(data + body if body else data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the service may have answered (a 413) and closed before reading all: read its answer
            except OSError as exc:
                raise _Closed from exc
            sock.settimeout(read_timeout)
            rfile = sock.makefile("rb")
            try:
                status, out, keep_alive, payload = _read_response(rfile, method)
            finally:
                rfile.close()
        except TimeoutError:
            conn.close()
            raise UpstreamUnavailable(
                f"{self.name} did not answer in time", status=504, title="Gateway Timeout"
            ) from None
        except (OSError, ValueError) as exc:
            conn.close()
            raise _Closed from exc
        except BaseException:
            conn.close()
            raise
        if keep_alive and len(self._idle) < self.maxsize:
            self._idle.append(conn)
        else:
            conn.close()
        return status, out, payload

    def close(self) -> None:
        while self._idle:
            try:
                self._idle.pop().close()
            except IndexError:
                break


class _Connection:
    __slots__ = ("sock",)

    def __init__(self, sock):
        self.sock = sock

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None


def _read_response(rfile, method: str) -> tuple[int, list[tuple[str, str]], bool, bytes]:
    """(status, headers, whether the connection stays open, body) of one HTTP/1.x answer; ValueError when it is
    not one, OSError when the connection breaks."""
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        if not line:
            raise ConnectionResetError("the service closed the connection without answering")
        version, _, rest = line.rstrip(b"\r\n").partition(b" ")
        code = rest[:3]
        if len(line) > _MAX_LINE or not version.startswith(b"HTTP/1.") or not code.isdigit() or rest[3:4] not in b" ":
            raise ValueError("not an HTTP/1.x status line")
        status = int(code)
        headers: list[tuple[str, str]] = []
        while True:
            line = rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE or len(headers) > _MAX_HEADERS:
                raise ValueError("header line too long or too many headers")
            if line in (b"\r\n", b"\n", b""):
                break
            text = line.decode("latin-1")
            if text[0] in " \t":
                if not headers:
                    raise ValueError("a continuation line before any header")
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {text.strip()}")  # obsolete line folding, unfolded
                continue
            name, sep, value = text.partition(":")
            if not sep or not name or name != name.strip():
                raise ValueError("malformed header line")
            headers.append((name, value.strip()))
        # Interim answers (100 Continue, 103 Early Hints) precede the real one; 101 would hand the connection over.
        if not 100 <= status < 200 or status == 101:
            break
    keep_alive = version == b"HTTP/1.1" and status != 101
    length = chunked = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == "connection":
            tokens = {token.strip().lower() for token in value.split(",")}
            if "close" in tokens:
                keep_alive = False
            elif "keep-alive" in tokens and version == b"HTTP/1.0":
                keep_alive = True
        elif lowered == "content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise ValueError("invalid Content-Length")
            length = int(value)
        elif lowered == "transfer-encoding":
            chunked = value.lower().rsplit(",", 1)[-1].strip() == "chunked"
            if not chunked:
                raise ValueError("a transfer coding other than chunked")
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return status, headers, keep_alive, b""
    if chunked:
        return status, headers, keep_alive, _read_chunked(rfile)
    if length is not None:
        payload = rfile.read(length)
        if len(payload) != length:
            raise ConnectionResetError("the answer ended before its Content-Length")
        return status, headers, keep_alive, payload
    # No length: the body runs until the service closes the connection.
    return status, headers, False, rfile.read()


def _read_chunked(rfile) -> bytes:
    parts = []
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        if not line:
            raise ConnectionResetError("the answer ended inside a chunk")
        size_text = line.split(b";", 1)[0].strip()
        if len(line) > _MAX_LINE or not size_text:
            raise ValueError("invalid chunk size")
        size = int(size_text, 16)
        if size == 0:
            break
        data = rfile.read(size)
        if len(data) != size or rfile.read(2) != b"\r\n":
            raise ConnectionResetError("the answer ended inside a chunk")
        parts.append(data)
    for _ in range(_MAX_HEADERS + 1):  # trailers, dropped as every hop-by-hop part is
        line = rfile.readline(_MAX_LINE + 1)
        if line in (b"\r\n", b"\n", b""):
            return b"".join(parts)
    raise ValueError("too many trailer lines")


def _dropped(sock) -> bool:
    """True when an idle connection can be read from: the service closed it (or sent something unasked)."""
    if sock is None:
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True
