"""Fakes for the session core's two edges: the connect API and the LiveKit room."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from convai_tui.core.api.bus import Subscription
from convai_tui.core.api.events import Event, ParticipantInfo
from convai_tui.core.connect.connect_api import ConnectRequest, ConnectResponse
from convai_tui.core.errors.error import ConvaiError, make_error
from convai_tui.core.link.transport import TransportCallbacks

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlLXVzZXIifQ.ZmFrZS1zaWduYXR1cmUtZmFrZQ"


def ok_response(n: int = 1, character_session_id: str = "cs-1") -> ConnectResponse:
    return ConnectResponse(
        session_id=f"00000000-0000-4000-8000-{n:012d}",
        room_url="ws://127.0.0.1:1",
        token=TOKEN,
        room_name=f"room-{n}",
        character_session_id=character_session_id,
        request_trace_id=f"req_{n:032x}",
    )


def http_error(code: str, status: int) -> ConvaiError:
    return ConvaiError(make_error(code, f"HTTP {status}", http_status=status))


@dataclass
class FakeApi:
    """Answers /connect from a script: each item is a ConnectResponse or a ConvaiError; the last
    item repeats forever."""

    script: list[ConnectResponse | ConvaiError]
    requests: list[ConnectRequest] = field(default_factory=list)
    request_times: list[float] = field(default_factory=list)
    disconnects: list[str] = field(default_factory=list)

    async def connect(self, request: ConnectRequest) -> ConnectResponse:
        self.requests.append(request)
        self.request_times.append(time.monotonic())
        item = self.script[min(len(self.requests) - 1, len(self.script) - 1)]
        if isinstance(item, ConvaiError):
            raise item
        return item

    async def disconnect(self, session_id: str) -> bool:
        self.disconnects.append(session_id)
        return True

    async def aclose(self) -> None:
        pass


class FakeTransport:
    """Stands in for RoomTransport; tests push server messages and drops through it."""

    instances: ClassVar[list[FakeTransport]] = []
    join_error: ConvaiError | None = None

    def __init__(self, character_id: str, callbacks: TransportCallbacks) -> None:
        self.character_id = character_id
        self.cb = callbacks
        self.sent: list[dict[str, Any]] = []
        self.handshake: list[dict[str, Any]] = []
        """client-ready messages (kept out of `sent`, which is what the tests send)."""
        self.teardown: list[dict[str, Any]] = []
        """kill-pipeline messages sent on leaving (acked at once, as the service does)."""
        self.left = False
        self.auto_ack_kill = True
        """Answer kill-pipeline at once (off for tests that script its ack themselves)."""
        self.local_identity = "user-1"
        self.room = None
        FakeTransport.instances.append(self)

    async def join(self, url: str, token: str, timeout_s: float) -> float:
        if FakeTransport.join_error is not None:
            raise FakeTransport.join_error
        return 1.0

    def participants(self) -> list[ParticipantInfo]:
        return [
            ParticipantInfo("user-1", "Player", "local_player"),
            ParticipantInfo(self.character_id, "Ada", "character"),
        ]

    async def send(self, payload: bytes) -> None:
        body = json.loads(payload)
        if body.get("type") == "client-ready":
            self.handshake.append(body)
        elif body.get("type") == "kill-pipeline" and self.auto_ack_kill:
            self.teardown.append(body)
            self.deliver(
                {
                    "type": "server-response",
                    "event_type": "kill-pipeline",
                    "status": "success",
                    "message": "Pipeline killed successfully",
                }
            )
        else:
            self.sent.append(body)

    def is_connected(self) -> bool:
        return not self.left

    async def leave(self) -> None:
        self.left = True

    def deliver(self, message: dict[str, Any] | bytes) -> None:
        payload = message if isinstance(message, bytes) else json.dumps(message).encode()
        self.cb.on_data(payload, self.character_id)

    def drop(self, reason: int) -> None:
        self.cb.on_disconnected(reason)


async def next_event(
    sub: Subscription,
    kind: type[Event] | tuple[type[Event], ...],
    wait_s: float = 3.0,
    seen: list[Event] | None = None,
) -> Any:
    """Wait for the next event of a type, collecting the ones passed over into `seen`."""
    async with asyncio.timeout(wait_s):
        async for event in sub:
            if seen is not None:
                seen.append(event)
            if isinstance(event, kind):
                return event
    raise AssertionError("subscription closed")


def drain(sub: Subscription) -> list[Event]:
    out = []
    while (event := sub.get_nowait()) is not None:
        out.append(event)
    return out
