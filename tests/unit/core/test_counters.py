"""The one definition of the session counters: a fold over the events, shared by the core's
diagnostics, the monitor and replay."""

from __future__ import annotations

import asyncio

from convai_tui.core.api import events as ev
from convai_tui.core.api.counters import COUNTER_KEYS, SessionCounters
from convai_tui.core.api.states import SessionState as S
from convai_tui.core.errors.error import make_error
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings
from tests.unit.core.test_session_core import FAST
from tests.unit.fakes import FakeApi, FakeTransport, http_error, next_event, ok_response

T0 = 1_700_000_000.0
UNAVAILABLE = make_error("connection.service_unavailable")


def fold(*events: ev.Event) -> SessionCounters:
    counters = SessionCounters()
    for event in events:
        counters.apply(event)
    return counters


def test_an_attempt_that_is_retried_failed_and_a_join_succeeded() -> None:
    c = fold(
        ev.ConnectAttemptStarted(1, 4, at=T0),
        ev.ErrorRaised(UNAVAILABLE, at=T0),
        ev.RetryScheduled(2, 4, 1.0, T0 + 1, "connect", UNAVAILABLE, None, at=T0),
        ev.ConnectAttemptStarted(2, 4, at=T0 + 1),
        ev.RoomJoined("r", "me", 5.0, at=T0 + 2),
    )
    assert (c.connect_attempts, c.failed_connections, c.successful_connections) == (2, 1, 1)
    assert c.errors == 1 and c.errors_by_category == {"connection": 1}
    assert c.last_connected_at == c.connected_since == T0 + 2


def test_the_last_failed_attempt_counts_once() -> None:
    c = fold(
        ev.ConnectAttemptStarted(4, 4, at=T0),
        ev.ErrorRaised(UNAVAILABLE, at=T0),
        ev.SessionStateChanged(S.CONNECTING, S.ERROR, error=UNAVAILABLE, at=T0),
        ev.SessionEnded("retries_exhausted", UNAVAILABLE, at=T0),
    )
    assert c.failed_connections == 1


def test_an_attempt_the_user_cancels_is_no_failure() -> None:
    c = fold(
        ev.ConnectAttemptStarted(1, 4, at=T0),
        ev.SessionStateChanged(S.CONNECTING, S.DISCONNECTING, at=T0),
        ev.SessionStateChanged(S.DISCONNECTING, S.DISCONNECTED, at=T0),
        ev.SessionEnded("user", at=T0),
    )
    assert (c.connect_attempts, c.failed_connections) == (1, 0)


def test_every_entry_into_reconnecting_is_a_reconnect_and_a_resume_keeps_the_room() -> None:
    c = fold(
        ev.ConnectAttemptStarted(1, 4, at=T0),
        ev.RoomJoined("r", "me", 5.0, at=T0),
        ev.SessionStateChanged(S.CONNECTING, S.CONNECTED, at=T0),
        ev.SessionStateChanged(S.CONNECTED, S.RECONNECTING, reason="resume", at=T0 + 1),
        ev.SessionStateChanged(S.RECONNECTING, S.CONNECTED, reason="resumed", at=T0 + 2),
    )
    assert c.reconnects == 1 and c.successful_connections == 1
    assert c.snapshot(T0 + 10)["uptime_s"] == 10.0  # LiveKit's resume kept the room
    c.apply(ev.SessionStateChanged(S.CONNECTED, S.RECONNECTING, at=T0 + 11))
    c.apply(ev.RetryScheduled(1, 3, 0.5, T0 + 12, "reconnect", UNAVAILABLE, None, at=T0 + 11))
    assert c.reconnects == 2 and c.connected_since is None
    assert c.snapshot(T0 + 20)["uptime_s"] == 0.0


def test_events_that_count_nothing_say_so() -> None:
    c = SessionCounters()
    assert not c.apply(ev.LogRecorded(level="info", category="x", message="y", at=T0))
    assert c.apply(ev.MessageSent("trigger-message", "m-1", "hi", at=T0))
    assert c.messages_sent == 1


async def test_the_core_diagnostics_are_the_fold_of_what_it_published() -> None:
    FakeTransport.instances.clear()
    FakeTransport.join_error = None
    settings = SessionSettings(
        connect_url="http://127.0.0.1:9",
        api_key="sk-test-key-123",
        character_id="char-1",
        retry=FAST,
    )
    api = FakeApi(
        [ok_response(1), http_error("connection.service_unavailable", 503), ok_response(2)]
    )
    core = SessionCore(
        settings,
        api_client=api,  # type: ignore[arg-type]
        transport_factory=FakeTransport,  # type: ignore[arg-type]
    )
    sub = core.subscribe()
    seen: list[ev.Event] = []
    try:
        await core.start()
        await next_event(sub, ev.RoomJoined, seen=seen)
        await asyncio.sleep(0)
        FakeTransport.instances[-1].drop(9)  # SIGNAL_CLOSE: reconnect; its first /connect fails
        await next_event(sub, ev.RoomJoined, seen=seen)
        diag = core.diagnostics()
    finally:
        await core.close()
    live = {key: diag[key] for key in COUNTER_KEYS}
    assert live == {key: fold(*seen).snapshot(0)[key] for key in COUNTER_KEYS}
    assert (
        live["connect_attempts"],
        live["successful_connections"],
        live["failed_connections"],
        live["reconnects"],
    ) == (3, 2, 1, 1)
