"""Fuzzing the two parsers a server controls, through the code that really uses them:

- /connect answers (any status, any body: binary, huge, wrong-typed JSON) through
  ConnectApiClient → always a ConvaiError with a catalogued `connection.*` code of stage
  ConnectApi (or a valid ConnectResponse), never another exception;
- data-channel messages delivered to a Connected SessionCore → never an exception out of the
  transport callback; each is handled or becomes protocol.parse_failed / message_invalid, and
  the session stays Connected.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convai_tui.core.api import events as ev
from convai_tui.core.api.bus import Subscription
from convai_tui.core.api.states import SessionState
from convai_tui.core.connect.connect_api import (
    ConnectApiClient,
    ConnectRequest,
    classify_connect_failure,
    error_message_from_body,
)
from convai_tui.core.errors.error import CATALOGUE, ConvaiError
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings
from tests.unit.fakes import FakeApi, FakeTransport, next_event, ok_response

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
huge_text = st.integers(min_value=10_000, max_value=300_000).map(lambda n: "x" * n)
bodies = st.one_of(
    st.binary(max_size=400).map(lambda b: b.decode("latin-1")),
    json_values.map(json.dumps),
    st.fixed_dictionaries({"detail": json_values}).map(json.dumps),
    st.fixed_dictionaries(
        {"token": json_values, "room_url": json_values, "session_id": json_values}
    ).map(json.dumps),
    huge_text,
    huge_text.map(lambda t: json.dumps({"detail": t})),
    st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n),
)
statuses = st.one_of(
    st.sampled_from([200, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503]),
    st.integers(min_value=100, max_value=599),
)


@settings(max_examples=300, deadline=None)
@given(statuses, bodies)
def test_fuzzed_connect_answers_become_connection_codes(status: int, body: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text=body)

    async def attempt() -> Any:
        client = ConnectApiClient(
            "http://127.0.0.1:9", "sk-fuzz-key-123", transport=httpx.MockTransport(answer)
        )
        try:
            return await client.connect(ConnectRequest(character_id="c"))
        finally:
            await client.aclose()

    try:
        response = asyncio.run(attempt())
    except ConvaiError as exc:
        error = exc.error
        assert error.code in CATALOGUE and error.code.startswith("connection.")
        assert error.stage.value == "ConnectApi"
        if status != 200:
            expected = classify_connect_failure(status, error_message_from_body(body))
            assert error.code == expected
            assert error.http_status == status
        else:
            assert error.code == "connection.failed"
        assert len(error.message) < 2000  # a huge body is not copied into the message
    else:
        assert status == 200 and response.token and response.room_url


# --- data-channel messages into a live (fake-room) session ------------------------------------

# Types whose *valid* form ends the session on purpose; the unit tests of session.py pin those.
ENDING = {"usage-limit-reached", "error", "session-ending"}
KNOWN_TYPES = [
    "bot-ready",
    "server-response",
    "bot-llm-started",
    "bot-llm-text",
    "bot-llm-stopped",
    "bot-transcription",
    "bot-turn-completed",
    "llm-no-response",
    "bot-tts-started",
    "bot-started-speaking",
    "bot-stopped-speaking",
    "user-started-speaking",
    "user-stopped-speaking",
    "user-transcription",
    "final-user-transcription",
    "bot-emotion",
    "action-response",
    "user-idle-warning",
    "error-response",
    "unknown-type",
]
messages = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda t, d: json.dumps({"type": t, "data": d}).encode(),
        st.sampled_from(KNOWN_TYPES),
        json_values,
    ),
    st.builds(
        lambda t, d: json.dumps(
            {"type": "server-message", "data": {**d, "type": t} if isinstance(d, dict) else d}
        ).encode(),
        st.sampled_from(KNOWN_TYPES),
        json_values,
    ),
    st.builds(
        lambda t, d: json.dumps({"type": t, **d}).encode(),
        st.sampled_from(KNOWN_TYPES),
        st.dictionaries(st.text(max_size=12), json_values, max_size=5),
    ),
    huge_text.map(lambda t: json.dumps({"type": "bot-llm-text", "data": {"text": t}}).encode()),
    st.integers(min_value=1, max_value=5000).map(lambda n: b'{"a":' * n),
)


class _Live:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        FakeTransport.instances.clear()
        FakeTransport.join_error = None
        settings_ = SessionSettings(
            connect_url="http://127.0.0.1:9",
            api_key="sk-fuzz-key-123",
            character_id="char-1",
            link_stall_s=None,
        )
        self.core = SessionCore(
            settings_,
            api_client=FakeApi([ok_response()]),  # type: ignore[arg-type]
            transport_factory=FakeTransport,  # type: ignore[arg-type]
        )
        self.sub: Subscription = self.core.subscribe()
        self.loop.run_until_complete(self._start())
        self.transport = FakeTransport.instances[-1]

    async def _start(self) -> None:
        await self.core.start()
        await next_event(self.sub, ev.RoomJoined)
        assert self.core.state is SessionState.CONNECTED

    def close(self) -> None:
        self.loop.run_until_complete(self.core.close())
        self.loop.close()


@pytest.fixture(scope="module")
def live() -> Iterator[_Live]:
    harness = _Live()
    yield harness
    harness.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages, min_size=1, max_size=15))
def test_fuzzed_data_messages_never_crash_a_connected_session(
    live: _Live, batch: list[bytes]
) -> None:
    async def deliver() -> list[ev.Event]:
        for payload in batch:
            if any(f'"{t}"'.encode() in payload[:200] for t in ENDING):
                continue
            live.transport.deliver(payload)  # raises if a handler lets anything escape
        await asyncio.sleep(0)
        seen = []
        while (event := live.sub.get_nowait()) is not None:
            seen.append(event)
        return seen

    seen = live.loop.run_until_complete(deliver())
    codes = {e.error.code for e in seen if isinstance(e, ev.ErrorRaised)}
    assert codes <= {"protocol.parse_failed", "protocol.message_invalid"}, codes
    assert live.core.state is SessionState.CONNECTED
