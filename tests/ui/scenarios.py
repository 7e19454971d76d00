"""Scripted sessions shared by the UI tests, the snapshot tests and scripts/screenshots.py.

Every event carries an explicit time from the frozen epoch T0 and every app gets a FakeClock,
so what is drawn never depends on when it runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from textual.pilot import Pilot

from convai_tui.core.api.events import (
    ActionsReceived,
    AudioLevels,
    BotActivityChanged,
    BotReady,
    ConnectAttemptStarted,
    EmotionReceived,
    ErrorRaised,
    Event,
    IdleWarningReceived,
    LinkStatsSampled,
    LlmNoResponse,
    MessageSent,
    ModerationResult,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    RetryScheduled,
    RoomDetailsReceived,
    RoomJoined,
    ServerResponseReceived,
    SessionEnded,
    SessionStateChanged,
    TranscriptReceived,
    TurnCompleted,
    TurnTimed,
    UsageLimitReached,
)
from convai_tui.core.api.states import SessionState as S
from convai_tui.core.errors.error import make_error
from convai_tui.ui.app import ConvaiApp
from tests.ui.fake_core import T0, FakeClock, FakeSession, Step


def t(offset: float) -> float:
    return T0 + offset


LOCAL = ParticipantInfo("user-7f3a", "You", "local_player", sid="PA_local", tracks=("mic",))
CHARACTER = ParticipantInfo(
    "char-demo-001", "Ava", "character", sid="PA_bot", tracks=("audio",), speaking=False
)
DIAGNOSTICS: dict[str, Any] = {
    "connect_attempts": 1,
    "successful_connections": 1,
    "failed_connections": 0,
    "reconnects": 0,
    "errors": 0,
    "last_connected_at": t(1.2),
    "last_error_code": None,
    "uptime_s": 40.8,
    "room": {
        "room_url": "ws://127.0.0.1:7880",
        "room_name": "convai-room-4d2e",
        "session_id": "sess-8c41f0",
        "character_session_id": "cs-19ab77",
        "request_trace_id": "trace-5e0c2b9a",
        "token_redacted": "eyJ…[redacted]",
        "token": "eyJhbGciOiJIUzI1NiJ9.demo-token-for-screenshots",
    },
    "latency": {"connect_ms": 184.0, "bot_ready_ms": 912.0, "last_turn_first_text_ms": 431.0},
    "rtc": {"packets_lost": 0},
}


def connect_events(start: float = 0.0) -> list[Event]:
    """Disconnected → connecting → connected, room details, participants, bot ready."""
    return [
        SessionStateChanged(S.DISCONNECTED, S.CONNECTING, at=t(start)),
        ConnectAttemptStarted(1, 4, "connect", at=t(start)),
        RoomDetailsReceived(
            "sess-8c41f0",
            "cs-19ab77",
            "convai-room-4d2e",
            "ws://127.0.0.1:7880",
            "trace-5e0c2b9a",
            184.0,
            at=t(start + 0.2),
        ),
        RoomJoined("convai-room-4d2e", "user-7f3a", 310.0, at=t(start + 0.5)),
        SessionStateChanged(S.CONNECTING, S.CONNECTED, session_id="sess-8c41f0", at=t(start + 0.5)),
        ParticipantJoined("user-7f3a", "You", "local_player", LOCAL, at=t(start + 0.5)),
        ParticipantJoined("char-demo-001", "Ava", "character", CHARACTER, at=t(start + 0.8)),
        BotReady("char-demo-001", 912.0, at=t(start + 1.2)),
    ]


def conversation_events(start: float = 2.0) -> list[Event]:
    reply = "Hi! I'm Ava. The local stand-in is running, so we can talk without an account."
    return [
        TranscriptReceived("user", "Hello Ava, can you hear me?", True, at=t(start + 3)),
        BotActivityChanged("thinking", at=t(start + 3.1)),
        EmotionReceived("joy", 3, at=t(start + 3.4)),
        TranscriptReceived(
            "character", "Hi! I'm Ava.", False, "Hi! I'm Ava.", 1, at=t(start + 3.5)
        ),
        TranscriptReceived("character", reply, True, reply, 1, at=t(start + 4.2)),
        ActionsReceived(("wave", "smile"), at=t(start + 4.3)),
        TurnCompleted(1, False, reply, 431.0, at=t(start + 5)),
        TranscriptReceived("user", "What can you do?", True, at=t(start + 20)),
        BotActivityChanged("speaking", at=t(start + 20.5)),
        TranscriptReceived(
            "character",
            "I can answer questions, show",
            False,
            "I can answer questions, show",
            2,
            at=t(start + 21),
        ),
        AudioLevels(-18.0, -9.0, False, at=t(start + 21)),
    ]


@dataclass
class Scenario:
    """A scripted session, the clock to show it at, and what to do before the picture."""

    name: str
    script: list[Event]
    clock_at: float
    size: tuple[int, int] = (110, 32)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[Pilot[Any], ConvaiApp], Awaitable[None]] | None = None

    def build(self) -> tuple[ConvaiApp, FakeSession, FakeClock]:
        clock = FakeClock(t(self.clock_at))
        session = FakeSession(
            script=[Step(e) for e in self.script],
            diagnostics_data=dict(self.diagnostics),
            clock=clock,
        )
        return ConvaiApp(session, clock=clock), session, clock

    async def run_before(self, pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, ConvaiApp)
        await settle(pilot)
        if self.prepare is not None:
            await self.prepare(pilot, app)
            await settle(pilot)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until every published event is folded in, then repaint the timed parts once."""
    app = pilot.app
    assert isinstance(app, ConvaiApp)
    session = app.session
    assert isinstance(session, FakeSession)
    for _ in range(400):
        await pilot.pause()
        if session.script_done.is_set() and app.model.events_applied >= session.bus.published:
            break
    app.refresh_now()
    await pilot.pause()


async def _show(pilot: Pilot[Any], app: ConvaiApp, tab: str) -> None:
    app.action_show_tab(tab)
    await pilot.pause()


async def _errors_prepare(pilot: Pilot[Any], app: ConvaiApp) -> None:
    await _show(pilot, app, "errors")
    await pilot.press("up", "up")


async def _diagnostics_prepare(pilot: Pilot[Any], app: ConvaiApp) -> None:
    await _show(pilot, app, "diagnostics")


async def _participants_prepare(pilot: Pilot[Any], app: ConvaiApp) -> None:
    await _show(pilot, app, "participants")


def _connected() -> Scenario:
    return Scenario(
        "session-connected",
        connect_events() + conversation_events(),
        40.0,
        diagnostics=DIAGNOSTICS,
    )


def _narrow() -> Scenario:
    s = _connected()
    s.name, s.size = "narrow-80x24", (80, 24)
    return s


def _reconnect() -> Scenario:
    err = replace(
        make_error(
            "transport.signal_disconnected",
            "signal connection lost (ws closed 1006)",
            session_id="sess-8c41f0",
        ),
        at=t(30),
    )
    events = (
        connect_events()
        + conversation_events()[:7]
        + [
            SessionStateChanged(S.CONNECTED, S.RECONNECTING, reason="SIGNAL_CLOSE", at=t(30)),
            ErrorRaised(err, at=t(30)),
            RetryScheduled(2, 3, 2.0, t(32.0), "reconnect", err, at=t(30)),
        ]
    )
    return Scenario("reconnect-countdown", events, 30.6, diagnostics=DIAGNOSTICS)


def _waiting_room() -> Scenario:
    err = replace(
        make_error(
            "connection.connect_concurrency_limit_reached",
            "Concurrency limit reached: 2 of 2 sessions in use",
            http_status=429,
        ),
        at=t(72),
    )
    events: list[Event] = [SessionStateChanged(S.DISCONNECTED, S.CONNECTING, at=t(0))]
    for attempt in range(1, 8):
        at = t((attempt - 1) * 12.0)
        events += [
            ConnectAttemptStarted(attempt, None, "waiting_room", at=at),
            ErrorRaised(replace(err, at=at), at=at),
        ]
    events.append(RetryScheduled(8, None, 15.0, t(87.0), "waiting_room", err, t(0), at=t(72.0)))
    return Scenario("waiting-room", events, 83.0)


def _idle() -> Scenario:
    events = (
        connect_events()
        + conversation_events()[:7]
        + [
            IdleWarningReceived(
                30,
                "You've been idle. You will be disconnected in 30 seconds.",
                t(90),
                at=t(60),
            ),
        ]
    )
    return Scenario("idle-warning", events, 82.0)


def error_events() -> list[Event]:
    specs = [
        ("connection.timeout", "connect did not answer within 30 s", None, 0),
        ("connection.service_unavailable", "503 Service Unavailable", 503, 2),
        ("transport.ice_failed", "ICE connection failed (no candidate pair)", None, 9),
        ("server.error", "pipeline warning: tts voice fallback", None, 20),
        ("protocol.parse_failed", "data packet is not JSON: b'\\x00\\x17...'", None, 25),
        ("connection.connect_invalid_api_key", "Invalid API key", 401, 31),
    ]
    return [
        ErrorRaised(
            replace(make_error(code, msg, http_status=http, session_id="sess-8c41f0"), at=t(at)),
            at=t(at),
        )
        for code, msg, http, at in specs
    ]


def _errors() -> Scenario:
    events = [SessionStateChanged(S.DISCONNECTED, S.CONNECTING, at=t(0)), *error_events()]
    events.append(SessionStateChanged(S.CONNECTING, S.ERROR, error=events[-1].error, at=t(31)))  # type: ignore[attr-defined]
    return Scenario("error-detail", events, 40.0, prepare=_errors_prepare)


def _participants() -> Scenario:
    guest = ParticipantInfo("user-guest-22", "Guest", "remote_player", sid="PA_g", tracks=("mic",))
    observer = ParticipantInfo("observer-1", "Observer", "remote_player", sid="PA_o")
    events = [
        *connect_events(),
        ParticipantJoined("observer-1", "Observer", "remote_player", observer, at=t(5)),
        ParticipantUpdated(
            "char-demo-001",
            "Ava",
            "character",
            ParticipantInfo(
                "char-demo-001",
                "Ava",
                "character",
                sid="PA_bot",
                tracks=("audio",),
                speaking=True,
                quality="poor",
            ),
            at=t(38.5),
        ),
        ParticipantJoined("user-guest-22", "Guest", "remote_player", guest, at=t(39)),
        ParticipantLeft("observer-1", "Observer", "remote_player", observer, at=t(39.5)),
        ParticipantUpdated(
            "user-7f3a",
            "You",
            "local_player",
            ParticipantInfo(
                "user-7f3a",
                "You",
                "local_player",
                sid="PA_local",
                tracks=("mic",),
                muted=True,
                quality="excellent",
            ),
            at=t(12),
        ),
    ]
    return Scenario("participants", events, 40.0, prepare=_participants_prepare)


def _diagnostics() -> Scenario:
    return Scenario(
        "diagnostics",
        connect_events() + conversation_events()[:7],
        42.0,
        diagnostics=DIAGNOSTICS,
        prepare=_diagnostics_prepare,
    )


def _usage_limit() -> Scenario:
    events = (
        connect_events()
        + conversation_events()[:7]
        + [
            UsageLimitReached(
                "monthly_minutes", "You have used all 600 minutes of this month.", at=t(50)
            ),
            ErrorRaised(
                replace(
                    make_error(
                        "server.usage_limit_reached", "You have used all 600 minutes of this month."
                    ),
                    at=t(50),
                ),
                at=t(50),
            ),
            SessionStateChanged(S.CONNECTED, S.DISCONNECTING, at=t(50.2)),
            SessionStateChanged(S.DISCONNECTING, S.DISCONNECTED, at=t(50.4)),
            SessionEnded("usage limit reached (monthly_minutes)", at=t(50.4)),
        ]
    )
    return Scenario("usage-limit", events, 55.0)


def request_events(start: float = 3.0) -> list[Event]:
    """Controls sent and acknowledged: success, an error ack, an unmatched parse-error, one
    still pending, and a context budget under 5,000 tokens."""
    budget = {"token_count": 45_800, "max_tokens": 50_000, "remaining_tokens": 4_200}
    sent = [
        ("m1", "trigger-message", "greet", "success", "Trigger message processed", None),
        (
            "m2",
            "context-update",
            "append: the user is a nurse",
            "success",
            "Context updated",
            budget,
        ),
        (
            "m3",
            "update-template-keys",
            "city=Paris, mood=calm",
            "success",
            "Template keys updated",
            None,
        ),
        ("m4", "tts-toggle", "off", "success", "TTS disabled", {"enabled": False}),
        ("m5", "update-dynamic-info", "", "error", "No text provided in dynamic info", None),
        ("m6", "user_text_message", "hi", "success", "User text message processed", None),
    ]
    events: list[Event] = []
    for index, (mid, kind, summary, status, message, extras) in enumerate(sent):
        at = start + index
        events.append(MessageSent(kind, mid, summary, at=t(at)))
        events.append(ServerResponseReceived(kind, status, message, extras, mid, at=t(at + 0.1)))
    events.append(
        ServerResponseReceived(
            "parse-error",
            "error",
            "Failed to parse message: invalid JSON or UTF-8 encoding",
            at=t(start + 7),
        )
    )
    events.append(MessageSent("interrupt-bot", "m7", "", at=t(start + 8)))
    return events


def _requests() -> Scenario:
    return Scenario(
        "requests",
        connect_events() + request_events(),
        20.0,
        prepare=lambda pilot, app: _show(pilot, app, "requests"),
    )


def _moderation() -> Scenario:
    """Issue #16: blocked input stops "thinking" and says why."""
    events = (
        connect_events()
        + conversation_events()[:7]
        + [
            TranscriptReceived("user", "tell me something awful", True, at=t(30)),
            BotActivityChanged("thinking", at=t(30.2)),
            ModerationResult(
                False, "tell me something awful", "Inappropriate language", at=t(30.4)
            ),
            BotActivityChanged("listening", at=t(30.4)),
        ]
    )
    return Scenario("moderation-blocked", events, 32.0)


def _no_response() -> Scenario:
    """Issue #16: the character chose not to answer, with its reason."""
    events = (
        connect_events()
        + conversation_events()[:7]
        + [
            TranscriptReceived("user", "...", True, at=t(30)),
            BotActivityChanged("thinking", at=t(30.2)),
            LlmNoResponse("abstain", at=t(30.6)),
            BotActivityChanged("listening", at=t(30.6)),
        ]
    )
    return Scenario("llm-no-response", events, 32.0)


def _aborted() -> Scenario:
    """Issue #16: a turn the service aborted is a visible warning."""
    reply = "Let me show you the"
    events = (
        connect_events()
        + conversation_events()[:7]
        + [
            TranscriptReceived("user", "Show me around", True, at=t(30)),
            BotActivityChanged("thinking", at=t(30.2)),
            TranscriptReceived("character", reply, False, reply, 2, at=t(30.5)),
            BotActivityChanged("speaking", at=t(30.8)),
            TurnCompleted(
                2,
                False,
                reply,
                300.0,
                was_aborted=True,
                error_reason="audio_delivery_failed",
                at=t(31.5),
            ),
            BotActivityChanged("listening", at=t(31.5)),
        ]
    )
    return Scenario("turn-aborted", events, 33.0)


def link_samples(
    start: float,
    seconds: int,
    *,
    degraded_from: float | None = None,
    relay_from: float | None = None,
) -> list[Event]:
    """One LinkStatsSampled a second; from `degraded_from` on, RTT and loss climb past the
    thresholds (the warnings are what the core's LinkHealth would attach)."""
    events: list[Event] = []
    for i in range(seconds):
        at = start + i
        bad = degraded_from is not None and at >= degraded_from
        wave = (i * 7) % 11
        rtt = 38.0 + wave + (i - (degraded_from or 0) + 1) * 18 if bad else 38.0 + wave
        loss = 4.0 + wave / 2 if bad else (0.5 if i % 9 == 0 else 0.0)
        candidate = "relay/tls" if relay_from is not None and at >= relay_from else "host/udp"
        warnings: tuple[str, ...] = ()
        if bad:
            warnings = tuple(
                w
                for w in (
                    f"RTT {rtt:.0f} ms > 300 ms" if rtt > 300 else "",
                    f"loss {loss:.1f} % > 2 % over 10 s",
                    f"relay-only ICE ({candidate})" if candidate.startswith("relay") else "",
                )
                if w
            )
        events.append(
            LinkStatsSampled(
                rtt_ms=rtt,
                jitter_ms=4.0 + wave / 3 + (20 if bad else 0),
                loss_pct=loss,
                packets_lost=i,
                packets_received=50 * i,
                concealment_events=i // 10,
                jitter_buffer_ms=60.0 + wave,
                bitrate_in_kbps=32.0 + (wave * 3 if i % 20 < 12 else 0),
                bitrate_out_kbps=28.0 + wave,
                audio_in_dbfs=-30.0 + wave * 2 if i % 20 < 12 else -90,
                audio_out_dbfs=-25.0 + wave,
                candidate=candidate,
                candidate_changed=relay_from is not None and at == relay_from,
                warnings=warnings,
                at=t(at),
            )
        )
    return events


def _turn_timings(start: float) -> list[Event]:
    figures = [420.0, 380.0, 510.0, 350.0, 900.0, 400.0, 440.0, 610.0]
    return [
        TurnTimed(i + 1, ms, ms + 350, None, at=t(start + 6 * i)) for i, ms in enumerate(figures)
    ]


async def _link_prepare(pilot: Pilot[Any], app: ConvaiApp) -> None:
    await _show(pilot, app, "link")


def _link_healthy() -> Scenario:
    events = connect_events() + link_samples(2, 58) + _turn_timings(4)
    events.sort(key=lambda e: e.at)
    return Scenario("link-healthy", events, 60.0, prepare=_link_prepare)


def _link_degraded() -> Scenario:
    error = replace(
        make_error("transport.link_degraded", "The link is degraded: loss 6.0 % > 2 % over 10 s."),
        at=t(36),
    )
    events = (
        connect_events()
        + link_samples(2, 58, degraded_from=35, relay_from=45)
        + _turn_timings(4)
        + [
            ErrorRaised(error, at=t(36)),
            SessionStateChanged(S.CONNECTED, S.RECONNECTING, reason="link_stalled", at=t(50)),
            SessionStateChanged(S.RECONNECTING, S.CONNECTED, reason="link_recovered", at=t(53)),
        ]
    )
    events.sort(key=lambda e: e.at)
    return Scenario("link-degraded", events, 60.0, prepare=_link_prepare)


def _link_narrow() -> Scenario:
    s = _link_degraded()
    s.name, s.size = "link-80x24", (80, 24)
    return s


def _waterfall(turn: int, at: float, llm: float, tts: float, **kwargs: Any) -> TurnTimed:
    """A typed turn's turn_timing as the core builds it: parts adding up to the total."""
    parts = [
        ("input", 40.0, "network", "measured"),
        ("llm_wait", 30.0, "server", "measured"),
        ("llm", llm, "server", "server"),
        ("text_to_tts", 60.0, "server", "measured"),
        ("tts", tts, "server", "server"),
        ("network", 12.0, "network", "estimated"),
        ("audio_transport", 25.0, "network", "measured"),
        ("playout", 45.0, "client", "measured"),
    ]
    total = sum(p[1] for p in parts)
    fields: dict[str, Any] = dict(
        turn_id=f"s:t{turn}",
        input="text",
        total_ms=total,
        end="played",
        segments=tuple(dict(name=n, ms=ms, owner=o, source=src) for n, ms, o, src in parts),
        server={"turn_id": f"s:t{turn}", "segments_ms": {"llm": llm, "tts": tts}},
        sla_ms=1200,
        over_sla=total > 1200,
    )
    fields.update(kwargs)
    return TurnTimed(turn, llm + 130.0, total - 70.0, None, at=t(at), **fields)


def turns_events() -> list[TurnTimed]:
    return [
        _waterfall(1, 4, 400.0, 250.0),
        _waterfall(2, 10, 380.0, 240.0),
        _waterfall(3, 16, 950.0, 300.0),
        _waterfall(4, 22, 410.0, 260.0, outcome="interrupted"),
        _waterfall(5, 28, 420.0, 255.0),
    ]


async def _turns_prepare(pilot: Pilot[Any], app: ConvaiApp) -> None:
    await _show(pilot, app, "turns")
    await pilot.press("up", "up", "enter")  # the slow turn's detail


def _turns_wide() -> Scenario:
    events: list[Event] = [*connect_events(), *turns_events()]
    return Scenario("turns-120x40", events, 30.0, size=(120, 40), prepare=_turns_prepare)


def _turns_narrow() -> Scenario:
    s = _turns_wide()
    s.name, s.size = "turns-80x24", (80, 24)
    return s


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "moderation-blocked": _moderation,
    "llm-no-response": _no_response,
    "turn-aborted": _aborted,
    "session-connected": _connected,
    "reconnect-countdown": _reconnect,
    "waiting-room": _waiting_room,
    "idle-warning": _idle,
    "error-detail": _errors,
    "participants": _participants,
    "diagnostics": _diagnostics,
    "narrow-80x24": _narrow,
    "usage-limit": _usage_limit,
    "requests": _requests,
    "link-healthy": _link_healthy,
    "link-degraded": _link_degraded,
    "link-80x24": _link_narrow,
    "turns-120x40": _turns_wide,
    "turns-80x24": _turns_narrow,
}
