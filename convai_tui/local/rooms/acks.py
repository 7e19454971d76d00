"""How a room's commands are answered: the message a bot sends (`Outgoing`), a resent command
answered again from memory, and the ack faults (an ack dropped, or followed by a stale one).

Split out of local/rooms/roster.py: the roster decides what an answer says; this remembers
answers and bends their delivery the way `RoomPolicy` asks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from convai_tui.local.rooms.policy import RoomPolicy


@dataclass(frozen=True)
class Outgoing:
    """A message to send: `to` None = everyone; `sender` = the membership whose bot sends it
    (None = any bot of the room, e.g. an ack)."""

    message: dict[str, Any]
    to: str | None = None
    sender: str | None = None


class AckLedger:
    """One room's answered commands (by command id) and the last successful ack of each type."""

    def __init__(self, policy: RoomPolicy) -> None:
        self._policy = policy
        self._seen: dict[str, tuple[str, list[Outgoing]]] = {}
        self._last_ack: dict[str, Outgoing] = {}

    def replayed(
        self,
        command_id: str | None,
        data: Any,
        sender: str,
        reject: Callable[[str, str], list[Outgoing]],
    ) -> list[Outgoing] | None:
        """A resent command (same id, same payload) gets its first answer again, no change;
        `reject(code, message)` answers the same id with another payload."""
        if command_id is None or command_id not in self._seen:
            return None
        payload, answer = self._seen[command_id]
        if payload == json.dumps(data, sort_keys=True):
            return [o for o in answer if o.to == sender]
        return reject(
            "duplicate_command_id",
            "This command id was already used with another payload.",
        )

    def remember(self, command_id: str | None, data: Any, answer: list[Outgoing]) -> None:
        if command_id is not None:
            self._seen[command_id] = (json.dumps(data, sort_keys=True), answer)

    def with_faults(self, event_type: str, answer: list[Outgoing]) -> list[Outgoing]:
        """Apply the ack faults: drop the ack, or follow it with the previous (stale) one."""
        ack = answer[0] if answer and answer[0].message.get("type") == "server-response" else None
        if ack is None:
            return answer
        rest = answer[1:]
        if event_type in self._policy.drop_acks:
            return rest
        out = [ack]
        if ack.message.get("status") == "success":
            previous = self._last_ack.get(event_type)
            self._last_ack[event_type] = ack
            if self._policy.stale_acks and previous is not None:
                out.append(previous)
        return out + rest
