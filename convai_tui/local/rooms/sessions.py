"""Server-side sessions of the stand-in: rooms, bots, concurrency slots and their release.

A session (one ``/connect`` 200) holds one concurrency slot of its API key until it ends:
``/disconnect``, ``kill-pipeline``, idle timeout, usage limit, a fatal error, the room being
deleted, its client leaving the room for longer than the release grace, or its client never
joining within the join timeout (protocol doc §4.7). Ending the last session of a room deletes
the room, so the client sees ``DisconnectReason.ROOM_DELETED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from livekit import api

from convai_tui.local.character.bot import Character, UserAudioHook
from convai_tui.local.character.client_messages import CharacterProfile
from convai_tui.local.faults import Faults
from convai_tui.local.sfu.backend import LiveKitBackend
from convai_tui.runtime.task_set import TaskSet

log = logging.getLogger(__name__)

CLIENT_TOKEN_TTL = timedelta(hours=1)
_BOT_START_TIMEOUT_S = 10.0
_WATCH_FAST_S = 0.05
_WATCH_SLOW_S = 0.25
_DUPLICATE_STAY_S = 1.0
_DUPLICATE_CONNECT_S = 10.0
_CLOSE_ROOM_S = 3.0


def api_key_hash(api_key: str) -> str:
    """A stable, non-reversible label for an API key (stats and logs never show the key)."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:12]


class BotStartFailed(RuntimeError):
    pass


@dataclass
class StandInSession:
    session_id: str
    api_key: str = field(repr=False)
    room_name: str
    client_identity: str
    character_id: str
    character_session_id: str
    created_at: float = field(default_factory=time.time)
    joined: bool = False
    present: bool = False
    ended: bool = False
    end_reason: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "room_name": self.room_name,
            "client_identity": self.client_identity,
            "character_id": self.character_id,
            "character_session_id": self.character_session_id,
            "api_key_hash": api_key_hash(self.api_key),
            "created_at": self.created_at,
            "joined": self.joined,
            "present": self.present,
        }


@dataclass
class _RoomState:
    name: str
    character_id: str
    bot: Character | None = None
    session_ids: set[str] = field(default_factory=set)
    poller: asyncio.Task[None] | None = None


class SessionManager:
    """Owns every live session, room and bot of one stand-in."""

    def __init__(
        self,
        backend: LiveKitBackend,
        faults: Faults,
        *,
        user_audio_hook: UserAudioHook | None = None,
    ) -> None:
        self._backend = backend
        self._faults = faults
        self._user_audio_hook = user_audio_hook
        self.sessions: dict[str, StandInSession] = {}
        self._rooms: dict[str, _RoomState] = {}
        self._tasks = TaskSet(log, "stand-in task failed")
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._lkapi: api.LiveKitAPI | None = None
        self._closed = False

    @property
    def lkapi(self) -> api.LiveKitAPI:
        if self._lkapi is None:
            self._lkapi = api.LiveKitAPI(
                self._backend.http_url, self._backend.api_key, self._backend.api_secret
            )
        return self._lkapi

    # -- queries ------------------------------------------------------------------------------
    def active_sessions(self) -> list[StandInSession]:
        return [s for s in self.sessions.values() if not s.ended]

    def active_count(self, key_hash: str) -> int:
        return sum(1 for s in self.active_sessions() if api_key_hash(s.api_key) == key_hash)

    def session_for_token(self, token: str) -> StandInSession | None:
        session = self.sessions.get(token)
        return session if session is not None and not session.ended else None

    def room_exists(self, room_name: str) -> bool:
        return room_name in self._rooms

    def bot_for(self, session: StandInSession) -> Character | None:
        room = self._rooms.get(session.room_name)
        return room.bot if room else None

    # -- creating -------------------------------------------------------------------------------
    def client_token(self, identity: str, room_name: str, display_name: str = "Player") -> str:
        return (
            api.AccessToken(self._backend.api_key, self._backend.api_secret)
            .with_identity(identity)
            .with_name(display_name)
            .with_ttl(CLIENT_TOKEN_TTL)
            .with_grants(
                api.VideoGrants(
                    room_join=True,
                    room=room_name,
                    can_publish=True,
                    can_subscribe=True,
                    can_publish_data=True,
                )
            )
            .to_jwt()
        )

    async def create_session(
        self,
        *,
        api_key: str,
        profile: CharacterProfile,
        character_session_id: str,
        room_name: str | None,
        spawn_agent: bool,
        tts_enabled: bool,
        request: dict[str, Any] | None = None,
    ) -> StandInSession:
        """Register a session, make sure its room has a bot (if asked), start its timers."""
        name = room_name or f"standin-{uuid.uuid4().hex[:16]}"
        session = StandInSession(
            session_id=str(uuid.uuid4()),
            api_key=api_key,
            room_name=name,
            client_identity=f"user-{secrets.token_hex(4)}",
            character_id=profile.character_id,
            character_session_id=character_session_id,
        )
        room = self._rooms.get(name)
        if room is None:
            room = _RoomState(name=name, character_id=profile.character_id)
            self._rooms[name] = room
        room.session_ids.add(session.session_id)
        self.sessions[session.session_id] = session
        try:
            if spawn_agent and room.bot is None:
                room.bot = await self._start_bot(
                    room, profile, character_session_id, tts_enabled, request or {}
                )
        except BaseException:
            await self.end_session(session.session_id, "bot_start_failed")
            raise
        if room.poller is None:
            room.poller = self._tasks.spawn(self._watch_room(room))
        self._timers[session.session_id] = self._tasks.spawn(self._join_deadline(session))
        return session

    async def _start_bot(
        self,
        room: _RoomState,
        profile: CharacterProfile,
        character_session_id: str,
        tts_enabled: bool,
        request: dict[str, Any],
    ) -> Character:
        bot = Character(
            request=request,
            backend=self._backend,
            room_name=room.name,
            profile=profile,
            character_session_id=character_session_id,
            faults=self._faults,
            events=self,
            user_audio_hook=self._user_audio_hook,
            tts_enabled=tts_enabled,
        )
        try:
            await asyncio.wait_for(bot.start(), _BOT_START_TIMEOUT_S)
        except BaseException as exc:
            await bot.stop()
            if isinstance(exc, Exception):
                raise BotStartFailed(f"failed to start bot: {exc or type(exc).__name__}") from exc
            raise
        return bot

    # -- CharacterEvents ----------------------------------------------------------------------
    def client_joined(self, room_name: str, identity: str) -> None:
        # Reported by the bot and by the room watcher; whichever is first wins.
        for session in self._sessions_of(room_name, identity):
            if session.present:
                continue
            session.joined = True
            session.present = True
            self._cancel_timer(session.session_id)

    def client_left(self, room_name: str, identity: str) -> None:
        # Not only after client_joined: a client that leaves (or is kicked) right after its
        # handshake may never have been seen as present by the room watcher (livekit-server
        # announces a participant that publishes nothing seconds late).
        for session in self._sessions_of(room_name, identity):
            session.joined = True
            session.present = False
            self._cancel_timer(session.session_id)
            self._timers[session.session_id] = self._tasks.spawn(self._release_after_grace(session))

    def client_heard(self, room_name: str) -> None:
        # livekit-server names a client that publishes nothing to the bot seconds late, and a
        # client can come and go between two polls of the watcher. A packet from a client not
        # named yet, in a room where one session has never seen its client, is that client.
        room = self._rooms.get(room_name)
        if room is None:
            return
        unseen = [
            session
            for session in (self.sessions[sid] for sid in room.session_ids)
            if not session.joined and not session.ended
        ]
        if len(unseen) == 1:
            self.client_joined(room_name, unseen[0].client_identity)

    def request_end(self, room_name: str, reason: str) -> None:
        self._tasks.spawn(self.end_room(room_name, reason))

    def release_slots(self, room_name: str, reason: str) -> None:
        """The room's sessions end now (their concurrency slots are free at once); the room
        itself goes when the bot asks for its end."""
        room = self._rooms.get(room_name)
        for session_id in list(room.session_ids) if room is not None else []:
            session = self.sessions[session_id]
            if not session.ended:
                session.ended, session.end_reason = True, reason
                self._cancel_timer(session_id)
                log.info("session %s ended (%s)", session_id, reason)

    def _sessions_of(self, room_name: str, identity: str) -> list[StandInSession]:
        room = self._rooms.get(room_name)
        if room is None:
            return []
        return [
            self.sessions[sid]
            for sid in room.session_ids
            if self.sessions[sid].client_identity == identity and not self.sessions[sid].ended
        ]

    # -- timers -------------------------------------------------------------------------------
    async def _join_deadline(self, session: StandInSession) -> None:
        await asyncio.sleep(self._faults.join_timeout_s)
        if not session.joined and not session.ended:
            log.info("session %s: client never joined; ending it", session.session_id)
            self._timers.pop(session.session_id, None)
            await self.end_session(session.session_id, "join_timeout")

    async def _release_after_grace(self, session: StandInSession) -> None:
        await asyncio.sleep(self._faults.release_grace_s)
        if not session.present and not session.ended:
            log.info("session %s: client left the room; releasing its slot", session.session_id)
            self._timers.pop(session.session_id, None)
            await self.end_session(session.session_id, "client_left")

    def _cancel_timer(self, session_id: str) -> None:
        timer = self._timers.pop(session_id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _watch_room(self, room: _RoomState) -> None:
        """Follow who is in the room from the server's point of view.

        A bot alone would learn about a text-only client (one that publishes no track) seconds
        late: livekit-server batches participant updates for non-publishers (~3 s). The
        server API sees the client as soon as it is active, so we poll it, quickly while a
        session is waiting for its client and slowly otherwise.
        """
        present: set[str] = set()
        while room.name in self._rooms:
            waiting = any(not self.sessions[sid].present for sid in room.session_ids)
            await asyncio.sleep(_WATCH_FAST_S if waiting else _WATCH_SLOW_S)
            # Clients the bot reported count too: a client can come and go between two polls.
            # Taken before asking: one reported later may be newer than the answer.
            seen = present | {
                self.sessions[sid].client_identity
                for sid in room.session_ids
                if self.sessions[sid].present
            }
            try:
                response = await self.lkapi.room.list_participants(
                    api.ListParticipantsRequest(room=room.name)
                )
            except Exception:
                continue
            now_present = {
                p.identity
                for p in response.participants
                if p.kind != api.ParticipantInfo.Kind.AGENT
                and p.state == api.ParticipantInfo.State.ACTIVE
            }
            for identity in now_present - present:
                self.client_joined(room.name, identity)
                if room.bot is not None:
                    await room.bot.greet(identity)
            for identity in seen - now_present:
                self.client_left(room.name, identity)
                if room.bot is not None:
                    room.bot.forget(identity)
            present = now_present

    # -- ending -------------------------------------------------------------------------------
    async def end_session(self, session_id: str, reason: str) -> bool:
        """End one session and free its slot; the room goes when its last session does."""
        session = self.sessions.get(session_id)
        if session is None or session.ended:
            return False
        session.ended = True
        session.end_reason = reason
        self._cancel_timer(session_id)
        log.info("session %s ended (%s)", session_id, reason)
        room = self._rooms.get(session.room_name)
        if room is None:
            return True
        room.session_ids.discard(session_id)
        if room.session_ids:
            with contextlib.suppress(Exception):
                await self.lkapi.room.remove_participant(
                    api.RoomParticipantIdentity(room=room.name, identity=session.client_identity)
                )
        else:
            await self._close_room(room)
        return True

    async def end_room(self, room_name: str, reason: str) -> None:
        room = self._rooms.get(room_name)
        if room is None:
            return
        for session_id in list(room.session_ids):
            session = self.sessions[session_id]
            session.ended = True
            session.end_reason = reason
            self._cancel_timer(session_id)
            log.info("session %s ended (%s)", session_id, reason)
        room.session_ids.clear()
        await self._close_room(room)

    async def _close_room(self, room: _RoomState) -> None:
        self._rooms.pop(room.name, None)
        if room.poller is not None and room.poller is not asyncio.current_task():
            room.poller.cancel()
        # Delete first, so the client is told ROOM_DELETED rather than seeing the bot leave.
        with contextlib.suppress(Exception):
            await self.lkapi.room.delete_room(api.DeleteRoomRequest(room=room.name))
        if room.bot is not None:
            await room.bot.stop()

    async def retire_all(self, reason: str) -> None:
        """End every session and stop every bot without touching the rooms (the SFU is about
        to go away and take them along)."""
        for room in list(self._rooms.values()):
            self._rooms.pop(room.name, None)
            for session_id in room.session_ids:
                session = self.sessions[session_id]
                session.ended = True
                session.end_reason = reason
                self._cancel_timer(session_id)
            room.session_ids.clear()
            if room.poller is not None:
                room.poller.cancel()
            if room.bot is not None:
                await room.bot.stop()

    # -- admin actions --------------------------------------------------------------------------
    async def kick(self, session: StandInSession) -> None:
        await self.lkapi.room.remove_participant(
            api.RoomParticipantIdentity(room=session.room_name, identity=session.client_identity)
        )
        # The client is gone whether or not the bot or the room watcher had seen it yet.
        self.client_left(session.room_name, session.client_identity)

    async def delete_room(self, session: StandInSession) -> None:
        await self.end_room(session.room_name, "room_deleted")

    async def duplicate_identity(self, session: StandInSession) -> None:
        """Join a second participant with the client's identity; LiveKit evicts the first.

        The eviction happens at the intruder's signal join, so the intruder is only a signalling
        WebSocket: a full WebRTC room here would sit half-connected (the evicted client fights
        back) and has been seen to bring down the LiveKit FFI half a minute later. Runs in the
        background so the admin call returns at once.
        """
        token = self.client_token(session.client_identity, session.room_name, "Duplicate")
        url = f"{self._backend.ws_url}/rtc?access_token={token}&auto_subscribe=0&protocol=15"

        async def intrude() -> None:
            timeout = aiohttp.ClientTimeout(total=_DUPLICATE_CONNECT_S + _DUPLICATE_STAY_S)
            with contextlib.suppress(Exception):
                async with (
                    aiohttp.ClientSession(timeout=timeout) as http,
                    http.ws_connect(url) as ws,
                ):
                    # The join response (binary protobuf) means the server has taken the join.
                    await asyncio.wait_for(ws.receive(), _DUPLICATE_CONNECT_S)
                    await asyncio.sleep(_DUPLICATE_STAY_S)

        self._tasks.spawn(intrude())

    # -- plumbing -------------------------------------------------------------------------------
    async def close(self) -> None:
        """End every room (clients see ROOM_DELETED) and stop all background work."""
        if self._closed:
            return
        self._closed = True
        for name in list(self._rooms):
            # Bounded: a paused or dead LiveKit must not turn Ctrl-C into a long hang.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.end_room(name, "server_shutdown"), _CLOSE_ROOM_S)
        await self._tasks.cancel_all()
        if self._lkapi is not None:
            with contextlib.suppress(Exception):
                await self._lkapi.aclose()
            self._lkapi = None
