"""The session runs the link sampler while in a room (the recorded stand-in stats served by a
fake transport) and times turns from its own send and the server's turn messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from convai_tui.core.api import events as ev
from convai_tui.core.link import stats as link_stats
from convai_tui.core.link.transport import TransportCallbacks
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings
from tests.unit.core.link.test_stats import recorded
from tests.unit.fakes import FakeApi, FakeTransport, next_event, ok_response

READINGS = recorded()


class StatsTransport(FakeTransport):
    """A fake room that answers get_rtc_stats with the two recorded readings in turn."""

    def __init__(self, character_id: str, callbacks: TransportCallbacks) -> None:
        super().__init__(character_id, callbacks)
        self.reads = 0

    async def get_rtc_stats(self) -> Any:
        self.reads += 1
        return READINGS[min(self.reads, 2) - 1]


@pytest.fixture
async def core(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SessionCore]:
    monkeypatch.setattr(link_stats, "SAMPLE_INTERVAL_S", 0.02)
    FakeTransport.instances.clear()
    FakeTransport.join_error = None
    settings = SessionSettings(
        connect_url="http://127.0.0.1:9",
        api_key="sk-test-key-123",
        character_id="char-1",
        link_stall_s=None,
    )
    core = SessionCore(
        settings,
        api_client=FakeApi([ok_response()]),  # type: ignore[arg-type]
        transport_factory=StatsTransport,  # type: ignore[arg-type]
    )
    yield core
    await core.close()


async def test_samples_while_in_the_room_and_stops_after(core: SessionCore) -> None:
    sub = core.subscribe()
    await core.start()
    first = await next_event(sub, ev.LinkStatsSampled)
    second = await next_event(sub, ev.LinkStatsSampled)
    assert first.candidate == "host/udp" and first.loss_pct is None  # no interval yet
    assert second.loss_pct == 0.0 and second.bitrate_out_kbps is not None
    link = core.diagnostics()["link"]
    assert link["samples"] >= 2 and link["candidate"] == "host/udp"
    assert link["thresholds"]["rtt_ms"] == 300.0
    transport = FakeTransport.instances[-1]
    assert isinstance(transport, StatsTransport)
    await core.disconnect()
    reads = transport.reads
    await asyncio.sleep(0.1)
    assert transport.reads == reads  # the sampler stopped with the room


async def test_a_typed_turn_is_timed(core: SessionCore) -> None:
    sub = core.subscribe()
    await core.start()
    await next_event(sub, ev.RoomJoined)
    transport = FakeTransport.instances[-1]
    transport.deliver({"type": "bot-ready", "data": {}})
    await next_event(sub, ev.BotReady)
    assert (await core.send_text("hello")).status == "sent"
    await asyncio.sleep(0.03)
    transport.deliver({"type": "bot-llm-text", "data": {"text": "Hi"}})
    await asyncio.sleep(0.03)
    transport.deliver({"type": "bot-started-speaking", "data": {}})
    transport.deliver({"type": "bot-turn-completed", "data": {}})
    timed = await next_event(sub, ev.TurnTimed)
    assert timed.turn == 1 and timed.user_stop_to_speech_ms is None
    assert 20 <= timed.sent_to_first_text_ms < timed.sent_to_first_audio_ms < 2000
