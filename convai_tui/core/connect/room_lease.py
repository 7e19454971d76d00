"""The room Convai lends the session: /connect for its credentials (carrying the character
session id across reconnects, so the conversation continues) and /disconnect to give it back
at once, so the concurrency slot frees without waiting for the server to notice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from convai_tui.core.api.events import Event, RoomDetailsReceived
from convai_tui.core.connect.connect_api import ConnectApiClient, ConnectRequest, ConnectResponse
from convai_tui.core.errors.error import ConvaiError, make_error
from convai_tui.core.errors.redact import redact_token
from convai_tui.core.link.transport import log_room_details
from convai_tui.core.settings.session_settings import SessionSettings


class RoomLease:
    """The latest /connect answer; `room` stays set after leaving (diagnostics show it)."""

    def __init__(
        self,
        character_session_id: str | None,
        api: ConnectApiClient | None,
        publish: Callable[[Event], None],
    ) -> None:
        self._api = api
        self._publish = publish
        self.room: ConnectResponse | None = None
        self.character_session_id = character_session_id
        """The conversation to continue: configured, then as the latest /connect answered."""

    def start_over(self) -> None:
        """The next /connect starts a new conversation (another character was chosen)."""
        self.character_session_id = None

    @property
    def session_id(self) -> str | None:
        return self.room.session_id if self.room else None

    async def connect(
        self, settings: SessionSettings, within_s: float | None = None
    ) -> ConnectResponse:
        """POST /connect, answered within `within_s` if given (else the API client's timeout);
        raises ConvaiError (catalogue code) when it fails."""
        if self._api is None:  # built on first use: a bad configuration never builds one
            self._api = ConnectApiClient(
                settings.connect_url, settings.api_key, timeout_s=settings.connection_timeout_s
            )
        request = ConnectRequest(
            character_id=settings.character_id,
            character_session_id=self.character_session_id,
            end_user_id=settings.end_user_id,
            room=settings.room,
            options=settings.connect_options,
        )
        try:
            async with asyncio.timeout(within_s):
                response = await self._api.connect(request)
        except TimeoutError:
            raise ConvaiError(
                make_error(
                    "connection.timeout",
                    f"No answer from {settings.connect_url}/connect within {within_s:g} s "
                    "(the bound of one reconnect attempt).",
                )
            ) from None
        self.room = response
        if response.character_session_id:
            self.character_session_id = response.character_session_id
        self._publish(
            RoomDetailsReceived(
                session_id=response.session_id,
                character_session_id=self.character_session_id,
                room_name=response.room_name,
                room_url=response.room_url,
                request_trace_id=response.request_trace_id,
                connect_ms=round(response.elapsed_ms, 1),
            )
        )
        log_room_details(
            room_url=response.room_url,
            room_name=response.room_name,
            session_id=response.session_id,
            character_session_id=self.character_session_id,
            token=response.token,
        )
        return response

    async def release(self) -> None:
        """Tell the server the session is over so its concurrency slot frees at once."""
        if self.room is not None and self.room.session_id and self._api is not None:
            await self._api.disconnect(self.room.session_id)

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()

    def describe(self, local_identity: str | None) -> dict[str, Any]:
        """The room part of the diagnostics; all None before the first /connect."""
        room = self.room
        return {
            "room_url": room.room_url if room else None,
            "room_name": room.room_name if room else None,
            "session_id": room.session_id if room else None,
            "character_session_id": self.character_session_id,
            "request_trace_id": room.request_trace_id if room else None,
            "local_identity": local_identity,
            "token_redacted": redact_token(room.token) if room else None,
            # Shown only when the user explicitly asks to reveal it; never logged or evented.
            "token": room.token if room else None,
        }
