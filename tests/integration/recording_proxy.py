"""A recording HTTP(S) proxy for tests: every request a client sends through it is recorded
(method, host, path); plain-http requests and tunnels (CONNECT) to the names it is told about are forwarded to this
machine, so a made-up hostname reaches a local server; anything else is refused and never
leaves the machine.

Clients find it through HTTP_PROXY / HTTPS_PROXY (`env()`), as httpx and most HTTP clients do;
a test asserts both that the expected requests went through it (it was in the path) and that
no request was meant for a host the user did not configure.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

_READ_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Seen:
    method: str
    host: str
    path: str


class RecordingProxy:
    def __init__(self, local_names: set[str]) -> None:
        self.local_names = {name.lower() for name in local_names}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # close() alone does not wake the thread blocked in accept() (Linux); shutdown() does,
        # so the serving thread ends at once rather than at the join's timeout.
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, no_proxy: str = "127.0.0.1") -> dict[str, str]:
        """Proxy variables for a client; `no_proxy` (the LiveKit server's address) goes direct."""
        return {
            "HTTP_PROXY": self.url,
            "HTTPS_PROXY": self.url,
            "ALL_PROXY": self.url,
            "NO_PROXY": no_proxy,
            "http_proxy": self.url,
            "https_proxy": self.url,
            "all_proxy": self.url,
            "no_proxy": no_proxy,
        }

    def hosts(self) -> set[str]:
        with self._lock:
            return {seen.host for seen in self.seen}

    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self.seen)

    # --- serving ---------------------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            client.settimeout(_READ_TIMEOUT_S)
            try:
                head, body = _read_request(client)
            except (OSError, ValueError):
                return
            request_line, *header_lines = head.split("\r\n")
            method, target, version = request_line.split(" ", 2)
            if method == "CONNECT":
                name, _, port = target.rpartition(":")
                host = name.strip("[]").lower()
                self._record(Seen(method, host, ""))
                if host in self.local_names and port.isdigit():
                    self._tunnel(client, int(port), body)
                else:
                    client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            parts = urlsplit(target)
            host = (parts.hostname or "").lower()
            self._record(Seen(method, host, parts.path))
            if host not in self.local_names or parts.port is None:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            headers = [
                line
                for line in header_lines
                if line.split(":", 1)[0].strip().lower()
                not in ("connection", "proxy-connection", "keep-alive")
            ]
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            upstream_head = "\r\n".join(
                [f"{method} {path or '/'} {version}", *headers, "Connection: close", "", ""]
            )
            with socket.create_connection(("127.0.0.1", parts.port), timeout=30) as upstream:
                upstream.sendall(upstream_head.encode("latin-1") + body)
                while chunk := upstream.recv(65536):
                    client.sendall(chunk)

    def _tunnel(self, client: socket.socket, port: int, early: bytes) -> None:
        """CONNECT to a local name (e.g. LiveKit's websocket): bytes both ways until either
        side closes."""
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=30)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            client.settimeout(None)
            upstream.settimeout(None)
            if early:
                upstream.sendall(early)
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join(timeout=5)

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)


def _read_request(sock: socket.socket) -> tuple[str, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ValueError("closed before the request head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    length = 0
    for line in text.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return text, body


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
