"""Issue #16 items 1, 2, 3 and 6 against the fake room: the client-ready handshake, the clean
teardown, error-response matched to its message, and the defensive field rules."""

from __future__ import annotations

import asyncio
import time

from convai_tui.core.api import events as ev
from convai_tui.core.api.states import SessionState
from convai_tui.core.session import SessionCore
from tests.unit.core.test_session_core import closer, connected, make
from tests.unit.fakes import FakeTransport, drain, next_event, ok_response

__all__ = ["closer"]  # the fixture, imported for pytest


async def test_client_ready_repeats_every_half_second_until_bot_ready(
    closer: list[SessionCore],
) -> None:
    core, _ = make([ok_response()])
    closer.append(core)
    sub = core.subscribe()
    await core.start()
    await next_event(sub, ev.RoomJoined)
    await asyncio.sleep(1.2)
    transport = FakeTransport.instances[-1]
    sent = list(transport.handshake)
    assert len(sent) in (3, 4)  # at 0, 0.5, 1.0 s (and maybe just at 1.2 s)
    first = sent[0]
    assert first["label"] == "rtvi-ai" and first["type"] == "client-ready" and first["id"]
    assert first["data"]["version"] == "1.2.0"
    assert first["data"]["about"]["library"] == "convai-tui"
    assert first["data"]["about"]["library_version"]
    # The handshake is no request row (bot-ready answers it, not an acknowledgement).
    assert not [e for e in drain(sub) if isinstance(e, ev.MessageSent)]
    transport.deliver({"type": "bot-ready", "data": {}})
    await next_event(sub, ev.BotReady)
    count = len(transport.handshake)
    await asyncio.sleep(0.7)
    assert len(transport.handshake) == count  # bot-ready stops the repeats


async def test_a_bot_ready_before_client_ready_counts(closer: list[SessionCore]) -> None:
    core, _ = make([ok_response()])
    _sub, transport = await connected(core, closer)  # bot-ready delivered right after joining
    assert core.bot_ready
    await asyncio.sleep(0.6)
    assert len(transport.handshake) <= 1


async def test_quitting_kills_the_pipeline_then_leaves_then_disconnects(
    closer: list[SessionCore],
) -> None:
    core, api = make([ok_response()])
    _sub, transport = await connected(core, closer)
    await core.disconnect("user")
    assert [m["type"] for m in transport.teardown] == ["kill-pipeline"]
    assert transport.teardown[0] == {"type": "kill-pipeline"}
    assert api.disconnects and transport.left
    assert core.state is SessionState.DISCONNECTED


async def test_an_unanswered_kill_pipeline_delays_quitting_by_at_most_a_second(
    closer: list[SessionCore],
) -> None:
    core, api = make([ok_response()])
    _sub, transport = await connected(core, closer)
    transport.auto_ack_kill = False
    started = time.monotonic()
    await core.disconnect("user")
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.6
    assert transport.sent[-1] == {"type": "kill-pipeline"} and api.disconnects


async def test_a_reconnect_releases_the_old_session_first(closer: list[SessionCore]) -> None:
    core, api = make([ok_response()], bot_ready_timeout_s=0.3)
    closer.append(core)
    sub = core.subscribe()
    await core.start()
    await next_event(sub, ev.RoomJoined)
    first = FakeTransport.instances[-1]
    await next_event(sub, ev.RoomJoined, wait_s=5)  # the bot-ready timeout reconnects
    assert [m["type"] for m in first.teardown] == ["kill-pipeline"]
    assert api.disconnects  # /disconnect before the second /connect
    assert len(api.requests) == 2


async def test_error_response_is_the_answer_to_the_message_it_names(
    closer: list[SessionCore],
) -> None:
    core, _ = make([ok_response()])
    closer.append(core)
    sub = core.subscribe()
    await core.start()
    await next_event(sub, ev.RoomJoined)
    transport = FakeTransport.instances[-1]
    for _ in range(200):
        if transport.handshake:
            break
        await asyncio.sleep(0.005)
    ready_id = transport.handshake[0]["id"]
    transport.deliver(
        {
            "label": "rtvi-ai",
            "type": "error-response",
            "id": ready_id,
            "data": {"error": "Invalid message: version"},
        }
    )
    ack = await next_event(sub, ev.ServerResponseReceived)
    assert (ack.message_id, ack.event_type, ack.status, ack.message) == (
        ready_id,
        "client-ready",
        "error",
        "Invalid message: version",
    )
    # One that names no message of ours is a warning, not an answer.
    transport.deliver(
        {
            "label": "rtvi-ai",
            "type": "error-response",
            "id": "nope",
            "data": {"error": "Unsupported type x"},
        }
    )
    log = await next_event(sub, ev.LogRecorded)
    assert "nope" in log.message and "Unsupported type x" in log.message


async def test_idle_warning_without_countdown_is_still_a_warning(closer: list[SessionCore]) -> None:
    core, _ = make([ok_response()])
    sub, transport = await connected(core, closer)
    transport.deliver(
        {"type": "server-message", "data": {"type": "user-idle-warning", "remaining_seconds": None}}
    )
    warning = await next_event(sub, ev.IdleWarningReceived)
    assert warning.remaining_seconds is None and warning.deadline is None
    transport.deliver({"type": "server-message", "data": {"type": "user-idle-warning"}})
    assert (await next_event(sub, ev.IdleWarningReceived)).remaining_seconds is None


async def test_any_message_the_user_sends_voids_an_idle_deadline(closer: list[SessionCore]) -> None:
    core, _ = make([ok_response()])
    sub, transport = await connected(core, closer)
    transport.deliver(
        {"type": "server-message", "data": {"type": "user-idle-warning", "remaining_seconds": 0}}
    )
    await next_event(sub, ev.IdleWarningReceived)
    await core.send_text("still here")
    transport.drop(1)  # CLIENT_INITIATED is not retried; a drop must not read as idle timeout
    ended = await next_event(sub, ev.SessionEnded, wait_s=5)
    assert ended.reason != "idle_timeout"
