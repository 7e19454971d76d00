"""A tiny raw RTVI client for the stand-in tests, built on livekit.rtc directly.

It deliberately does not use convai_tui.core: these tests pin the stand-in's wire behaviour,
independently of the real client. Also holds the shared fixtures (imported by the
test_standin_* modules; pytest puts this directory on sys.path).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from livekit import rtc

from convai_tui.local.character.rtvi import resolved_type
from convai_tui.local.faults import Faults
from convai_tui.local.server import LocalStandIn
from convai_tui.local.sfu.binary import find_livekit_server
from convai_tui.local.sfu.server import LiveKitServer, LiveKitServerNotFound

DEFAULT_TIMEOUT_S = 10.0


def require_livekit_server() -> None:
    """Fail in CI, skip loudly elsewhere, when the livekit-server binary is missing."""
    try:
        find_livekit_server()
    except LiveKitServerNotFound as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"livekit-server is required in CI: {exc}")
        pytest.skip(f"!!! SKIPPING stand-in integration tests: {exc}")


class RtviTestClient:
    """Joins a room with a /connect token and records every data packet it receives."""

    def __init__(self) -> None:
        self.room = rtc.Room()
        self.messages: list[dict[str, Any]] = []
        self.client_ready_ids: list[str] = []
        self.raw: list[bytes] = []
        self.received_at: list[float] = []
        self.disconnect_reason: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._changed = asyncio.Event()
        self.room.on("data_received", self._on_data)
        self.room.on("disconnected", self._on_disconnected)

    @classmethod
    async def join(cls, room_url: str, token: str) -> RtviTestClient:
        client = cls()
        await client.room.connect(room_url, token)
        return client

    @property
    def identity(self) -> str:
        return self.room.local_participant.identity

    def _on_data(self, packet: rtc.DataPacket) -> None:
        self.raw.append(packet.data)
        self.received_at.append(time.monotonic())
        try:
            message = json.loads(packet.data)
        except ValueError:
            message = {"type": "<invalid-json>", "raw": packet.data.decode("utf-8", "replace")}
        self.messages.append(message if isinstance(message, dict) else {"type": "<non-object>"})
        self._changed.set()

    def _on_disconnected(self, reason: int) -> None:
        if not self.disconnect_reason.done():
            self.disconnect_reason.set_result(int(reason))
        self._changed.set()

    def types(self, start: int = 0) -> list[str | None]:
        return [resolved_type(message) for message in self.messages[start:]]

    async def send(self, message: dict[str, Any] | bytes) -> None:
        payload = message if isinstance(message, bytes) else json.dumps(message).encode()
        await self.room.local_participant.publish_data(payload, reliable=True)

    async def wait_for(
        self,
        message_type: str,
        *,
        start: int = 0,
        within: float = DEFAULT_TIMEOUT_S,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """First message at index >= start whose resolved type matches (and ``where``)."""
        deadline = time.monotonic() + within
        while True:
            for index in range(start, len(self.messages)):
                message = self.messages[index]
                if resolved_type(message) == message_type and (where is None or where(message)):
                    return index, message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no {message_type!r} within {within} s; got {self.types(start)}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def handshake(
        self, within: float = DEFAULT_TIMEOUT_S, *, settle: bool = False
    ) -> dict[str, Any]:
        """client-ready (labelled, with an id) every 0.5 s until bot-ready, as our client and
        the Unreal plugin do; the bot-ready.

        ``settle`` (the lenient profile, which acks every client-ready and answers it with
        another bot-ready) also waits until the bot has answered everything sent so far, so a
        test that counts messages from here sees none of the handshake's."""
        deadline = time.monotonic() + within
        while True:
            await self._send_client_ready()
            with contextlib.suppress(AssertionError):
                ready = (await self.wait_for("bot-ready", within=0.5))[1]
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"no bot-ready within {within} s")
        if settle:
            await self._settle(within)
        return ready

    async def _send_client_ready(self) -> str:
        self.client_ready_ids.append(uuid.uuid4().hex[:8])
        await self.send(
            {
                "label": "rtvi-ai",
                "type": "client-ready",
                "id": self.client_ready_ids[-1],
                "data": {"version": "1.2.0", "about": {"library": "tests"}},
            }
        )
        return self.client_ready_ids[-1]

    async def _settle(self, within: float) -> None:
        # The greeting's bot-ready is the one without an id; once it is here the bot knows us,
        # so one more client-ready is answered with a bot-ready echoing its id, and the bot
        # handles packets in order: everything earlier has been sent by then.
        await self.wait_for("bot-ready", within=within, where=lambda m: "id" not in m)
        last = await self._send_client_ready()
        await self.wait_for("bot-ready", within=within, where=lambda m: m.get("id") == last)

    async def wait_ack(
        self, event_type: str, *, start: int = 0, within: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """The server-response for ``event_type`` (flat or wrapped), unwrapped."""
        _, message = await self.wait_for(
            "server-response",
            start=start,
            within=within,
            where=lambda m: ack_body(m).get("event_type") == event_type,
        )
        return ack_body(message)

    async def wait_disconnected(self, within: float = DEFAULT_TIMEOUT_S) -> int:
        return await asyncio.wait_for(asyncio.shield(self.disconnect_reason), within)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.room.disconnect()


def ack_body(message: dict[str, Any]) -> dict[str, Any]:
    if message.get("type") == "server-message" and isinstance(message.get("data"), dict):
        return dict(message["data"])
    return message


async def post(
    url: str,
    *,
    json_body: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    within: float = DEFAULT_TIMEOUT_S,
) -> tuple[int, Any]:
    """POST and return (status, parsed JSON or text)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=within)) as http:
        kwargs: dict[str, Any] = {"headers": headers or {}}
        if data is not None:
            kwargs["data"] = data
        elif json_body is not None:
            kwargs["json"] = json_body
        async with http.post(url, **kwargs) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return await response.json()


async def connect(standin: LocalStandIn, **body: Any) -> tuple[int, Any]:
    payload = {"character_id": standin.character_id, **body}
    return await post(
        standin.connect_url + "/connect", json_body=payload, headers={"X-API-Key": standin.api_key}
    )


async def connect_and_join(
    standin: LocalStandIn, **body: Any
) -> tuple[dict[str, Any], RtviTestClient]:
    """/connect, join the room, and wait for bot-ready."""
    status, response = await connect(standin, **body)
    assert status == 200, response
    client = await RtviTestClient.join(response["room_url"], response["token"])
    if body.get("spawn_agent", True):
        await client.handshake(settle=standin.faults.realism == "lenient")
    return response, client


async def wait_until(
    condition: Callable[[], bool], within: float = DEFAULT_TIMEOUT_S, what: str = "condition"
) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


StandInFactory = Callable[..., Awaitable[LocalStandIn]]


@pytest_asyncio.fixture
async def standin_factory() -> AsyncIterator[StandInFactory]:
    """Start stand-ins (each with its own livekit-server child); all stopped at teardown."""
    require_livekit_server()
    started: list[LocalStandIn] = []

    async def make(**fault_values: Any) -> LocalStandIn:
        faults = Faults(tts="none")
        faults.update(fault_values)
        # Always a fresh child: tests must not depend on LIVEKIT_URL pointing elsewhere.
        standin = LocalStandIn(faults=faults, livekit=LiveKitServer(), owns_livekit=True)
        await standin.start()
        started.append(standin)
        return standin

    try:
        yield make
    finally:
        for standin in started:
            await standin.stop()


@pytest_asyncio.fixture
async def standin(standin_factory: StandInFactory) -> LocalStandIn:
    """A healthy stand-in with silent TTS (fast turns)."""
    return await standin_factory()


@pytest_asyncio.fixture
async def clients() -> AsyncIterator[list[RtviTestClient]]:
    """Append clients here; they are disconnected at teardown even if the test fails."""
    joined: list[RtviTestClient] = []
    try:
        yield joined
    finally:
        for client in joined:
            await client.close()
