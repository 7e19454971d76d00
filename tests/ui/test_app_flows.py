"""Pilot tests: the real App against FakeSession, asserting on widget state."""

from __future__ import annotations

import inspect
import io
import subprocess
import sys
from dataclasses import replace
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Input, ProgressBar, Static, TabbedContent

from convai_tui.core.api.events import (
    ConnectAttemptStarted,
    ErrorRaised,
    Event,
    IdleWarningReceived,
    RetryScheduled,
    SessionEnded,
    SessionStateChanged,
    TranscriptReceived,
    UsageLimitReached,
)
from convai_tui.core.api.port import SendOutcome
from convai_tui.core.api.states import SessionState as S
from convai_tui.core.errors.error import make_error
from convai_tui.ui.app import ConvaiApp, run_tui
from convai_tui.ui.commands import monitor_commands
from convai_tui.ui.model.reducer import Part
from convai_tui.ui.screens.help import HelpScreen
from convai_tui.ui.widgets.banners import EndedBanner, IdleBanner, PinnedError
from convai_tui.ui.widgets.diagnostics import DiagnosticsPanel
from convai_tui.ui.widgets.errors import ErrorDetail, ErrorList
from convai_tui.ui.widgets.overlays import BlockingBanner, RetryOverlay
from convai_tui.ui.widgets.status import AudioMeters, StateBadge
from convai_tui.ui.widgets.transcript import PREFIX_W, TranscriptView
from tests.ui.fake_core import T0, FakeClock, FakeSession, Step
from tests.ui.scenarios import DIAGNOSTICS, connect_events, settle, t

SIZE = (100, 30)


def plain(widget: Static) -> str:
    """The text a Static shows, whatever Rich renderable it holds."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def make(
    script: list[Event] | None = None, **kwargs: Any
) -> tuple[ConvaiApp, FakeSession, FakeClock]:
    clock = FakeClock(T0)
    keymap = kwargs.pop("keymap", None)
    session = FakeSession(script=[Step(e) for e in script or []], clock=clock, **kwargs)
    return ConvaiApp(session, clock=clock, keymap=keymap), session, clock


async def push(pilot: Pilot[Any], session: FakeSession, *events: Event) -> None:
    session.publish(*events)
    await settle(pilot)


async def test_starts_subscribes_first_and_focuses_the_input() -> None:
    app, session, _ = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert [c for c, _ in session.calls[:2]] == ["subscribe", "start"]
        assert app.focused is app.query_one("#message-input", Input)
        assert app.query_one("#state-badge", StateBadge).state is S.CONNECTED
        assert app.query_one("#state-badge", StateBadge).has_class("-connected")
        assert "Ava" in str(app.query_one("#character-name", Static).render())
        assert app.query_one(AudioMeters).levels is None
        assert "audio off" in str(app.query_one(AudioMeters).render())


async def test_read_only_neither_starts_nor_accepts_input() -> None:
    clock = FakeClock(T0)
    session = FakeSession(clock=clock)
    app = ConvaiApp(session, clock=clock, read_only=True, title="replay")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert session.called("start") == []
        assert app.query_one("#message-input", Input).disabled
        assert app.title == "replay"


async def test_connect_retryable_error_countdown_then_connected() -> None:
    err = replace(make_error("connection.timeout", "no answer in 30 s"), at=T0)
    app, session, clock = make(
        [
            SessionStateChanged(S.DISCONNECTED, S.CONNECTING, at=T0),
            ConnectAttemptStarted(1, 4, "connect", at=T0),
            ErrorRaised(err, at=T0),
            RetryScheduled(2, 4, 1.0, T0 + 1.0, "connect", err, at=T0),
        ]
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        overlay = app.query_one("#retry-overlay", RetryOverlay)
        assert overlay.display and overlay.retry is not None
        assert "Attempt 2 of 4" in str(app.query_one("#retry-status", Static).render())
        assert "connection.timeout" in str(app.query_one("#retry-cause", Static).render())
        assert overlay.remaining == 1.0
        clock.advance(0.25)
        app.refresh_now()
        assert overlay.remaining == 0.75
        assert app.query_one("#retry-progress", ProgressBar).progress == 0.25
        await pilot.press("ctrl+r")
        assert session.called("retry_now") == [()]
        await push(
            pilot,
            session,
            ConnectAttemptStarted(2, 4, "connect", at=T0 + 0.3),
            SessionStateChanged(S.CONNECTING, S.CONNECTED, at=T0 + 0.5),
        )
        assert not overlay.display
        assert app.model.retry is None
        assert app.query_one(StateBadge).state is S.CONNECTED


async def test_countdown_refreshes_at_least_four_times_a_second() -> None:
    err = make_error("connection.timeout")
    app, _session, clock = make([RetryScheduled(2, 4, 4.0, T0 + 4, "connect", err, at=T0)])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        overlay = app.query_one(RetryOverlay)
        seen = set()
        for _ in range(5):
            clock.advance(0.1)
            await pilot.pause(0.12)
            seen.add(round(overlay.remaining, 1))
        assert len(seen) >= 4


async def test_drop_reconnecting_reconnected() -> None:
    err = make_error("transport.signal_disconnected")
    app, session, _ = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await push(
            pilot,
            session,
            SessionStateChanged(S.CONNECTED, S.RECONNECTING, at=t(5)),
            ErrorRaised(err, at=t(5)),
            RetryScheduled(1, 3, 0.0, t(5), "reconnect", err, at=t(5)),
        )
        assert app.query_one(StateBadge).state is S.RECONNECTING
        assert str(app.query_one("#retry-title", Static).render()) == "Reconnecting"
        assert "Attempt 1 of 3" in str(app.query_one("#retry-status", Static).render())
        hint = app.query_one("#input-hint", Static)
        assert "Reconnecting" in str(hint.render())
        await push(pilot, session, SessionStateChanged(S.RECONNECTING, S.CONNECTED, at=t(6)))
        assert not app.query_one(RetryOverlay).display
        assert app.model.counters.reconnects == 1


async def test_idle_warning_any_key_resets_and_ack_dismisses() -> None:
    app, session, clock = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        clock.set(T0 + 60)
        await push(pilot, session, IdleWarningReceived(30, "idle", T0 + 90, at=T0 + 60))
        banner = app.query_one("#idle-banner", IdleBanner)
        assert banner.display and banner.remaining == 30 and not banner.has_class("-urgent")
        clock.advance(25)
        app.refresh_now()
        assert banner.has_class("-urgent")
        await pilot.press("x")
        await settle(pilot)
        assert session.called("reset_idle_timer") == [()]
        assert not banner.display
        assert app.model.idle is None


async def test_idle_timeout_shows_why_the_session_ended() -> None:
    app, session, clock = make(connect_events())
    session.auto_ack_idle = False
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await push(pilot, session, IdleWarningReceived(5, None, T0 + 5, at=T0))
        clock.advance(6)
        app.refresh_now()
        assert "Idle time is up" in str(app.query_one(IdleBanner).render())
        await push(
            pilot,
            session,
            ErrorRaised(make_error("session.idle_timeout"), at=T0 + 6),
            SessionEnded("idle timeout", at=T0 + 6),
        )
        ended = app.query_one("#ended-banner", EndedBanner)
        assert ended.display and "idle timeout" in str(ended.render())


async def test_usage_limit_blocks_without_reconnecting() -> None:
    app, session, _ = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await push(
            pilot,
            session,
            UsageLimitReached("monthly_minutes", "All minutes used.", at=t(9)),
            SessionStateChanged(S.CONNECTED, S.DISCONNECTING, at=t(9)),
            SessionStateChanged(S.DISCONNECTING, S.DISCONNECTED, at=t(9)),
            SessionEnded("usage limit reached", at=t(9)),
        )
        banner = app.query_one("#blocking-banner", BlockingBanner)
        assert banner.display
        assert "monthly_minutes" in str(app.query_one("#blocking-title", Static).render())
        assert "All minutes used." in str(app.query_one("#blocking-detail", Static).render())
        await pilot.press("h", "i", "enter")
        assert session.called("send_text") == []
        assert "Not sent" in str(app.query_one("#input-hint", Static).render())
        await pilot.press("escape")
        assert not banner.display
        assert session.called("start") == [()]  # never restarted on its own


async def test_waiting_room_please_wait_and_cancel() -> None:
    err = make_error("connection.connect_concurrency_limit_reached", http_status=429)
    app, session, clock = make(
        [
            SessionStateChanged(S.DISCONNECTED, S.CONNECTING, at=T0),
            ErrorRaised(err, at=T0),
            RetryScheduled(4, None, 8.0, T0 + 68, "waiting_room", err, T0, at=T0 + 60),
        ]
    )
    clock.set(T0 + 63)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert str(app.query_one("#retry-title", Static).render()) == "Please wait…"
        status = str(app.query_one("#retry-status", Static).render())
        assert "Every session slot for this key is busy" in status
        assert "Waiting 1:03" in status and "3 attempts" in status
        assert app.query_one(RetryOverlay).has_class("-waiting-room")
        await pilot.press("escape")
        await settle(pilot)
        assert session.called("cancel_retry") == [()]
        assert not app.query_one(RetryOverlay).display
        assert app.query_one(StateBadge).state is S.DISCONNECTED


async def test_send_text_shows_it_and_a_refusal_keeps_the_text() -> None:
    app, session, _ = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"hello", "enter")
        await settle(pilot)
        assert session.called("send_text") == [("hello",)]
        assert app.query_one("#message-input", Input).value == ""
        assert "you: hello" in app.query_one("#transcript", TranscriptView).plain_lines()
        session.send_outcome = lambda text: SendOutcome("refused", reason="the character is busy")
        await pilot.press(*"again", "enter")
        await settle(pilot)
        assert app.query_one("#message-input", Input).value == "again"
        assert "the character is busy" in str(app.query_one("#input-hint", Static).render())


async def test_character_reply_streams_then_lands_in_the_transcript() -> None:
    app, session, _ = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await push(pilot, session, TranscriptReceived("character", "Hi", False, "Hi", 1))
        activity = app.query_one("#activity", Static)
        assert activity.display and "Hi" in str(activity.render())
        await push(pilot, session, TranscriptReceived("character", "Hi you", True, "Hi you", 1))
        assert not activity.display
        assert app.query_one(TranscriptView).plain_lines()[-1] == "Ava: Hi you"


async def test_errors_tab_detail_and_filter() -> None:
    app, _session, _ = make(
        [
            ErrorRaised(make_error("connection.timeout"), at=T0),
            ErrorRaised(make_error("transport.ice_failed"), at=T0 + 1),
            ErrorRaised(make_error("connection.rate_limited", http_status=429), at=T0 + 2),
        ]
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        errors = app.query_one("#error-list", ErrorList)
        assert app.query_one(TabbedContent).active == "errors" and app.focused is errors
        assert errors.selected is not None and errors.selected.code == "connection.rate_limited"
        detail = str(app.query_one("#error-detail", ErrorDetail).render())
        assert "Cause:" in detail and "Fix:" in detail and "Verify:" in detail and "429" in detail
        await pilot.press("up")
        assert errors.selected is not None and errors.selected.code == "transport.ice_failed"
        await pilot.press("f")  # all → connection
        assert errors.category == "connection" and errors.shown_count == 2
        assert "connection 2" in str(app.query_one("#error-filter", Static).render())


async def test_diagnostics_poll_merge_and_token_reveal() -> None:
    app, _session, _ = make(connect_events(), diagnostics_data=dict(DIAGNOSTICS, extra_key=7))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        panel = app.query_one("#diagnostics-panel", DiagnosticsPanel)
        text = plain(panel)
        assert "trace-5e0c2b9a" in text and "extra_key" in text
        assert "demo-token" not in text
        await pilot.press("t")
        assert panel.token_revealed and "demo-token" in plain(panel)
        await pilot.press("t")
        assert "demo-token" not in plain(panel)


async def test_diagnostics_shows_the_audio_counters_in_their_own_section() -> None:
    audio = {"frames_sent": 1234, "underruns": 2, "jitter_target_ms": 30.0, "mic_open": True}
    app, _session, _ = make(connect_events(), diagnostics_data=dict(DIAGNOSTICS, audio=audio))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        lines = plain(app.query_one("#diagnostics-panel", DiagnosticsPanel)).splitlines()
        section = lines[next(i for i, line in enumerate(lines) if line.strip() == "Audio") :]
        assert any("frames sent" in line and "1234" in line for line in section)
        assert any("underruns" in line and "2" in line for line in section)
        assert any("mic open" in line and "yes" in line for line in section)


async def test_diagnostics_tolerates_missing_keys_and_failures() -> None:
    class Broken(FakeSession):
        def diagnostics(self) -> dict[str, Any]:
            raise RuntimeError("not ready")

    clock = FakeClock(T0)
    session = Broken(clock=clock)
    app = ConvaiApp(session, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        assert "not ready" in plain(app.query_one(DiagnosticsPanel))


async def test_a_failing_command_becomes_a_visible_error_not_a_crash() -> None:
    class Failing(FakeSession):
        def retry_now(self) -> None:
            raise RuntimeError("boom")

    clock = FakeClock(T0)
    session = Failing(
        script=[Step(RetryScheduled(2, 4, 1.0, T0 + 1, "connect", at=T0))], clock=clock
    )
    app = ConvaiApp(session, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.is_running
        assert any("boom" in e for e in app.ui_errors)
        assert app.model.errors[-1].code == "ui.handler_failed"


async def test_keymap_remaps_by_binding_id() -> None:
    app, _session, _ = make(connect_events(), keymap={"view.errors": "f9", "retry.now": "ctrl+y"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        assert app.query_one(TabbedContent).active == "session"
        await pilot.press("f9")
        assert app.query_one(TabbedContent).active == "errors"


async def test_every_binding_has_an_id_and_help_lists_them() -> None:
    from convai_tui.ui.screens.help import binding_rows

    rows = binding_rows({"view.errors": "f9"})
    assert ("view.errors", "f9") in [(r[0], r[1]) for r in rows]
    app, _session, _ = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _key, binding in app._bindings:
            assert binding.id, binding
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        assert "retry.now" in plain(app.screen.query_one("#help-table", Static))
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        app.query_one(TranscriptView).focus()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)


async def test_command_palette_provider_lists_group_verb_commands() -> None:
    err = make_error("connection.timeout")
    app, session, _ = make(
        [ErrorRaised(err, at=T0), RetryScheduled(2, 4, 1.0, T0 + 1, "connect", err, at=T0)]
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        names = {name: cb for name, cb, _ in monitor_commands(app)}
        assert {
            "view: errors",
            "session: retry now",
            "session: cancel retry",
            "errors: filter connection",
            "diagnostics: reveal token",
        } <= set(names)
        names["session: retry now"]()
        assert session.called("retry_now") == [()]
        names["errors: filter connection"]()
        await pilot.pause()
        assert app.query_one(ErrorList).category == "connection"


async def test_error_filters_are_in_the_palette_before_any_error() -> None:
    app, _session, _ = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.model.error_counts == {} or "connection" not in app.model.error_counts
        names = {name: (cb, help_) for name, cb, help_ in monitor_commands(app)}
        assert "errors: filter connection" in names  # the README's example
        assert {"errors: filter audio", "errors: filter server"} <= set(names)
        callback, help_ = names["errors: filter connection"]
        assert help_ == "Only connection.* errors (0 so far)"
        callback()
        await pilot.pause()
        assert app.monitor.active_tab == "errors"
        assert app.query_one(ErrorList).category == "connection"


async def test_ctrl_q_quits_and_closes_the_session() -> None:
    app, session, _ = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert session.called("close") == [()]
    assert app.return_code == 0


async def test_ten_thousand_events_a_second_are_all_ingested_quickly() -> None:
    app, session, _ = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = app.model.events_applied
        events: list[Event] = []
        for i in range(10_000):
            if i % 10 == 0:
                events.append(ErrorRaised(make_error("server.error", f"e{i}"), at=T0))
            else:
                events.append(TranscriptReceived("user", f"line {i}", True, at=T0))
        await push(pilot, session, *events)
        assert app.model.events_applied - before == 10_000
        assert app.query_one(TranscriptView).line_count == len(app.model.transcript)
        assert app.query_one(ErrorList).shown_count == 1_000
        print(f"slowest batch {app.slowest_batch_ms:.1f} ms")
        assert app.slowest_batch_ms < 250, app.slowest_batch_ms


def test_run_tui_signature() -> None:
    params = inspect.signature(run_tui).parameters
    assert list(params) == ["session", "keymap"]
    assert params["keymap"].kind is inspect.Parameter.KEYWORD_ONLY


def test_the_ui_never_imports_network_libraries() -> None:
    code = (
        "import sys, convai_tui.ui.app, convai_tui.ui.commands;"
        "bad = [m for m in ('httpx', 'livekit', 'aiohttp') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_a_core_that_echoes_typed_text_shows_it_once_with_the_reply() -> None:
    app, session, _ = make(connect_events())
    session.replies = lambda text: [
        TranscriptReceived("character", f"You said {text}", True, f"You said {text}", 1, at=t(4)),
    ]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"ping", "enter")
        await settle(pilot)
        lines = app.query_one(TranscriptView).plain_lines()
        assert lines.count("you: ping") == 1
        assert lines[-1] == "Ava: You said ping"


async def test_command_palette_runs_a_monitor_command() -> None:
    app, _session, _ = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"view: diagnostics")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.query_one(TabbedContent).active == "diagnostics"


async def test_overlay_key_hints_follow_the_keymap() -> None:
    err = make_error("connection.timeout")
    app, _session, _ = make(
        [RetryScheduled(2, 4, 1.0, T0 + 1, "connect", err, at=T0)],
        keymap={"retry.now": "ctrl+y", "retry.cancel": "ctrl+g"},
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "ctrl+y retry now · ctrl+g cancel" in plain(app.query_one("#retry-keys", Static))
        await pilot.press("ctrl+y")
        assert _session.called("retry_now") == [()]


async def test_mute_and_push_to_talk_keys_reach_the_session() -> None:
    from convai_tui.core.api.events import AudioLevels

    session = FakeSession()
    app = ConvaiApp(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f8")
        await pilot.pause()
        assert ("toggle_mute", ()) not in session.calls  # no audio yet: the key is inactive
        session.publish(AudioLevels(mic_dbfs=-30.0, speaker_dbfs=-50.0, muted=False))
        for _ in range(50):
            if app.model.audio is not None:
                break
            await pilot.pause(0.02)
        await pilot.press("f8")
        await pilot.pause()
        assert ("toggle_mute", ()) in session.calls
        for _ in range(50):
            if app.model.audio is not None and app.model.audio.muted:
                break
            await pilot.pause(0.02)
        assert app.model.audio is not None and app.model.audio.muted
        await pilot.press("f9")
        await pilot.pause()
        assert ("toggle_push_to_talk", ()) in session.calls


async def test_after_the_session_ends_ctrl_r_connects_again_and_every_screen_says_so() -> None:
    clock = FakeClock(T0)
    ended = [
        SessionStateChanged(S.CONNECTED, S.DISCONNECTED, at=t(30)),
        SessionEnded("idle timeout", at=t(30)),
    ]
    session = FakeSession(script=[Step(e) for e in connect_events() + ended], clock=clock)
    app = ConvaiApp(session, clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.model.can_connect_again
        footer_actions = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "connect" in footer_actions
        banner = app.screen.query_one(EndedBanner)
        assert "ctrl+r: connect again" in str(banner.content)
        hint = str(app.screen.query_one("#input-hint", Static).content)
        assert "ctrl+r connects again" in hint
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert len(session.called("start")) == 2


async def test_without_a_microphone_the_status_says_text_only_and_f8_f9_leave_the_footer() -> None:
    from convai_tui.core.api.events import AudioLevels
    from convai_tui.ui.widgets.status import AudioMeters

    session = FakeSession()
    app = ConvaiApp(session)
    async with app.run_test(size=(120, 40)) as pilot:
        session.publish(AudioLevels(mic_dbfs=-30.0, speaker_dbfs=None, muted=False))
        for _ in range(50):
            if app.model.audio is not None:
                break
            await pilot.pause(0.02)
        shown = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert {"toggle_mute", "push_to_talk"} <= shown  # a microphone is open
        session.publish(
            ErrorRaised(make_error("audio.mic_unavailable", "no default input device")),
            ErrorRaised(make_error("audio.speaker_unavailable", "no default output device")),
        )
        for _ in range(50):
            if app.model.speaker_missing:
                break
            await pilot.pause(0.02)
        app.refresh_now()
        await pilot.pause()
        assert plain(app.query_one(AudioMeters)).strip() == "text only"
        shown = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert "toggle_mute" not in shown and "push_to_talk" not in shown
        await pilot.press("f8")
        await pilot.pause()
        assert ("toggle_mute", ()) not in session.calls


async def test_at_80x24_the_transcript_keeps_the_newest_line_in_sight_when_an_error_pins() -> None:
    session = FakeSession(script=[Step(e) for e in connect_events()])
    app = ConvaiApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        session.publish(
            *(TranscriptReceived("user", f"line {i}", True, at=t(10 + i)) for i in range(40))
        )
        await settle(pilot)
        view = app.query_one(TranscriptView)
        assert view.max_scroll_y > 0 and view.scroll_y == view.max_scroll_y
        error = make_error("transport.link_degraded", "RTT 455 ms > 300 ms")
        session.publish(
            ErrorRaised(replace(error, at=t(60)), at=t(60)),
            TranscriptReceived("user", "the newest line " + "y" * 150, True, at=t(61)),
        )
        await settle(pilot)
        await pilot.pause()
        assert app.query_one(PinnedError).display
        assert view.scroll_y == view.max_scroll_y  # the banner took rows; the end stays shown
        # no character of a wrapped line runs under the vertical scrollbar
        scrollbar = view.styles.scrollbar_size_vertical
        assert view._body_width() + PREFIX_W + scrollbar <= view.size.width


async def test_the_session_header_shows_the_whole_room_name_beside_full_ids() -> None:
    session_id = "f78ed8f1-a8a2-480d-95b8-d1fd36d02ba2"
    events: list[Event] = [
        SessionStateChanged(S.DISCONNECTED, S.CONNECTING, at=t(0)),
        SessionStateChanged(S.CONNECTING, S.CONNECTED, session_id=session_id, at=t(1)),
    ]
    app, _session, _ = make(events)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.model.character_session_id = "855ff188-0c67-4ffa-afa6-a2d9f695d8f3"
        app.model.room_name = "convai-room-4d2e9b1c7a"
        app.monitor.refresh_parts({Part.STATE}, app.clock())
        await pilot.pause()
        header = app.query_one("#session-ids", Static)
        shown = "\n".join(header.render_line(y).text for y in range(header.size.height))
        assert "convai-room-4d2e9b1c7a" in shown.split()  # whole, on one row
        assert session_id in shown and "855ff188-0c67-4ffa-afa6-a2d9f695d8f3" in shown
