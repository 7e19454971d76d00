"""Joining the room a `/connect` handed out, and leaving it again: the transport, and what rides
on it for as long as it is joined (the participants, the bot-ready wait, the link watchdog and
sampler, the media hook). The session (session.py) decides when; this knows the order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from convai_tui.core.api import events as ev
from convai_tui.core.api.metrics import SessionMetrics
from convai_tui.core.connect.connect_api import ConnectResponse
from convai_tui.core.connect.room_lease import RoomLease
from convai_tui.core.conversation.conversation import Conversation
from convai_tui.core.errors.error import ConvaiError
from convai_tui.core.link.media import SessionMedia
from convai_tui.core.link.participants import ParticipantTable
from convai_tui.core.link.stats import LinkSampler
from convai_tui.core.link.transport import RoomTransport, TransportCallbacks
from convai_tui.core.link.watch import LinkWatch
from convai_tui.core.rtvi.readiness import BotReadiness
from convai_tui.core.settings.room_request import RoomConnectInfo
from convai_tui.core.settings.session_settings import SessionSettings


@dataclass(slots=True)
class RoomJoin:
    factory: Callable[[str, TransportCallbacks], RoomTransport]
    publish: Callable[[ev.Event], None]
    connected: Callable[[RoomConnectInfo | None], None]
    """The room is joined: the session goes Connected (before anyone in it is announced)."""
    lease: RoomLease
    metrics: SessionMetrics
    readiness: BotReadiness
    participants: ParticipantTable
    link_watch: LinkWatch
    link_sampler: LinkSampler
    media: SessionMedia
    conversation: Conversation
    transport: RoomTransport | None = None
    """The joined room; None between rooms."""

    async def join(
        self,
        settings: SessionSettings,
        response: ConnectResponse,
        callbacks: TransportCallbacks,
        timeout_s: float,
    ) -> None:
        transport = self.factory(settings.character_id, callbacks)
        self.transport = transport
        try:
            join_ms = await transport.join(response.room_url, response.token, timeout_s)
        except ConvaiError:
            self.transport = None
            await self.lease.release()
            raise
        self.metrics.join_ms = join_ms
        self.publish(
            ev.RoomJoined(
                room_name=response.room_name,
                local_identity=transport.local_identity,
                join_ms=round(join_ms, 1),
            )
        )
        self.connected(response.room)
        self.participants.joined(transport.participants())
        self.readiness.joined()
        self.link_watch.start(transport, lambda: self.transport is transport)
        self.link_sampler.start(transport)
        await self.media.attach(transport.room)

    async def leave(self) -> None:
        self.readiness.reset()
        await self.link_watch.stop()
        await self.link_sampler.stop()
        transport, self.transport = self.transport, None
        self.conversation.set_activity("idle")
        if transport is None:
            return
        await self.media.detach()
        await transport.leave()
        self.participants.all_left()
