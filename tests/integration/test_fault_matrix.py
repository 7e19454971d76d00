"""The fault matrix, part 2: every fault a server or network causes *after* /connect (and a
slow connect), as a user sees it in `convai-tui run --headless --json` against
`convai-tui local-server`. For each: the code, recoverable flag and stage of the error, the
exact state sequence, the exit status and the number and timing of /connect retries.

The /connect statuses and bodies of protocol §1.5 (part 1) are in test_headless_cli.py;
docs/FAULTS.md lists every code with how to trigger it locally.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.headless_harness import HeadlessRun, LocalServer
from tests.integration.standin_client import require_livekit_server

pytestmark = pytest.mark.integration

CLEAN_END = ["connecting", "connected", "disconnecting", "disconnected"]
ERROR_END = ["connecting", "connected", "error"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    require_livekit_server()
    server = LocalServer.start(tmp_path_factory.mktemp("fault-matrix-server"))
    try:
        yield server
    finally:
        assert server.close() == 0, server.stderr_path.read_text()[-3000:]


@dataclass(frozen=True)
class SessionFault:
    name: str
    trigger: Callable[[LocalServer], Any]
    code: str
    recoverable: bool
    stage: str
    states: list[str]
    exit_code: int
    reason: str
    connects: int = 1
    duration_s: float = 4.0
    own_server: bool = False
    """Run on a stand-in of its own (see the server-shutdown row)."""


def _session(action: str, body: dict[str, Any] | None = None) -> Callable[[LocalServer], Any]:
    return lambda server: server.admin(f"sessions/all/{action}", body or {})


SESSION_FAULTS = [
    SessionFault(
        "server-error",
        _session("server-error", {"fatal": False}),
        "server.error",
        True,
        "Runtime",
        CLEAN_END,
        0,
        "duration",
    ),
    SessionFault(
        "fatal-server-error",
        _session("server-error", {"fatal": True}),
        "server.fatal_error",
        False,
        "Runtime",
        ERROR_END,
        1,
        "fatal_error",
    ),
    SessionFault(
        "usage-limit",
        _session("usage-limit"),
        "server.usage_limit_reached",
        False,
        "Runtime",
        ERROR_END,
        1,
        "usage_limit",
    ),
    SessionFault(
        "idle-timeout",
        _session("idle-warning", {"remaining_seconds": 1}),
        "session.idle_timeout",
        False,
        "Runtime",
        CLEAN_END,
        0,
        "idle_timeout",
        duration_s=15,
    ),
    SessionFault(
        "kick",
        _session("kick"),
        "transport.participant_removed",
        False,
        "Transport",
        ERROR_END,
        1,
        "participant_removed",
    ),
    SessionFault(
        "room-deleted",
        _session("delete-room"),
        "transport.room_deleted",
        False,
        "Transport",
        ERROR_END,
        1,
        "room_deleted",
    ),
    # Own stand-in: the stand-in's duplicate participant is left half-connected, and ~30 s
    # later the livekit FFI panics ("timed out waiting for ReadyForRoomEventRequest after
    # ConnectCallback") and SIGTERMs the whole stand-in (a stand-in bug, reported).
    SessionFault(
        "duplicate-identity",
        _session("duplicate-identity"),
        "transport.duplicate_identity",
        False,
        "Transport",
        ERROR_END,
        1,
        "duplicate_identity",
        own_server=True,
    ),
    # SERVER_SHUTDOWN: reconnect after the documented 5 s wait, into a new room with the same
    # character_session_id, then the session runs to its --duration. Own stand-in: the
    # restart drops every other session too.
    SessionFault(
        "server-shutdown",
        lambda server: server.admin("livekit/restart", {}),
        "transport.signal_disconnected",
        True,
        "Transport",
        ["connecting", "connected", "reconnecting", "connected", "disconnecting", "disconnected"],
        0,
        "duration",
        connects=2,
        duration_s=14,
        own_server=True,
    ),
]


@pytest.mark.parametrize("fault", SESSION_FAULTS, ids=lambda f: f.name)
def test_session_fault(server: LocalServer, tmp_path: Path, fault: SessionFault) -> None:
    if not fault.own_server:
        _session_fault(server, tmp_path, fault)
        return
    own = LocalServer.start(tmp_path / "own-server")
    try:
        _session_fault(own, tmp_path / "client", fault)
    finally:
        own.close()


def _session_fault(server: LocalServer, tmp_path: Path, fault: SessionFault) -> None:
    before = len(server.requests())
    run = HeadlessRun.start(server, tmp_path, "--duration", str(fault.duration_s))
    try:
        run.wait_type("bot_ready", within=30)
        fault.trigger(server)
        code = run.finish(within=fault.duration_s + 40)
    finally:
        run.close()
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    errors = [e for e in run.of("error") if e["code"] == fault.code]
    assert errors, f"no {fault.code}; errors were {run.errors()}"
    assert errors[0]["recoverable"] is fault.recoverable
    assert errors[0]["stage"] == fault.stage
    assert run.states() == fault.states
    assert code == fault.exit_code, run.stderr[-2000:]
    assert run.of("session_ended")[-1]["reason"] == fault.reason
    requests = server.requests()[before:]
    assert len(requests) == fault.connects
    if fault.name == "server-shutdown":
        scheduled = run.of("reconnect_scheduled")
        assert [(e["phase"], e["attempt"], e["delay_s"]) for e in scheduled] == [
            ("reconnect", 1, 5.0)
        ]
        gap = requests[1]["at"] - errors[0]["ts"]
        assert 5.0 - 0.1 <= gap <= 5.0 + 2.0, gap
        details = run.of("room_details")
        assert details[0]["character_session_id"] == details[1]["character_session_id"]
        assert details[0]["session_id"] != details[1]["session_id"]
    else:
        assert not run.of("reconnect_scheduled")


def test_malformed_data_messages_are_named_and_survived(
    server: LocalServer, tmp_path: Path
) -> None:
    run = HeadlessRun.start(server, tmp_path, "--duration", "4", "--say", "after the junk")
    try:
        run.wait_type("turn_completed", within=30)
        server.admin("sessions/all/malformed", {})
        code = run.finish(within=40)
    finally:
        run.close()
    errors = run.of("error")
    assert {e["code"] for e in errors} == {"protocol.parse_failed", "protocol.message_invalid"}
    assert len(errors) == 4  # one per malformed packet the stand-in sends
    assert all(e["stage"] == "Runtime" and e["recoverable"] is False for e in errors)
    assert run.states() == CLEAN_END and code == 0
    assert "Traceback" not in run.stderr


def test_slow_connect_within_the_timeout_succeeds(server: LocalServer, tmp_path: Path) -> None:
    server.admin("faults", {"connect_delay_s": 2.0})
    try:
        before = len(server.requests())
        run = HeadlessRun.start(
            server, tmp_path, "--connection-timeout", "5", "--say", "slow", "--exit-after-reply"
        )
        try:
            code = run.finish(within=60)
        finally:
            run.close()
    finally:
        server.admin("faults", {"connect_delay_s": 0.0})
    assert code == 0, run.stderr[-2000:]
    assert run.states() == CLEAN_END and not run.of("error")
    assert run.of("room_details")[0]["connect_ms"] >= 2000
    assert len(server.requests()) - before == 1


def test_slow_connect_beyond_the_timeout_is_retried_then_served(
    server: LocalServer, tmp_path: Path
) -> None:
    """A connect slower than --connection-timeout is connection.timeout (recoverable); the
    retry at +1 s is answered in time and the session goes on."""
    server.admin("faults", {"connect_delay_s": 3.0})
    try:
        before = len(server.requests())
        run = HeadlessRun.start(server, tmp_path, "--connection-timeout", "1.5")
        try:
            timeout = run.wait_for(lambda e: e["type"] == "error", within=30)
            server.admin("faults", {"connect_delay_s": 0.0})
            run.wait_type("bot_ready", within=30)
            run.process.send_signal(2)  # Ctrl-C ends the session cleanly
            code = run.finish(within=30)
        finally:
            run.close()
    finally:
        server.admin("faults", {"connect_delay_s": 0.0})
    assert timeout["code"] == "connection.timeout" and timeout["recoverable"] is True
    assert timeout["stage"] == "ConnectApi"
    assert [(e["phase"], e["attempt"], e["delay_s"]) for e in run.of("reconnect_scheduled")] == [
        ("connect", 2, 1.0)
    ]
    assert run.states() == CLEAN_END and code == 0
    assert run.of("session_ended")[-1]["reason"] == "interrupted"
    assert len(server.requests()) - before == 2


@pytest.mark.parametrize(
    ("room_url", "token", "code", "attempts"),
    [
        # A room_url nobody listens on: recoverable, retried on the connect schedule.
        ("ws://127.0.0.1:9", "eyJh.eyJi.c2ln", "transport.livekit_error", 4),
        # The real LiveKit, a token it rejects (401): not retried.
        (None, "eyJhbGciOiJIUzI1NiJ9.e30.bm90LXNpZ25lZA", "transport.join_failure", 1),
    ],
)
def test_room_join_failures(
    server: LocalServer, tmp_path: Path, room_url: str | None, token: str, code: str, attempts: int
) -> None:
    livekit_url = server.livekit_url if room_url is None else room_url
    body = {
        "session_id": "00000000-0000-4000-8000-000000000001",
        "room_url": livekit_url,
        "token": token,
        "room_name": "nowhere",
    }
    server.admin(
        "faults",
        {"connect_status": 200, "connect_body": json.dumps(body), "connect_fault_count": 0},
    )
    try:
        before = len(server.requests())
        run = HeadlessRun.start(server, tmp_path, "--connection-timeout", "5")
        try:
            code_ = run.finish(within=60)
        finally:
            run.close()
    finally:
        server.admin("faults", {"connect_status": None, "connect_body": None})
    assert code_ == 1 and "Traceback" not in run.stderr
    errors = run.of("error")
    assert {e["code"] for e in errors} == {code} and len(errors) == attempts
    assert errors[0]["stage"] == "Transport"
    assert errors[0]["recoverable"] is (attempts > 1)
    assert run.states() == ["connecting", "error"]
    assert len(server.requests()) - before == attempts
    assert [e["delay_s"] for e in run.of("reconnect_scheduled")] == [1.0, 2.0, 4.0][: attempts - 1]
