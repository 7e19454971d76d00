"""The stand-in's connect API: response shape, documented error bodies, slots, faults."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import pytest
from livekit import rtc

from convai_tui.local.rooms import sessions
from convai_tui.local.server import LocalStandIn
from tests.integration.standin_client import (
    RtviTestClient,
    StandInFactory,
    clients,
    connect,
    get_json,
    post,
    standin,
    standin_factory,
    wait_until,
)

pytestmark = pytest.mark.integration
__all__ = ["clients", "standin", "standin_factory"]  # fixtures imported for pytest

CONNECT_KEYS = {
    "session_id",
    "request_trace_id",
    "character_session_id",
    "room_url",
    "room_name",
    "token",
    "end_user_id",
    "end_user_metadata",
}


async def test_connect_success_has_exactly_the_documented_keys_and_the_token_joins(
    standin: LocalStandIn, clients: list[RtviTestClient]
) -> None:
    status, body = await connect(
        standin, end_user_id="  player-7 ", end_user_metadata={"name": "Sam"}
    )
    assert status == 200
    assert set(body) == CONNECT_KEYS
    uuid.UUID(body["session_id"])
    uuid.UUID(body["character_session_id"])
    assert re.fullmatch(r"req_[0-9a-f]{32}", body["request_trace_id"])
    assert body["room_url"] == standin.livekit_url
    assert body["end_user_id"] == "player-7"
    assert body["end_user_metadata"] == {"name": "Sam"}
    client = await RtviTestClient.join(body["room_url"], body["token"])
    clients.append(client)
    assert client.room.name == body["room_name"]
    assert re.fullmatch(r"user-[0-9a-f]{8}", client.identity)
    await wait_until(
        lambda: any(
            p.identity == standin.character_id for p in client.room.remote_participants.values()
        ),
        what="the bot participant",
    )
    bot = client.room.remote_participants[standin.character_id]
    assert bot.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
    assert "Ada" in bot.name
    assert '"convai_character_id": "demo-character"' in bot.metadata


async def test_connect_reuses_character_session_id_and_tolerates_every_documented_field(
    standin: LocalStandIn,
) -> None:
    resume_id = str(uuid.uuid4())
    status, body = await connect(
        standin,
        character_session_id=resume_id,
        transport="livekit",
        connection_type="audio",
        speaker_id="spk",
        blendshape_provider="none",
        llm_provider="dynamic",
        blendshape_config={"enable_chunking": True, "chunk_size": 10, "format": "mha"},
        emotion_config={"provider": "llm"},
        default_tts_enabled=True,
        mode="create",
        spawn_agent=True,
        dynamic_info={"text": "x", "keep_in_context": False},
        vad_params={"confidence": 0.7},
        invocation_metadata={"source": "tests"},
        action_config={"actions": ["wave"]},
        narrative_template_keys={"k": "v"},
        scene_description=[{"name": "a", "description": "b"}],
        max_num_participants=1,
        some_future_field={"anything": 1},
    )
    assert status == 200, body
    assert body["character_session_id"] == resume_id
    assert body["end_user_id"] is None and body["end_user_metadata"] is None


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "Authentication required: provide X-API-Key or API-AUTH-TOKEN"),
        ({"x-api-key": "wrong"}, "Invalid API key"),
        ({"X-API-KEY": "wrong", "API-AUTH-TOKEN": "whatever"}, "Invalid API key"),
        ({"API-AUTH-TOKEN": str(uuid.uuid4())}, "Invalid API key"),
    ],
)
async def test_connect_auth_errors(
    standin: LocalStandIn, headers: dict[str, str], detail: str
) -> None:
    status, body = await post(
        standin.connect_url + "/connect",
        json_body={"character_id": standin.character_id},
        headers=headers,
    )
    assert (status, body) == (401, {"detail": detail})


async def test_header_name_case_does_not_matter_and_auth_token_is_an_active_session(
    standin: LocalStandIn,
) -> None:
    status, first = await post(
        standin.connect_url + "/connect",
        json_body={"character_id": standin.character_id},
        headers={"x-api-key": standin.api_key},
    )
    assert status == 200
    status, second = await post(
        standin.connect_url + "/connect",
        json_body={"character_id": standin.character_id},
        headers={"api-auth-token": first["session_id"]},
    )
    assert status == 200, second
    # Once that session ends its id no longer authenticates.
    await post(standin.connect_url + f"/disconnect?session_id={first['session_id']}")
    status, third = await post(
        standin.connect_url + "/connect",
        json_body={"character_id": standin.character_id},
        headers={"API-AUTH-TOKEN": first["session_id"]},
    )
    assert (status, third) == (401, {"detail": "Invalid API key"})


async def test_connect_validation_errors_use_the_pydantic_array(standin: LocalStandIn) -> None:
    url = standin.connect_url + "/connect"
    headers = {"X-API-Key": standin.api_key, "Content-Type": "application/json"}
    status, body = await post(url, data=b"{not json", headers=headers)
    assert status == 422
    assert body["detail"][0]["type"] == "json_invalid"
    assert set(body["detail"][0]) >= {"type", "loc", "msg", "input"}

    status, body = await post(url, json_body={"transport": "livekit"}, headers=headers)
    assert status == 422
    assert body["detail"] == [
        {
            "type": "missing",
            "loc": ["body", "character_id"],
            "msg": "Field required",
            "input": {"transport": "livekit"},
        }
    ]

    status, body = await post(
        url,
        json_body={"character_id": 7, "spawn_agent": "maybe", "transport": "sse"},
        headers=headers,
    )
    assert status == 422
    by_field = {tuple(error["loc"]): error for error in body["detail"]}
    assert by_field[("body", "character_id")]["type"] == "string_type"
    assert by_field[("body", "spawn_agent")]["msg"] == "Input should be a valid boolean"
    assert by_field[("body", "transport")]["msg"] == "Value error, Invalid transport: sse"
    assert by_field[("body", "transport")]["input"] == "sse"

    status, body = await post(url, json_body=["not", "an", "object"], headers=headers)
    assert status == 422 and body["detail"][0]["loc"] == ["body"]


async def test_unknown_character_and_bad_character_session_id(standin: LocalStandIn) -> None:
    status, body = await connect(standin, character_id="someone-else")
    assert (status, body) == (404, {"detail": "Character not found or doesn't belong to user"})
    status, body = await connect(standin, character_session_id="not-a-uuid")
    assert (status, body) == (400, {"detail": "Invalid character_session_id format: invalid uuid"})


async def test_disconnect_is_idempotent_and_rejects_non_uuid(
    standin: LocalStandIn, clients: list[RtviTestClient]
) -> None:
    _, body = await connect(standin)
    client = await RtviTestClient.join(body["room_url"], body["token"])
    clients.append(client)
    await client.handshake()
    url = standin.connect_url + "/disconnect?session_id="
    ok = {"status": "success", "message": "Session disconnected successfully"}
    assert await post(url + body["session_id"]) == (200, ok)
    # The session really ended: the room was deleted under the client.
    assert await client.wait_disconnected() == rtc.DisconnectReason.ROOM_DELETED
    assert standin.stats["active_sessions"] == []
    assert await post(url + body["session_id"]) == (200, ok)
    assert await post(url + str(uuid.uuid4())) == (200, ok)
    assert await post(url + "nope") == (400, {"detail": "Invalid session ID format"})


async def test_concurrency_limit_and_release_on_disconnect_and_on_client_leave(
    standin_factory: StandInFactory, clients: list[RtviTestClient]
) -> None:
    standin = await standin_factory(concurrency_limit=1, release_grace_s=0.3)
    status, first = await connect(standin)
    assert status == 200
    status, refused = await connect(standin)
    assert status == 429
    assert refused["detail"].startswith("Concurrency limit reached")
    assert "(concurrency_limit)" in refused["detail"]
    assert "speaker" not in refused["detail"].lower()

    await post(standin.connect_url + f"/disconnect?session_id={first['session_id']}")
    status, second = await connect(standin)
    assert status == 200, second

    # The second client joins, then leaves: after the grace the slot is free again.
    client = await RtviTestClient.join(second["room_url"], second["token"])
    clients.append(client)
    await client.handshake()
    assert (await connect(standin))[0] == 429
    await client.close()
    started = time.monotonic()
    await wait_until(lambda: not standin.stats["active_sessions"], what="slot release")
    assert time.monotonic() - started >= 0.2
    status, third = await connect(standin)
    assert status == 200, third


async def test_a_client_that_comes_and_goes_between_two_polls_still_frees_its_slot(
    standin_factory: StandInFactory, clients: list[RtviTestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The room watcher polls the SFU; livekit-server names a client that publishes nothing to
    # the bot seconds late. A client that joins, handshakes and leaves between two polls was
    # never seen by either, and held its slot until the SFU closed the empty room (~20 s).
    monkeypatch.setattr(sessions, "_WATCH_FAST_S", 2.0)
    standin = await standin_factory(concurrency_limit=1, release_grace_s=0.3)
    status, body = await connect(standin)
    assert status == 200, body
    client = await RtviTestClient.join(body["room_url"], body["token"])
    clients.append(client)
    await client.handshake()
    assert standin.stats["active_sessions"][0]["joined"]  # heard before bot-ready went out
    await client.close()
    await wait_until(lambda: not standin.stats["active_sessions"], within=5.0, what="release")
    assert (await connect(standin))[0] == 200


async def test_a_session_whose_client_never_joins_is_released(
    standin_factory: StandInFactory,
) -> None:
    standin = await standin_factory(concurrency_limit=1, join_timeout_s=0.5)
    assert (await connect(standin))[0] == 200
    assert (await connect(standin))[0] == 429
    await wait_until(lambda: not standin.stats["active_sessions"], what="join timeout")
    assert (await connect(standin))[0] == 200


async def test_botless_session_release_is_seen_by_polling(
    standin_factory: StandInFactory, clients: list[RtviTestClient]
) -> None:
    standin = await standin_factory(release_grace_s=0.2)
    status, body = await connect(standin, spawn_agent=False)
    assert status == 200
    client = await RtviTestClient.join(body["room_url"], body["token"])
    clients.append(client)
    await wait_until(lambda: standin.stats["active_sessions"][0]["joined"], what="join seen")
    assert standin.character_id not in client.room.remote_participants
    await client.close()
    await wait_until(lambda: not standin.stats["active_sessions"], what="release")


async def test_join_mode_shares_the_room_and_its_bot(
    standin: LocalStandIn, clients: list[RtviTestClient]
) -> None:
    _, first = await connect(standin)
    status, second = await connect(standin, mode="join", room_name=first["room_name"])
    assert status == 200, second
    assert second["room_name"] == first["room_name"]
    assert second["session_id"] != first["session_id"]
    client = await RtviTestClient.join(second["room_url"], second["token"])
    clients.append(client)
    await client.handshake()
    status, _ = await connect(standin, mode="join", room_name="no-such-room")
    assert status == 404


async def test_scripted_connect_faults(standin_factory: StandInFactory) -> None:
    standin = await standin_factory(connect_status=503, connect_fault_count=2)
    assert (await connect(standin))[0] == 503
    status, body = await connect(standin)
    assert status == 503 and isinstance(body["detail"], str)
    assert (await connect(standin))[0] == 200  # only the first two were faulted

    standin.faults.update(
        {"connect_status": 500, "connect_detail": "failed to start bot", "connect_fault_count": 0}
    )
    for _ in range(2):
        assert await connect(standin) == (500, {"detail": "failed to start bot"})

    status, faults = await post(
        standin.connect_url + "/_standin/faults",
        json_body={"connect_status": 429, "connect_body": "busy"},
    )
    assert status == 200 and faults["connect_status"] == 429
    assert await connect(standin) == (429, "busy")

    status, _ = await post(
        standin.connect_url + "/_standin/faults",
        json_body={"connect_status": None, "connect_no_token": True},
    )
    status, body = await connect(standin)
    assert status == 200 and "token" not in body and "session_id" in body

    status, error = await post(
        standin.connect_url + "/_standin/faults", json_body={"no_such_fault": 1}
    )
    assert status == 400 and "no_such_fault" in error["detail"]


async def test_connect_delay_and_hang(standin_factory: StandInFactory) -> None:
    standin = await standin_factory(connect_delay_s=0.4)
    started = time.monotonic()
    assert (await connect(standin))[0] == 200
    assert time.monotonic() - started >= 0.4
    standin.faults.update({"connect_hang": True, "connect_delay_s": 0})
    with pytest.raises(asyncio.TimeoutError):
        await post(
            standin.connect_url + "/connect",
            json_body={"character_id": "x"},
            headers={"X-API-Key": standin.api_key},
            within=0.5,
        )


async def test_stats_and_healthz(standin: LocalStandIn) -> None:
    assert await get_json(standin.connect_url + "/healthz") == {"status": "ok"}
    await connect(standin)
    await post(standin.connect_url + "/connect", json_body={})
    stats = await get_json(standin.connect_url + "/_standin/stats")
    assert [r["status"] for r in stats["connect_requests"]] == [200, 401]
    assert all(isinstance(r["at"], float) and r["at"] > 1e9 for r in stats["connect_requests"])
    assert standin.api_key not in str(stats)
    assert len(stats["active_sessions"]) == 1
    session = stats["active_sessions"][0]
    assert {"session_id", "room_name", "client_identity", "character_session_id"} <= set(session)
