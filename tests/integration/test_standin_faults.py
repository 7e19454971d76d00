"""Scripted faults of the stand-in as a client sees them on the wire."""

from __future__ import annotations

import asyncio
import time

import pytest
from livekit import rtc

from convai_tui.local.server import LocalStandIn
from tests.integration.standin_client import (
    RtviTestClient,
    StandInFactory,
    clients,
    connect_and_join,
    post,
    standin,
    standin_factory,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.serial]
__all__ = ["clients", "standin", "standin_factory"]  # fixtures imported for pytest


async def _admin(
    standin: LocalStandIn, session_id: str, action: str, body: dict[str, object] | None = None
) -> dict[str, object]:
    status, response = await post(
        f"{standin.connect_url}/_standin/sessions/{session_id}/{action}", json_body=body or {}
    )
    assert status == 200, response
    assert isinstance(response, dict)
    return response


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("kick", rtc.DisconnectReason.PARTICIPANT_REMOVED),
        ("delete-room", rtc.DisconnectReason.ROOM_DELETED),
        ("duplicate-identity", rtc.DisconnectReason.DUPLICATE_IDENTITY),
    ],
)
async def test_admin_disconnects_give_the_documented_reason(
    standin_factory: StandInFactory, clients: list[RtviTestClient], action: str, reason: int
) -> None:
    standin = await standin_factory(release_grace_s=0.3)
    response, client = await connect_and_join(standin)
    clients.append(client)
    await _admin(standin, response["session_id"], action)
    assert await client.wait_disconnected() == reason
    # Whatever the cause, the session ends and its slot is released.
    await wait_until(lambda: not standin.stats["active_sessions"], what="session end")


async def test_idle_warning_then_timeout_closes_the_room(
    standin_factory: StandInFactory, clients: list[RtviTestClient]
) -> None:
    standin = await standin_factory(idle_warning_after_s=0.6, idle_timeout_after_s=1.6)
    _, client = await connect_and_join(standin)
    clients.append(client)
    greeted_at = time.monotonic()
    # Activity postpones the warning.
    await asyncio.sleep(0.4)
    await client.send({"type": "reset-idle-timer", "data": {}})
    assert (await client.wait_ack("reset-idle-timer"))["status"] == "success"
    _, warning = await client.wait_for("user-idle-warning", within=5)
    assert time.monotonic() - greeted_at >= 0.9
    assert warning["type"] == "server-message"
    assert warning["data"]["remaining_seconds"] == 1
    assert warning["data"]["message"]
    _, ending = await client.wait_for("session-ending", within=5)
    assert ending["data"]["reason"] == "idle_timeout"
    assert await client.wait_disconnected() == rtc.DisconnectReason.ROOM_DELETED
    assert not standin.stats["active_sessions"]


async def test_admin_idle_warning_counts_down_and_activity_cancels_it(
    standin: LocalStandIn, clients: list[RtviTestClient]
) -> None:
    response, client = await connect_and_join(standin)
    clients.append(client)
    await _admin(standin, response["session_id"], "idle-warning", {"remaining_seconds": 0.6})
    _, warning = await client.wait_for("user-idle-warning")
    assert warning["data"]["remaining_seconds"] == 1
    await client.send({"type": "reset-idle-timer"})
    await client.wait_ack("reset-idle-timer")
    await asyncio.sleep(1.0)
    assert not client.disconnect_reason.done()
    assert "session-ending" not in client.types()
    start = len(client.messages)
    await _admin(standin, response["session_id"], "idle-warning", {"remaining_seconds": 0.3})
    _, ending = await client.wait_for("session-ending", start=start)
    assert ending["data"]["reason"] == "idle_timeout"
    assert await client.wait_disconnected() == rtc.DisconnectReason.ROOM_DELETED


async def test_usage_limit_after_turns_closes_the_session(
    standin_factory: StandInFactory, clients: list[RtviTestClient]
) -> None:
    standin = await standin_factory(usage_limit_after_turns=1, quota_type="api_calls")
    _, client = await connect_and_join(standin)
    clients.append(client)
    await client.send({"type": "user_text_message", "data": {"text": "one"}})
    done_index, _ = await client.wait_for("bot-turn-completed")
    limit_index, limit = await client.wait_for("usage-limit-reached")
    assert limit_index > done_index
    assert limit["type"] == "server-message"
    assert limit["data"]["quota_type"] == "api_calls" and limit["data"]["message"]
    assert await client.wait_disconnected() == rtc.DisconnectReason.ROOM_DELETED
    await wait_until(lambda: not standin.stats["active_sessions"], what="slot release")


async def test_admin_usage_limit_rejects_further_messages(
    standin: LocalStandIn, clients: list[RtviTestClient]
) -> None:
    response, client = await connect_and_join(standin)
    clients.append(client)
    await _admin(standin, response["session_id"], "usage-limit")
    await client.wait_for("usage-limit-reached")
    await client.send({"type": "user_text_message", "data": {"text": "more?"}})
    ack = await client.wait_ack("user_text_message")
    assert (ack["status"], ack["message"]) == ("error", "Usage limit exceeded")
    assert await client.wait_disconnected() == rtc.DisconnectReason.ROOM_DELETED


async def test_server_errors_non_fatal_then_fatal(
    standin_factory: StandInFactory, clients: list[RtviTestClient]
) -> None:
    standin = await standin_factory(server_error_after_turns=1)
    response, client = await connect_and_join(standin)
    clients.append(client)
    await client.send({"type": "user_text_message", "data": {"text": "go"}})
    _, error = await client.wait_for("error")
    assert error["label"] == "rtvi-ai"
    assert error["data"]["fatal"] is False and error["data"]["error"]
    # A non-fatal error leaves the session usable.
    start = len(client.messages)
    await client.send({"type": "user_text_message", "data": {"text": "still there?"}})
    await client.wait_for("bot-turn-completed", start=start)

    start = len(client.messages)
    await _admin(
        standin,
        response["session_id"],
        "server-error",
        {"fatal": True, "error": "pipeline exploded"},
    )
    _, fatal = await client.wait_for("error", start=start)
    assert fatal["data"] == {"error": "pipeline exploded", "fatal": True}
    closed_at = time.monotonic()
    assert await client.wait_disconnected() == rtc.DisconnectReason.ROOM_DELETED
    assert time.monotonic() - closed_at < 3


async def test_fatal_error_after_turns(
    standin_factory: StandInFactory, clients: list[RtviTestClient]
) -> None:
    standin = await standin_factory(server_error_after_turns=1, server_error_fatal=True)
    _, client = await connect_and_join(standin)
    clients.append(client)
    await client.send({"type": "user_text_message", "data": {"text": "go"}})
    _, error = await client.wait_for("error")
    assert error["data"]["fatal"] is True
    assert await client.wait_disconnected() == rtc.DisconnectReason.ROOM_DELETED


async def test_kill_pipeline_acks_then_ends_the_session(
    standin: LocalStandIn, clients: list[RtviTestClient]
) -> None:
    response, client = await connect_and_join(standin)
    clients.append(client)
    await client.send({"type": "kill-pipeline", "data": {}})
    ack = await client.wait_ack("kill-pipeline")
    assert ack["message"] == "Pipeline killed successfully"
    assert ack["extras"] == {"room_name": response["room_name"]}
    assert await client.wait_disconnected() == rtc.DisconnectReason.ROOM_DELETED
    assert not standin.stats["active_sessions"]


async def test_malformed_packets_and_session_ending(
    standin: LocalStandIn, clients: list[RtviTestClient]
) -> None:
    response, client = await connect_and_join(standin)
    clients.append(client)
    start = len(client.messages)
    await _admin(standin, response["session_id"], "malformed")
    await client.wait_for("<invalid-json>", start=start)
    _, shape = await client.wait_for("bot-llm-text", start=start)
    assert not isinstance(shape["data"], dict)
    # The bot is still fine afterwards.
    await client.send({"type": "reset-idle-timer"})
    await client.wait_ack("reset-idle-timer", start=start)
    await _admin(standin, "all", "session-ending", {"reason": "maintenance"})
    _, ending = await client.wait_for("session-ending", start=start)
    assert ending["data"]["reason"] == "maintenance"
    assert await client.wait_disconnected() == rtc.DisconnectReason.ROOM_DELETED


async def test_admin_routes_reject_unknown_sessions_and_actions(standin: LocalStandIn) -> None:
    status, _ = await post(f"{standin.connect_url}/_standin/sessions/nope/kick")
    assert status == 404
    status, body = await post(f"{standin.connect_url}/_standin/sessions/all/explode")
    assert status == 404 and "kick" in body["detail"]
