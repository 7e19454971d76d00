"""The link watchdog: a silent LiveKit server (frozen SFU, cut network) turns Connected into
Reconnecting long before LiveKit's own 15 s ping timeout, and packets flowing again bring the
session back to Connected with no user action."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from convai_tui.core.api import events as ev
from convai_tui.core.api.states import SessionState
from convai_tui.core.link import watch as link_watch
from convai_tui.core.link.transport import TransportCallbacks
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings
from tests.unit.fakes import FakeApi, FakeTransport, drain, next_event, ok_response


class CountingTransport(FakeTransport):
    """A fake room whose WebRTC packet counter the test advances (or freezes)."""

    def __init__(self, character_id: str, callbacks: TransportCallbacks) -> None:
        super().__init__(character_id, callbacks)
        self.count = 0
        self.flowing = True
        self.unknown = False

    async def inbound_packets(self) -> int | None:
        if self.unknown:
            return None
        if self.flowing:
            self.count += 3
        return self.count


@pytest.fixture
async def core(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SessionCore]:
    monkeypatch.setattr(link_watch, "LINK_POLL_S", 0.02)
    FakeTransport.instances.clear()
    FakeTransport.join_error = None
    settings = SessionSettings(
        connect_url="http://127.0.0.1:9",
        api_key="sk-test-key-123",
        character_id="char-1",
        link_stall_s=0.15,
    )
    core = SessionCore(
        settings,
        api_client=FakeApi([ok_response()]),  # type: ignore[arg-type]
        transport_factory=CountingTransport,  # type: ignore[arg-type]
    )
    yield core
    await core.close()


async def _ready(core: SessionCore) -> tuple[Any, CountingTransport]:
    sub = core.subscribe()
    await core.start()
    await next_event(sub, ev.RoomJoined)
    transport = FakeTransport.instances[-1]
    assert isinstance(transport, CountingTransport)
    transport.deliver({"type": "bot-ready", "data": {}})
    await next_event(sub, ev.BotReady)
    return sub, transport


async def test_silence_means_reconnecting_and_packets_bring_it_back(core: SessionCore) -> None:
    sub, transport = await _ready(core)
    await asyncio.sleep(0.3)  # packets flowing: no stall
    assert core.state is SessionState.CONNECTED
    transport.flowing = False
    changed = await next_event(sub, ev.SessionStateChanged, wait_s=2)
    assert changed.new is SessionState.RECONNECTING and changed.reason == "link_stalled"
    assert changed.error.code == "transport.signal_disconnected" and changed.error.recoverable
    queued = await core.send_text("held while the link is down")
    assert queued.status == "queued"
    transport.flowing = True
    seen: list[ev.Event] = []
    back = await next_event(sub, ev.SessionStateChanged, wait_s=2, seen=seen)
    assert back.new is SessionState.CONNECTED and back.reason == "link_recovered"
    await next_event(sub, ev.MessageSent, wait_s=2)  # the queued text goes out
    assert transport.sent[-1]["data"]["text"] == "held while the link is down"
    assert core.metrics.reconnects == 1


async def test_unknown_counters_never_count_as_a_stall(core: SessionCore) -> None:
    _sub, transport = await _ready(core)
    transport.unknown = True
    await asyncio.sleep(0.5)
    assert core.state is SessionState.CONNECTED


async def test_the_sdk_resume_owns_recovery_once_it_started(core: SessionCore) -> None:
    sub, transport = await _ready(core)
    transport.flowing = False
    await next_event(sub, ev.SessionStateChanged, wait_s=2)
    transport.cb.on_reconnecting()  # LiveKit noticed too and is rebuilding the connection
    transport.flowing = True
    await asyncio.sleep(0.3)
    assert core.state is SessionState.RECONNECTING  # packets of the half-built link: not yet
    transport.cb.on_reconnected()
    back = await next_event(sub, ev.SessionStateChanged, wait_s=2)
    assert back.new is SessionState.CONNECTED and back.reason == "resumed"


async def test_text_queued_during_the_sdk_resume_is_sent_once_resumed(core: SessionCore) -> None:
    # Found by the netns network cut (tests/integration/test_netns_chaos.py): LiveKit's own
    # resume after the watchdog's recovery left text queued until the session ended.
    sub, transport = await _ready(core)
    transport.cb.on_reconnecting()
    changed = await next_event(sub, ev.SessionStateChanged, wait_s=2)
    assert changed.new is SessionState.RECONNECTING and changed.reason == "resume"
    queued = await core.send_text("held while LiveKit resumes")
    assert queued.status == "queued"
    transport.cb.on_reconnected()
    back = await next_event(sub, ev.SessionStateChanged, wait_s=2)
    assert back.new is SessionState.CONNECTED and back.reason == "resumed"
    await next_event(sub, ev.MessageSent, wait_s=2)
    assert transport.sent[-1]["data"]["text"] == "held while LiveKit resumes"


async def test_watch_off(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeTransport.instances.clear()
    settings = SessionSettings(
        connect_url="http://127.0.0.1:9",
        api_key="sk-test-key-123",
        character_id="char-1",
        link_stall_s=None,
    )
    core = SessionCore(
        settings,
        api_client=FakeApi([ok_response()]),  # type: ignore[arg-type]
        transport_factory=CountingTransport,  # type: ignore[arg-type]
    )
    try:
        _sub, transport = await _ready(core)
        transport.flowing = False
        await asyncio.sleep(0.3)
        assert core.state is SessionState.CONNECTED
    finally:
        await core.close()


class QuietTransport(FakeTransport):
    """A character that publishes nothing: the packet counter stands still, only the ICE
    consent checks move (as measured against the stand-in's --no-audio-track)."""

    def __init__(self, character_id: str, callbacks: TransportCallbacks) -> None:
        super().__init__(character_id, callbacks)
        self.packets = 0
        self.polls = 0
        self.up = True

    async def link_signals(self) -> link_watch.LinkSignals:
        # Consent checks arrive on the wall clock (every 30 ms here), not per poll: a poll that
        # runs late on a loaded machine still sees them moved, as it would on a live link.
        self.polls += 1
        return link_watch.LinkSignals(13, int(time.monotonic() / 0.03), self.up)


async def test_a_quiet_character_is_not_a_dead_link(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(link_watch, "LINK_POLL_S", 0.02)
    FakeTransport.instances.clear()
    settings = SessionSettings(
        connect_url="http://127.0.0.1:9",
        api_key="sk-test-key-123",
        character_id="char-1",
        link_stall_s=0.1,
    )
    core = SessionCore(
        settings,
        api_client=FakeApi([ok_response()]),  # type: ignore[arg-type]
        transport_factory=QuietTransport,  # type: ignore[arg-type]
    )
    try:
        sub = core.subscribe()
        await core.start()
        await next_event(sub, ev.RoomJoined)
        transport = FakeTransport.instances[-1]
        assert isinstance(transport, QuietTransport)
        transport.deliver({"type": "bot-ready", "data": {}})
        await asyncio.sleep(1.0)  # ten times the stall time without a single packet
        assert core.state is SessionState.CONNECTED
        assert not [
            e
            for e in drain(sub)
            if isinstance(e, ev.SessionStateChanged) and e.new is SessionState.RECONNECTING
        ]
        transport.up = False  # the data channel closed: that is a dead link
        changed = await next_event(sub, ev.SessionStateChanged, wait_s=2)
        assert changed.new is SessionState.RECONNECTING and changed.reason == "link_stalled"
    finally:
        await core.close()
