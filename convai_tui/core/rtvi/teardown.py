"""Ending a server session the way its resources are freed at once: `kill-pipeline`, a short
bounded wait for its acknowledgement, then (by the caller) `POST /disconnect` and leaving the
room. Without it the service keeps the character's pipeline, and the account's concurrency
slot, until its idle timeout."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from convai_tui.core.rtvi.acks import AckTracker
from convai_tui.core.rtvi.outbox import DataChannel, Outbox

log = logging.getLogger("convai_tui.teardown")

KILL_ACK_WAIT_S = 1.0
"""How long quitting waits for kill-pipeline's acknowledgement before going on regardless."""


class Room(DataChannel, Protocol):
    def is_connected(self) -> bool: ...


async def kill_pipeline_on_leave(
    room: Room | None, outbox: Outbox, acks: AckTracker, wait_s: float = KILL_ACK_WAIT_S
) -> bool:
    """Send kill-pipeline and wait up to `wait_s` for its ack; True when it was acknowledged.

    Best effort: a link that is down or a server that never answers costs at most `wait_s`
    (plus the send's own bound), never an error for the user, who is leaving anyway. Nothing
    is sent into a room that is already gone."""
    if room is None or not room.is_connected():
        return False
    try:
        async with asyncio.timeout(wait_s):
            message_id = await outbox.send(room, "kill-pipeline", {}, awaited=True)
            if message_id is None:
                return False
            ack = await acks.wait(message_id, wait_s)
    except TimeoutError:
        log.info("no kill-pipeline acknowledgement within %.1f s; releasing anyway", wait_s)
        return False
    log.debug("kill-pipeline acknowledged: %s", ack.status)
    return ack.status == "success"
