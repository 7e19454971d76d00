"""Multi-character rooms on the stand-in, for real: one bot participant per
character instance in one LiveKit room (clones included), humans joining by room session id or
shared key, and the room's commands with real epoch checks.

The rules (epochs, rejections, ack bodies, lifecycle messages, faults) are `RoomRoster`'s
(local/rooms/roster.py); this module runs them: it answers `/connect`, starts and stops the
bots, tells each human about every ready instance, and makes sure only the interaction target
answers a user's text or speech. Room commands reach every bot of the room; the first running
bot handles them, so each is answered once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from livekit import api

from convai_tui.local.character import rtvi
from convai_tui.local.character.bot import Character, UserAudioHook
from convai_tui.local.character.bot_token import bot_token
from convai_tui.local.character.client_messages import CharacterProfile
from convai_tui.local.faults import Faults
from convai_tui.local.rooms.acks import Outgoing
from convai_tui.local.rooms.directory import RoomDirectory
from convai_tui.local.rooms.policy import ROSTER_UPDATE, TARGET, RoomPolicy, RoomRefused
from convai_tui.local.rooms.roster import Instance, RoomRoster
from convai_tui.local.rooms.sessions import SessionManager
from convai_tui.local.sfu.backend import LiveKitBackend
from convai_tui.runtime.task_set import TaskSet

log = logging.getLogger(__name__)

_BOT_START_TIMEOUT_S = 20.0
_WATCH_S = 0.25
"""How often the room is polled for humans: a bot alone learns about a text-only client
seconds late (livekit-server batches updates for participants that publish nothing)."""


def wants_room(body: Any) -> bool:
    """Whether a `/connect` body asks for a multi-character room (create or join)."""
    if not isinstance(body, Mapping):
        return False
    joining = body.get("mode") == "join" and (
        body.get("room_session_id") or body.get("shared_session_key")
    )
    return "characters" in body or bool(joining)


class RoomMember(Character):
    """The bot of one instance: its own identity, readiness and `bot-ready` with `about`; it
    answers the user only while it is the room's ready target."""

    def __init__(self, room: MultiRoom, instance: Instance, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._multi = room
        self.instance = instance

    @property
    def membership_id(self) -> str:
        return self.instance.membership_id

    def _token(self) -> str:
        instance = self.instance
        metadata = {"character_id": instance.character_id, "membership_id": instance.membership_id}
        return bot_token(
            self._backend,
            room=self.room_name,
            identity=instance.participant_identity,
            name=f"{self.profile.display_name} (local stand-in)",
            metadata=json.dumps(metadata),
        )

    async def greet(self, identity: str) -> None:
        """A human is in the room: if this instance is up, it says so (status + bot-ready)."""
        if identity in self._greeted or self._ending.closing:
            return
        self._greeted.add(identity)
        if self.instance.status == "ready":
            for out in self._multi.roster.ready_messages(self.membership_id):
                await self.send(out.message, to=identity)

    async def _send_bot_ready(self, body: dict[str, Any], to: str | None) -> None:
        """An instance says `bot-ready` only once it is ready, and names itself: a client-ready
        that comes while it starts is answered by the ready broadcast (MultiRooms._ready_later).
        Said earlier, the client would route input to an instance that cannot answer yet."""
        if self.instance.status != "ready":
            return
        data = body.get("data")
        about = self._multi.roster.about(self.membership_id)
        await self.send(
            {**body, "data": {**(data if isinstance(data, dict) else {}), "about": about}}, to=to
        )

    def _sender_of(self, packet: Any) -> str | None:
        # A text-only client is announced to the bots seconds late, and until then its packets
        # carry no sender; a room with one human can only have heard from that human.
        sender = super()._sender_of(packet)
        humans = self._multi.roster.humans
        return sender if sender is not None or len(humans) != 1 else humans[0]

    def _answers_now(self) -> bool:
        responder = self._multi.roster.responder()
        return responder is not None and responder.membership_id == self.membership_id

    async def _handle_packet(self, payload: bytes, sender: str | None) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            message = None
        kind = message.get("type") if isinstance(message, dict) else None
        handler = self._multi.handler() is self
        if kind in (TARGET, ROSTER_UPDATE):
            if handler and isinstance(message, dict):
                await self._multi.command(kind, message, sender)
            return
        if self._answers_now():
            await super()._handle_packet(payload, sender)
        elif handler and self._multi.roster.responder() is None:
            if kind == "user_text_message":  # nobody to answer: say so instead of silence
                await self.send(
                    rtvi.server_response(
                        "user_text_message",
                        "error",
                        "No ready interaction target in this room.",
                        {"code": "no_interaction_target"},
                    ),
                    to=sender,
                )
            else:
                await super()._handle_packet(payload, sender)

    async def handle_user_utterance(self, transcript_text: str) -> None:
        """Only the room's first bot listens to the microphone (one set of user events); the
        target answers."""
        if self._answers_now():
            await super().handle_user_utterance(transcript_text)
            return
        responder = self._multi.roster.responder()
        bot = self._multi.bots.get(responder.membership_id) if responder is not None else None
        if bot is not None:
            await bot.handle_user_utterance(transcript_text)


@dataclass
class MultiRoom:
    """One LiveKit room with its roster, its bots and its humans' sessions."""

    name: str
    roster: RoomRoster
    rooms: MultiRooms
    bots: dict[str, RoomMember] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    """session id → human identity."""
    present: set[str] = field(default_factory=set)
    closed: bool = False

    def handler(self) -> RoomMember | None:
        return next(iter(self.bots.values()), None)

    async def send(self, outgoing: list[Outgoing], via: RoomMember | None = None) -> None:
        for out in outgoing:
            bot = self.bots.get(out.sender or "") or via or self.handler()
            if bot is not None:
                await bot.send(out.message, to=out.to)

    async def command(self, kind: str, message: dict[str, Any], sender: str | None) -> None:
        roster = self.roster
        command_id = message.get("id") if isinstance(message.get("id"), str) else None
        data = message.get("data")
        via = self.handler()
        if kind == TARGET:
            await self.send(roster.handle_interaction_target(sender or "", command_id, data), via)
            return
        before = dict(roster.instances)
        answer = roster.handle_roster_update(sender or "", command_id, data, self.rooms.characters)
        added = [i for mid, i in roster.instances.items() if mid not in before]
        removed = [mid for mid in before if mid not in roster.instances]
        await self.send(answer, via)
        for mid in removed:
            bot = self.bots.pop(mid, None)
            if bot is not None:
                self.rooms.tasks.spawn(bot.stop())
        for instance in added:
            self.rooms.tasks.spawn(self.rooms.start_member(self, instance))

    # CharacterEvents: the bots report humans coming and going, and a lost LiveKit.
    def client_joined(self, room_name: str, identity: str) -> None:
        self.present.add(identity)

    def client_left(self, room_name: str, identity: str) -> None:
        self.present.discard(identity)

    def client_heard(self, room_name: str) -> None:
        pass  # the watcher closes a room nobody is in, whether it ever saw them or not

    def request_end(self, room_name: str, reason: str) -> None:
        self.rooms.tasks.spawn(self.rooms.close_room(self, reason))

    def release_slots(self, room_name: str, reason: str) -> None:
        """Nothing to free early: a room's humans hold no concurrency slot of their own here;
        the room goes as a whole when a bot asks for its end (request_end)."""


class MultiRooms:
    """Every multi-character room of one stand-in."""

    def __init__(
        self,
        backend: LiveKitBackend,
        faults: Faults,
        sessions: SessionManager,
        characters: Mapping[str, CharacterProfile],
        policy: Callable[[], RoomPolicy],
        *,
        user_audio_hook: UserAudioHook | None = None,
    ) -> None:
        self._backend = backend
        self._faults = faults
        self._sessions = sessions
        self.characters = characters
        self._policy = policy
        """Read at each use, so a running stand-in's faults can be changed (tests, admin)."""
        self._hook = user_audio_hook
        self.directory = RoomDirectory()
        self._rooms: dict[str, MultiRoom] = {}
        self.tasks = TaskSet(log, "multi-character room task failed")

    # -- /connect and /disconnect ---------------------------------------------------------
    async def connect(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body of a multi-character `/connect`."""
        identity = f"human:{secrets.token_hex(6)}"
        try:
            if body.get("mode") == "join":
                roster = self.directory.join(body, identity)
                room = self._rooms[roster.room_session_id]
            else:
                roster = RoomRoster.create(
                    body, owner=identity, known=self.characters, policy=self._policy()
                )
                self.directory.add(roster)
                room = MultiRoom(f"standin-room-{uuid.uuid4().hex[:12]}", roster, self)
                self._rooms[roster.room_session_id] = room
                await self._start_all(room)
        except RoomRefused as exc:
            return exc.status, {"detail": exc.detail}
        except Exception as exc:  # a bot that cannot join: Convai's 500
            log.error("multi-character room failed to start: %s", exc)
            return 500, {"detail": f"failed to start bot: {exc}"}
        session_id = str(uuid.uuid4())
        room.sessions[session_id] = identity
        initial = next(iter(roster.instances.values()))
        answer = {
            "session_id": session_id,
            "request_trace_id": "req_" + secrets.token_hex(16),
            "character_session_id": initial.character_session_id,
            "room_url": self._backend.ws_url,
            "room_name": room.name,
            "token": self._sessions.client_token(identity, room.name),
            "end_user_id": body.get("end_user_id"),
            **roster.connect_fields(),
        }
        return 200, answer

    async def disconnect(self, session_id: str) -> bool:
        for room in list(self._rooms.values()):
            identity = room.sessions.pop(session_id, None)
            if identity is None:
                continue
            if not room.sessions:
                await self.close_room(room, "disconnect")
            else:
                with contextlib.suppress(Exception):
                    await self._sessions.lkapi.room.remove_participant(
                        api.RoomParticipantIdentity(room=room.name, identity=identity)
                    )
            return True
        return False

    # -- bots -----------------------------------------------------------------------------
    async def _start_all(self, room: MultiRoom) -> None:
        members = [i for i in room.roster.instances.values() if i.status != "failed"]
        await asyncio.gather(*(self.start_member(room, i) for i in members))
        self.tasks.spawn(self._watch(room))

    async def start_member(self, room: MultiRoom, instance: Instance) -> None:
        if instance.status == "failed" or room.closed:
            return
        profile = self.characters[instance.character_id]
        bot = RoomMember(
            room,
            instance,
            backend=self._backend,
            room_name=room.name,
            profile=profile,
            character_session_id=instance.character_session_id,
            faults=self._faults,
            events=room,
            user_audio_hook=None if room.bots else self._hook,
        )
        room.bots[instance.membership_id] = bot
        try:
            await asyncio.wait_for(bot.start(), _BOT_START_TIMEOUT_S)
        except BaseException:
            room.bots.pop(instance.membership_id, None)
            await bot.stop()
            raise
        self.tasks.spawn(self._ready_later(room, bot))

    async def _ready_later(self, room: MultiRoom, bot: RoomMember) -> None:
        await asyncio.sleep(room.roster.policy.ready_delay(bot.instance.character_id))
        if bot.membership_id in room.bots:
            await room.send(room.roster.mark_ready(bot.membership_id))

    async def _watch(self, room: MultiRoom) -> None:
        """Greet humans as soon as the server sees them; close the room once all have left."""
        greeted: set[str] = set()
        empty_since: float | None = None
        loop = asyncio.get_running_loop()
        while not room.closed:
            await asyncio.sleep(_WATCH_S)
            try:
                response = await self._sessions.lkapi.room.list_participants(
                    api.ListParticipantsRequest(room=room.name)
                )
            except Exception:
                continue
            humans = {
                p.identity
                for p in response.participants
                if p.kind != api.ParticipantInfo.Kind.AGENT
                and p.state == api.ParticipantInfo.State.ACTIVE
            }
            for identity in humans - greeted:
                for bot in list(room.bots.values()):
                    await bot.greet(identity)
            for identity in greeted - humans:
                for bot in list(room.bots.values()):
                    bot.forget(identity)
            greeted = humans
            if humans:
                empty_since = None
            elif empty_since is None:
                empty_since = loop.time()
            elif loop.time() - empty_since > max(
                self._faults.release_grace_s, self._faults.join_timeout_s
            ):
                await self.close_room(room, "client_left")

    async def close_room(self, room: MultiRoom, reason: str) -> None:
        if room.closed:
            return
        room.closed = True
        log.info("multi-character room %s closed (%s)", room.name, reason)
        self._rooms.pop(room.roster.room_session_id, None)
        self.directory.remove(room.roster.room_session_id)
        with contextlib.suppress(Exception):
            await self._sessions.lkapi.room.delete_room(api.DeleteRoomRequest(room=room.name))
        for bot in list(room.bots.values()):
            await bot.stop()
        room.bots.clear()

    async def close(self) -> None:
        for room in list(self._rooms.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.close_room(room, "server_shutdown"), 3.0)
        await self.tasks.cancel_all()
