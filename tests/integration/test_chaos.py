"""Chaos against `convai-tui run --headless --json --duration` on `convai-tui local-server`:
livekit-server frozen with SIGSTOP for 12 s mid-session, frozen for good (the stand-in's
pause), and livekit-server killed (the stand-in then stops too). Each test has its own
stand-in (it breaks it) and always continues/reaps what it stopped."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.headless_harness import HeadlessRun, LocalServer
from tests.integration.standin_client import require_livekit_server

pytestmark = [pytest.mark.integration, pytest.mark.serial]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    require_livekit_server()
    server = LocalServer.start(tmp_path / "server")
    try:
        yield server
    finally:
        server.close()


def test_sigstop_12s_reconnecting_then_connected_without_user_action(
    server: LocalServer, tmp_path: Path
) -> None:
    livekit = server.livekit_pid()
    run = HeadlessRun.start(server, tmp_path / "client", "--duration", "22")
    try:
        run.wait_type("bot_ready", within=30)
        time.sleep(1.0)
        os.kill(livekit, signal.SIGSTOP)
        stopped_at = time.time()
        try:
            stalled = run.wait_for(
                lambda e: e["type"] == "state_changed" and e["new"] == "reconnecting",
                within=11,
                what="reconnecting",
            )
            time.sleep(max(0.0, stopped_at + 12 - time.time()))
        finally:
            os.kill(livekit, signal.SIGCONT)
        resumed_at = time.time()
        back = run.wait_for(
            lambda e: (
                e["type"] == "state_changed"
                and e["new"] == "connected"
                and e["old"] == "reconnecting"
            ),
            within=20,
            what="connected again",
        )
        code = run.finish(within=40)
    finally:
        run.close()
    assert code == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert run.states() == [
        "connecting",
        "connected",
        "reconnecting",
        "connected",
        "disconnecting",
        "disconnected",
    ]
    assert stalled["ts"] - stopped_at < 9  # the watchdog's 5 s, not LiveKit's 15 s ping
    assert stalled["error"]["code"] == "transport.signal_disconnected"
    assert stalled["error"]["recoverable"] is True
    assert back["ts"] - resumed_at < 10, back["ts"] - resumed_at
    assert run.of("session_ended")[-1]["reason"] == "duration"
    assert len(server.requests()) == 1  # resumed in place: no new /connect
    # The stall grace was announced as reconnect attempt 1's wait, and never ran out.
    (grace,) = run.of("reconnect_scheduled")
    assert grace["attempt"] == 1 and grace["max_attempts"] == 3 and grace["phase"] == "reconnect"
    assert grace["due_at"] > back["ts"]
    print(
        f"12 s freeze: reconnecting +{stalled['ts'] - stopped_at:.1f} s, connected "
        f"+{back['ts'] - resumed_at:.1f} s after resume, {grace['due_at'] - back['ts']:.1f} s "
        "before reconnect attempt 1 was due"
    )


def test_sfu_frozen_for_good_ends_in_a_named_error_after_the_bounded_reconnects(
    server: LocalServer, tmp_path: Path
) -> None:
    # Each reconnect attempt hangs on the frozen server until its bound: the smaller of 10 s
    # and the connection timeout (tests/unit/core/settings/test_retry.py pins both and the
    # stall grace). A 5 s connection timeout keeps the same schedule shape at half the wait.
    run = HeadlessRun.start(
        server, tmp_path / "client", "--duration", "150", "--connection-timeout", "5"
    )
    try:
        run.wait_type("bot_ready", within=30)
        time.sleep(1.0)
        server.admin("livekit/pause", {})
        frozen_at = time.time()
        try:
            code = run.finish(within=85)
        finally:
            server.admin("livekit/resume", {})
    finally:
        run.close()
    assert code == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    states = run.states()
    assert states[:3] == ["connecting", "connected", "reconnecting"] and states[-1] == "error"
    ended = run.of("session_ended")[-1]
    assert ended["reason"] == "reconnects_exhausted"
    final = run.of("state_changed")[-1]["error"]
    assert final["code"].startswith(("transport.", "connection.")), final
    assert final["message"].startswith("Gave up after 3 reconnect attempts"), final
    took = ended["ts"] - frozen_at
    # Stall detection (5 s), the 12 s grace, three waits (0.5 + 1 + 2 s) and three attempts
    # bounded by the 5 s timeout (the first also leaves the frozen room): ~42 s unloaded,
    # not LiveKit's own open-ended resume.
    assert took <= 55, took
    scheduled = run.of("reconnect_scheduled")
    assert [(e["attempt"], e["max_attempts"]) for e in scheduled] == [(1, 3), (2, 3), (3, 3)]
    assert all(e["phase"] == "reconnect" and e["due_at"] >= e["ts"] for e in scheduled)
    attempts = [e for e in run.of("connect_attempt") if e.get("phase") == "reconnect"]
    assert len(attempts) == 3, run.types()
    connects = server.requests()
    assert len(connects) == 4  # the first connect and the three reconnects, no more
    print(
        f"frozen -> error {took:.1f} s; attempts due "
        f"{[round(e['due_at'] - frozen_at, 1) for e in scheduled]} s after the freeze"
    )


def test_livekit_killed_and_kept_down_ends_in_a_named_error(
    server: LocalServer, tmp_path: Path
) -> None:
    livekit = server.livekit_pid()
    run = HeadlessRun.start(server, tmp_path / "client", "--duration", "120")
    try:
        run.wait_type("bot_ready", within=30)
        os.kill(livekit, signal.SIGKILL)
        killed_at = time.time()
        code = run.finish(within=70)
    finally:
        run.close()
    ended = run.of("session_ended")[-1]
    assert code == 1
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert ended["ts"] - killed_at <= 60
    states = run.states()
    assert states[:3] == ["connecting", "connected", "reconnecting"] and states[-1] == "error"
    final = run.of("state_changed")[-1]["error"]
    assert final["code"].startswith(("transport.", "connection.")), final
    attempts = [e for e in run.of("reconnect_scheduled") if e["phase"] == "reconnect"]
    assert 1 <= len(attempts) <= 3
    # The stand-in does not serve on without its child: it stops with a named error (exit 3),
    # so the reconnects find no connect API.
    assert server.process.wait(timeout=10) == 3
    assert "livekit_server_died" in server.stderr_path.read_text()
