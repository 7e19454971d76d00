"""Pilot tests: the Doctor tab with a fake checks function, the snapshot key, and the
monitor over a ReplaySession (read-only, titled as a replay)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Static

from convai_tui.core.api.events import ErrorRaised, SessionStateChanged, TranscriptReceived
from convai_tui.core.api.states import SessionState as S
from convai_tui.core.errors.error import make_error
from convai_tui.doctor.report import Check
from convai_tui.sessionlog.replay import ReplaySession, load_log
from convai_tui.ui.app import ConvaiApp
from convai_tui.ui.commands import monitor_commands
from convai_tui.ui.formatting import clock_time
from convai_tui.ui.widgets.doctor import UNAVAILABLE, DoctorPanel
from tests.ui.fake_core import T0, FakeClock, FakeSession
from tests.ui.scenarios import connect_events, settle

SIZE = (110, 32)


def text_of(widget: Static) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


class FakeChecks:
    def __init__(self, checks: Sequence[Check]) -> None:
        self.checks = list(checks)
        self.calls = 0

    async def __call__(self) -> list[Check]:
        self.calls += 1
        await asyncio.sleep(0)
        return self.checks


async def wait_done(pilot: Any, screen: DoctorPanel) -> None:
    for _ in range(100):
        await pilot.pause()
        if not screen.running:
            break
    await pilot.pause()


async def test_f6_shows_the_doctor_tab_and_r_runs_the_checks_on_demand() -> None:
    checks = FakeChecks(
        [
            Check("connect.api", True, "answered 200"),
            Check("livekit.webrtc", False, "ICE failed", "Allow UDP 3478"),
        ]
    )
    clock = FakeClock(T0)
    app = ConvaiApp(FakeSession(clock=clock), clock=clock, run_checks=checks)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await pilot.pause()
        assert app.monitor.active_tab == "doctor"
        panel = app.monitor.query_one(DoctorPanel)
        assert app.focused is panel
        assert checks.calls == 0  # showing the tab makes no /connect
        assert "Not run yet: r runs" in text_of(panel.query_one("#doctor-summary", Static))
        await pilot.press("r")
        await wait_done(pilot, panel)
        assert checks.calls == 1
        summary = text_of(panel.query_one("#doctor-summary", Static))
        assert "1/2 checks passed (1 failed)" in summary
        assert f"last ran {clock_time(T0)}" in summary
        table = text_of(panel.query_one("#doctor-table", Static))
        assert "connect.api" in table and "FAIL" in table and "fix: Allow UDP 3478" in table
        await pilot.press("f7")  # other tabs' keys work from the Doctor tab
        await pilot.pause()
        assert app.monitor.active_tab == "requests"
        await pilot.press("f6")
        await pilot.pause()
        assert checks.calls == 1
        await pilot.press("r")
        await wait_done(pilot, panel)
        assert checks.calls == 2


async def test_doctor_without_a_checks_function_says_unavailable() -> None:
    clock = FakeClock(T0)
    app = ConvaiApp(FakeSession(clock=clock), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "view: doctor" in [name for name, _, _ in monitor_commands(app)]
        app.action_doctor()
        await pilot.pause()
        panel = app.monitor.query_one(DoctorPanel)
        assert app.monitor.active_tab == "doctor"
        assert UNAVAILABLE in text_of(panel.query_one("#doctor-summary", Static))


async def test_snapshot_key_writes_a_private_file_without_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1aSJ9.dWktc25hcHNob3Qtc2ln"
    clock = FakeClock(T0)
    session = FakeSession(
        clock=clock,
        diagnostics_data={
            "state": "connected",
            "connect_attempts": 1,
            "room": {"session_id": "s-1", "token": token, "token_redacted": "eyJ…[redacted]"},
        },
    )
    app = ConvaiApp(session, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "diagnostics: write snapshot" in [n for n, _, _ in monitor_commands(app)]
        await pilot.press("ctrl+s")
        await pilot.pause()
        written = list((tmp_path / "convai-tui" / "snapshots").glob("diagnostics-*.json"))
        assert len(written) == 1
        text = written[0].read_text()
        assert token not in text
        assert json.loads(text)["RoomDiagnosticsSnapshot"]["TotalConnectionAttempts"] == 1
        assert written[0].stat().st_mode & 0o077 == 0
        assert any(str(written[0]) in str(n.message) for n in app._notifications)


async def test_replay_session_in_the_monitor_is_read_only(tmp_path: Path) -> None:
    events = [
        *connect_events(),
        TranscriptReceived(
            role="user", text="hello there", final=True, full_text="hello there", at=T0 + 3
        ),
        ErrorRaised(error=make_error("server.error", "hiccup", at=T0 + 4), at=T0 + 4),
        TranscriptReceived(
            role="character",
            text="General Kenobi",
            final=True,
            full_text="General Kenobi",
            at=T0 + 5,
        ),
    ]
    path = tmp_path / "session.jsonl"
    path.write_text("".join(json.dumps(e.to_json()) + "\n" for e in events))
    session = ReplaySession(load_log(path), speed=0)
    app = ConvaiApp(session, read_only=True, clock=session.clock, title="convai-tui · REPLAY")
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(200):
            await pilot.pause()
            if session.finished.is_set() and app.model.events_applied >= session.published:
                break
        assert app.title == "convai-tui · REPLAY"
        texts = [(line.role, line.text) for line in app.model.transcript]
        assert ("user", "hello there") in texts and ("character", "General Kenobi") in texts
        assert [e.code for e in app.model.errors] == ["server.error"]
        assert app.model.state is S.CONNECTED
        assert isinstance(events[0], SessionStateChanged)
        assert session.clock() == T0 + 5


async def test_replay_shows_the_recorded_name_progress_and_finished(tmp_path: Path) -> None:
    from textual.widgets import Input, Static

    from convai_tui.core.api.port import SessionInfo
    from convai_tui.sessionlog.writer import session_info_line

    info = session_info_line(SessionInfo("char-7f3a", "https://live.convai.com", "Ada"))
    events = [
        *connect_events(),
        TranscriptReceived(role="character", text="Hi", final=True, full_text="Hi", at=T0 + 3),
    ]
    path = tmp_path / "session.jsonl"
    path.write_text(
        json.dumps(info) + "\n" + "".join(json.dumps(e.to_json()) + "\n" for e in events)
    )
    log = load_log(path)
    assert log.unknown_types == 0 and len(log.events) == len(events)
    session = ReplaySession(log, speed=0)
    assert session.info.character_name == "Ada" and session.info.character_id == "char-7f3a"
    assert session.progress() == (0, len(events), False)
    app = ConvaiApp(session, read_only=True, clock=session.clock, title="convai-tui · REPLAY")
    async with app.run_test(size=SIZE) as pilot:
        message_input = app.query_one("#message-input", Input)
        assert "Read-only" in message_input.placeholder and message_input.disabled
        for _ in range(200):
            await pilot.pause()
            if session.finished.is_set() and app.model.events_applied >= session.published:
                break
        await pilot.pause(0.3)  # one tick repaints the hint
        assert app.model.display_name == "Ada"
        hint = str(app.query_one("#input-hint", Static).render())
        assert f"replay finished: {len(events)} events shown" in hint
