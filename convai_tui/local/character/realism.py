"""The strict profile's handshake and RTVI-layer behaviour, as the real service
does it as far as the docs, the official SDKs and Pipecat's RTVI processor show:

- `bot-ready` answers a `client-ready` (echoing its id), once per client presence, with no
  `server-response` for the handshake; a fault drops the first client-ready. Because the
  official web SDK 1.2.0 never sends client-ready and still gets bot-ready from the service,
  a client whose /connect body is that SDK's (`sends_client_ready`) gets bot-ready as soon as
  it is greeted, and any other client still gets one after `bot_ready_grace_s` without any
  client-ready (a deliberate choice, docs/FAULTS.md).
- A labelled packet of a type the RTVI layer does not know gets an `error-response` naming
  its id ("Unsupported type <t>"), on top of the Convai handler's own acknowledgement.

The lenient profile keeps the older behaviour: bot-ready unsolicited on join, client-ready
acked and answered again (that bot-ready echoes the client-ready's id too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from convai_tui.local.character import rtvi
from convai_tui.local.faults import Faults

RTVI_KNOWN_TYPES = frozenset(
    {
        "client-ready",
        "disconnect-bot",
        "action",
        "llm-function-call-result",
        "send-text",
        "append-to-context",
        "raw-audio",
        "client-message",
    }
)
"""Client types Pipecat's RTVI processor itself takes; every other labelled type is
"Unsupported" there (all of Convai's own types are handled by Convai's handler instead)."""

ABOUT = {"library": "convai-tui-standin"}


def error_response(message: rtvi.ClientMessage) -> dict[str, Any] | None:
    """Pipecat's answer to a labelled packet it cannot take, or None."""
    if not message.labelled or message.type in RTVI_KNOWN_TYPES or not message.message_id:
        return None
    return {
        "label": rtvi.LABEL,
        "type": "error-response",
        "id": message.message_id,
        "data": {"error": f"Unsupported type {message.type}"},
    }


def sends_client_ready(request: Mapping[str, Any]) -> bool:
    """False for a room started by Convai's web SDK: its /connect body always carries a
    `blendshape_config` and never an `invocation_metadata` (ours always carries the latter),
    and that SDK waits for a bot-ready without ever sending client-ready."""
    return "blendshape_config" not in request or "invocation_metadata" in request


class BotReadyGate:
    """When each client gets its bot-ready (one per client presence)."""

    def __init__(
        self,
        faults: Faults,
        send: Callable[[dict[str, Any], str | None], Awaitable[None]],
        *,
        client_ready_expected: bool = True,
    ) -> None:
        self._faults = faults
        self._send = send
        self._client_ready_expected = client_ready_expected
        self._ready: set[str | None] = set()
        self._seen: dict[str | None, int] = {}
        self._grace: dict[str | None, asyncio.Task[None]] = {}
        self.client_ready_seen = 0
        """client-ready messages received (the tests read it)."""
        self.answered: list[str | None] = []
        """Ids of the client-ready messages answered with bot-ready (None: by the grace)."""

    @property
    def strict(self) -> bool:
        return self._faults.realism == "strict"

    async def greeted(self, identity: str) -> None:
        """A client joined: lenient sends bot-ready now, strict waits for its client-ready
        (unless it is a client that never sends one)."""
        if not self.strict:
            await self._bot_ready(identity, None, force=True)
        elif None in self._ready and len(self._ready) == 1:
            self._ready.add(identity)  # answered before the SDK could name it
        elif not self._client_ready_expected:
            await self._bot_ready(identity, None, force=False)
        elif self._faults.bot_ready_grace_s > 0:
            self._grace[identity] = asyncio.ensure_future(self._after_grace(identity))

    async def client_ready(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        self.client_ready_seen += 1
        count = self._seen[sender] = self._seen.get(sender, 0) + 1
        if self._faults.drop_first_client_ready and count == 1:
            return
        await self._bot_ready(sender, message.message_id, force=not self.strict)

    def forget(self, identity: str) -> None:
        self._ready.discard(identity)
        self._seen.pop(identity, None)
        task = self._grace.pop(identity, None)
        if task is not None:
            task.cancel()

    def cancel(self) -> None:
        for task in self._grace.values():
            task.cancel()
        self._grace.clear()

    async def _after_grace(self, identity: str) -> None:
        await asyncio.sleep(self._faults.bot_ready_grace_s)
        await self._bot_ready(identity, None, force=False)

    async def _bot_ready(
        self, identity: str | None, message_id: str | None, *, force: bool
    ) -> None:
        if self._faults.withhold_bot_ready or (identity in self._ready and not force):
            return
        self._ready.add(identity)
        self.answered.append(message_id)
        body: dict[str, Any] = {"label": rtvi.LABEL, "type": "bot-ready"}
        if message_id:
            body["id"] = message_id
        body["data"] = {"version": "1.2.0" if self.strict else "1.0.0", "about": dict(ABOUT)}
        await self._send(body, identity)
