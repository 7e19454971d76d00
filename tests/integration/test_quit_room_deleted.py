"""Quitting stays bounded when the server deletes the room while the client is leaving it: the
stand-in's `--delete-room-on-kill` deletes the room the moment `kill-pipeline` arrives, and
`convai-tui run --headless` still exits cleanly within seconds, by `--duration` and by
`--exit-after-reply`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.headless_harness import HeadlessRun, LocalServer
from tests.integration.standin_client import require_livekit_server

pytestmark = [pytest.mark.integration, pytest.mark.serial]

QUIT_WITHIN_S = 5.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    require_livekit_server()
    standin = LocalServer.start(tmp_path_factory.mktemp("standin"), "--delete-room-on-kill")
    yield standin
    standin.close()


def _quit_seconds(run: HeadlessRun) -> float:
    """From the moment the client starts leaving to the process's exit."""
    run.wait_for(lambda e: e["type"] == "state_changed" and e["new"] == "disconnecting", 60)
    leaving = time.monotonic()
    run.process.wait(timeout=60)
    return time.monotonic() - leaving


@pytest.mark.parametrize(
    "flags",
    [("--duration", "3"), ("--stt", "off", "--say", "hello", "--exit-after-reply")],
    ids=["duration", "exit-after-reply"],
)
def test_quitting_ends_cleanly_when_the_room_is_deleted_at_kill_pipeline(
    server: LocalServer, tmp_path: Path, flags: tuple[str, ...]
) -> None:
    run = HeadlessRun.start(server, tmp_path, *flags)
    try:
        seconds = _quit_seconds(run)
    finally:
        code = run.close()
    assert code == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    print(f"quit took {seconds:.2f} s")
    assert seconds < QUIT_WITHIN_S, f"quitting took {seconds:.1f} s"
    ended = run.of("session_ended")[-1]
    assert ended["error"] is None
    assert ended["reason"] == ("duration" if "--duration" in flags else "exit_after_reply")
