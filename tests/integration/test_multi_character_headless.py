"""Multi-character rooms as a user runs them (issue 12): `convai-tui local-server --characters
…` and `convai-tui run --headless --character … --target …`, as processes; the JSON line types
`roster`, `character_status`, `interaction_target_changed` and `rebind` are a contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.headless_harness import HeadlessRun, LocalServer
from tests.integration.standin_client import require_livekit_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    require_livekit_server()
    standin = LocalServer.start(
        tmp_path_factory.mktemp("multi-server"), "--characters", "bo=Bo,cy=Cy"
    )
    try:
        yield standin
    finally:
        standin.close()


def test_target_then_say_goes_to_the_new_target_and_lines_carry_the_membership(
    server: LocalServer, tmp_path: Path
) -> None:
    run = HeadlessRun.start(
        server,
        tmp_path,
        "--character",
        server.character_id,
        "--character",
        "bo",
        "--character",
        server.character_id,
        "--target",
        "2",
        "--say",
        "hello there",
        "--exit-after-reply",
    )
    assert run.finish() == 0, run.stderr
    first_roster = run.of("roster")[0]
    members = [m["membership_id"] for m in first_roster["members"]]
    assert [m["character_id"] for m in first_roster["members"]] == [
        server.character_id,
        "bo",
        server.character_id,
    ]
    assert first_roster["active_membership_id"] == members[0]
    statuses = run.of("character_status")
    assert {s["membership_id"] for s in statuses if s["status"] == "ready"} >= {members[0]}
    assert all(set(s) >= {"membership_id", "status", "failure_code"} for s in statuses)
    changed = run.of("interaction_target_changed")
    assert [(c["previous"], c["current"], c["route_epoch"]) for c in changed] == [
        (members[0], members[1], 1)
    ]
    rebind = run.of("rebind")
    assert [
        (r["outcome"], r["requested"], r["active"], r["reconnect_required"]) for r in rebind
    ] == [("AppliedImmediately", "bo", "bo", False)]
    lines = [t for t in run.of("transcript") if t["final"]]
    assert [(t["role"], t["membership_id"]) for t in lines] == [
        ("user", members[1]),
        ("character", members[1]),
    ], (members, lines, run.types())
    types = run.types()
    assert types.index("rebind") < types.index("transcript")


def test_a_second_headless_client_joins_by_shared_key(server: LocalServer, tmp_path: Path) -> None:
    owner = HeadlessRun.start(
        server,
        tmp_path / "owner",
        "--character",
        server.character_id,
        "--character",
        "cy",
        "--shared-session-key",
        "porch",
        "--end-user-id",
        "owner",
        "--duration",
        "60",
    )
    guest = None
    try:
        owner.wait_type("bot_ready")
        me = owner.wait_for(
            lambda e: e["type"] == "participant_joined" and e["kind"] == "local_player"
        )["identity"]
        guest = HeadlessRun.start(
            server,
            tmp_path / "guest",
            "--join-key",
            "porch",
            "--end-user-id",
            "guest",
            "--duration",
            "60",
        )
        guest.wait_type("bot_ready")
        roster = guest.of("roster")[0]
        assert roster["room_session_id"] == owner.of("roster")[0]["room_session_id"]
        guest_id = guest.wait_for(
            lambda e: e["type"] == "participant_joined" and e["kind"] == "local_player"
        )["identity"]
        guest.wait_for(
            lambda e: (
                e["type"] == "participant_joined"
                and e["identity"] == me
                and e["kind"] == "remote_player"
            ),
            what="the owner as remote player",
        )
        owner.wait_for(
            lambda e: (
                e["type"] == "participant_joined"
                and e["identity"] == guest_id
                and e["kind"] == "remote_player"
            ),
            what="the guest as remote player",
        )
    finally:
        if guest is not None:
            guest.close()
        owner.close()


def test_bad_character_specs_are_named_config_errors(server: LocalServer, tmp_path: Path) -> None:
    before = len(server.requests())
    run = HeadlessRun.start(
        server, tmp_path, "--character", "bo:x1", "--character", "cy:X1", "--say", "hi"
    )
    assert run.finish() == 1
    errors = run.of("error")
    assert errors and errors[0]["code"] == "config.duplicate_character_session_id"
    assert len(server.requests()) == before  # refused before any request
