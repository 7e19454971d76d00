"""A transparent TCP proxy in front of livekit-server's HTTP/signal port.

Why it exists: on a forced stop livekit-server queues a ``SERVER_SHUTDOWN`` leave for every
participant and exits right away, so on a busy machine the leave is often never written and
the client sees a bare socket close instead (it then tries to resume into the restarted
server). Sitting on the signal path lets the stand-in deliver that leave itself, at a
WebSocket message boundary, before it stops the child: a graceful ``restart`` is then seen as
``SERVER_SHUTDOWN`` every time. Everything else (HTTP API, WebSocket traffic both ways) is
passed through untouched; media never goes through here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct

from livekit.protocol import models as lk_models
from livekit.protocol import rtc as lk_rtc

log = logging.getLogger(__name__)

_CHUNK = 65536
_HEADER_LIMIT = 64 * 1024


def leave_frame(reason: int) -> bytes:
    """A server-to-client WebSocket binary frame holding ``SignalResponse{leave}``."""
    leave = lk_rtc.LeaveRequest(
        can_reconnect=False,
        reason=reason,  # type: ignore[arg-type]
        action=lk_rtc.LeaveRequest.Action.DISCONNECT,
    )
    payload = lk_rtc.SignalResponse(leave=leave).SerializeToString()
    return _frame(0x2, payload)


def _frame(opcode: int, payload: bytes) -> bytes:
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 65536:
        head += bytes([126]) + struct.pack(">H", size)
    else:
        head += bytes([127]) + struct.pack(">Q", size)
    return head + payload


_CLOSE_FRAME = _frame(0x8, struct.pack(">H", 1000))


class _Connection:
    def __init__(self, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream = upstream
        self.is_signal = False
        # Held while a frame (or a fragmented message) is being relayed to the client, so an
        # injected message never lands in the middle of one.
        self.boundary = asyncio.Lock()
        self.hijacked = False

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            with contextlib.suppress(Exception):
                writer.close()


class SignalProxy:
    """Listens on ``host``:``port`` (127.0.0.1 by default) and relays to ``target_port`` on
    the same host."""

    def __init__(self, port: int, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.target_port = target_port
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, self.host, self.port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self._connections):
            connection.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)

    async def send_leave_to_all(
        self,
        reason: int = lk_models.DisconnectReason.SERVER_SHUTDOWN,
    ) -> int:
        """Tell every signal client it must leave (``reason``), then drop its connection."""
        signals = [c for c in self._connections if c.is_signal and not c.hijacked]
        for connection in signals:
            try:
                async with asyncio.timeout(2.0), connection.boundary:
                    connection.hijacked = True
                    connection.client.write(leave_frame(reason) + _CLOSE_FRAME)
                    await connection.client.drain()
            except (TimeoutError, ConnectionError, OSError):
                pass
        # Give the clients a moment to read the leave before the sockets go away.
        await asyncio.sleep(0.1)
        for connection in signals:
            connection.abort()
        return len(signals)

    async def _accept(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.host, self.target_port
            )
        except OSError:
            client_writer.close()
            return
        connection = _Connection(client_writer, upstream_writer)
        self._connections.add(connection)
        try:
            up = asyncio.ensure_future(self._pipe_up(client_reader, connection))
            down = asyncio.ensure_future(self._pipe_down(upstream_reader, connection))
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            for task in (up, down):
                task.cancel()
            for task in (up, down):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        finally:
            connection.abort()
            self._connections.discard(connection)

    @staticmethod
    async def _pipe_up(reader: asyncio.StreamReader, connection: _Connection) -> None:
        while chunk := await reader.read(_CHUNK):
            connection.upstream.write(chunk)
            await connection.upstream.drain()

    async def _pipe_down(self, reader: asyncio.StreamReader, connection: _Connection) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _HEADER_LIMIT:
            return
        connection.client.write(head)
        await connection.client.drain()
        if not head.startswith(b"HTTP/1.1 101"):
            # Plain HTTP (API calls, validation): relay the rest as it comes.
            while chunk := await reader.read(_CHUNK):
                connection.client.write(chunk)
                await connection.client.drain()
            return
        connection.is_signal = True
        in_fragmented_message = False
        holding = False
        try:
            while True:
                frame, fin, opcode = await _read_frame(reader)
                if opcode in (0x1, 0x2) and not fin:
                    in_fragmented_message = True
                elif opcode == 0x0 and fin:
                    in_fragmented_message = False
                if not holding:
                    await connection.boundary.acquire()
                    holding = True
                if connection.hijacked:
                    return
                connection.client.write(frame)
                await connection.client.drain()
                if not in_fragmented_message:
                    connection.boundary.release()
                    holding = False
        finally:
            if holding:
                connection.boundary.release()


async def _read_frame(reader: asyncio.StreamReader) -> tuple[bytes, bool, int]:
    """One raw WebSocket frame (header + payload) as received, with its FIN bit and opcode."""
    head = await reader.readexactly(2)
    fin = bool(head[0] & 0x80)
    opcode = head[0] & 0x0F
    masked = bool(head[1] & 0x80)
    size = head[1] & 0x7F
    extra = b""
    if size == 126:
        extra = await reader.readexactly(2)
        size = struct.unpack(">H", extra)[0]
    elif size == 127:
        extra = await reader.readexactly(8)
        size = struct.unpack(">Q", extra)[0]
    mask = await reader.readexactly(4) if masked else b""
    payload = await reader.readexactly(size)
    return head + extra + mask + payload, fin, opcode
