"""The multi-character room inside a session: the session calls in with a few hook lines and
this owns the rest — the client `Roster` and its `RosterCommands` for the current room, the
lifecycle messages, attribution of the conversation to an instance, input refusal, the two
commands on the wire with their ack timeouts, and the seeds/001 rebind event of every switch
request (docs/MULTI_CHARACTER.md, "Wiring").

In a single-character room (`roster` None) every hook is a no-op, so that path is unchanged;
only a switch request does something there: `PendingReconnect`, then a new `/connect` for the
other character keeping nothing but the settings.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from convai_tui.core.api.events import (
    AttributedEvent,
    ErrorRaised,
    Event,
    MessageSent,
    ParticipantInfo,
    TranscriptReceived,
)
from convai_tui.core.api.outcomes import Drop, End, Outcome
from convai_tui.core.api.states import SessionState
from convai_tui.core.connect.room_lease import RoomLease
from convai_tui.core.errors.error import SessionError, make_error
from convai_tui.core.multi.commands import (
    ROSTER_COMMAND,
    TARGET_COMMAND,
    CommandResult,
    RosterCommands,
    rebind_before_send,
)
from convai_tui.core.multi.events import RebindOutcome, RoomRebindStateChanged
from convai_tui.core.multi.roster import Roster
from convai_tui.core.rtvi import protocol
from convai_tui.core.settings.multi_config import CharacterSpec
from convai_tui.core.settings.room_request import RoomConnectInfo
from convai_tui.core.settings.session_settings import SessionSettings

_SPEECH_TYPES = frozenset(
    {
        "bot-llm-started",
        "bot-llm-text",
        "bot-started-speaking",
        "bot-tts-started",
        "bot-transcription",
    }
)
"""Messages that prove the instance they come from is up (Unity: speech counts as ready)."""


_AUDIO_KIND = 1
"""LiveKit's TrackKind.KIND_AUDIO (the core does not import livekit)."""


class _Channel(Protocol):
    async def send(self, payload: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class RoomHooks:
    """What the room needs from its session (all callables, so nothing here reaches into it)."""

    publish: Callable[[Event], None]
    state: Callable[[], SessionState]
    channel: Callable[[], _Channel | None]
    ready: Callable[[], None]
    """The initial membership is ready: the session goes ready (bot_ready, queued input)."""
    resolve: Callable[[Outcome], None]
    settings: Callable[[], SessionSettings]
    use_settings: Callable[[SessionSettings], None]
    lease: RoomLease


class RoomSession:
    """The room part of one session; `roster` is None in a single-character room."""

    def __init__(self, hooks: RoomHooks, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._hooks = hooks
        self._clock = clock
        self.roster: Roster | None = None
        self.commands: RosterCommands | None = None
        self._speaker: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._deferred: str | None = None
        self._was_ready = False
        self._pending: asyncio.Future[str | None] | None = None
        self.locally_muted: set[str] = set()
        """Participant identities whose playback the user muted here (seeds: per identity)."""

    @property
    def active(self) -> bool:
        return self.roster is not None

    # -- connect --------------------------------------------------------------------------
    def connected(self, info: RoomConnectInfo | None) -> None:
        """A /connect answered and its room was joined: a new roster from that answer (old
        epochs and pending commands are dropped), then what a front end learns first."""
        self._cancel_timer()
        self._speaker = None
        self._was_ready = False
        if info is None:
            self.roster = self.commands = None
            return
        room = self._hooks.settings().room
        self.roster = Roster(info, room.names if room is not None else {})
        self.commands = RosterCommands(self.roster, clock=self._clock)
        self._emit(self.roster.initial_events())

    # -- inbound --------------------------------------------------------------------------
    def dispatch(self, msg: protocol.InboundMessage, sender: str | None) -> bool:
        """Room messages are handled here (True); conversation messages are attributed to an
        instance and left to the session (False)."""
        roster, commands = self.roster, self.commands
        if roster is None or commands is None:
            return False
        data = msg.data
        if msg.type == "bot-ready":
            self._emit(roster.on_bot_ready(data, sender))
            return True
        if msg.type == "character-status":
            self._emit(roster.on_character_status(data, sender))
            return True
        if msg.type == "character-removed":
            self._emit(roster.on_character_removed(data, sender))
            return True
        if msg.type == "server-response":
            event_type = protocol.field_str(msg, "event_type") or ""
            if event_type in (TARGET_COMMAND, ROSTER_COMMAND):
                extras = data.get("extras")
                message = data.get("message")
                self._emit(
                    commands.on_server_response(
                        event_type,
                        protocol.field_str(msg, "status") or "unknown",
                        message if isinstance(message, str) else None,
                        extras if isinstance(extras, dict) else None,
                    )
                    or []
                )
            return False  # the session still shows it as a server_response line
        member = roster.attribute(data, sender)
        self._speaker = member.membership_id if member is not None else None
        if member is not None and msg.type in _SPEECH_TYPES:
            self._emit(roster.note_speech(member.membership_id))
        return False

    def speaker(self) -> str | None:
        """The instance the message being handled came from (None: one character, or not
        attributable): the conversation keeps each speaker's turn apart by it."""
        return self._speaker if self.roster is not None else None

    def stamp(self, publish: Callable[[Event], None]) -> Callable[[Event], None]:
        """`publish` with the conversation's events (transcripts, activity, emotions, actions,
        turns) naming the instance they came from."""

        def stamped(event: Event) -> None:
            roster = self.roster
            if roster is not None and isinstance(event, AttributedEvent):
                user = isinstance(event, TranscriptReceived) and event.role == "user"
                mid = roster.active_membership_id if user else self._speaker
                event = dataclasses.replace(event, membership_id=mid)
            publish(event)

        return stamped

    def on_participant(
        self,
        handler: Callable[[str, ParticipantInfo], None],
    ) -> Callable[[str, ParticipantInfo], None]:
        """The transport's participant callback, also binding a character's media to its
        membership (a track arms the short wait for its status)."""

        def call(change: str, info: ParticipantInfo) -> None:
            roster = self.roster
            if roster is not None and change != "left" and info.tracks:
                roster.note_media(info.identity, self._clock(), info.sid or None)
                self._schedule()
                if info.identity in self.locally_muted:
                    self._apply_mute(info.identity)
            handler(change, info)

        return call

    def set_local_mute(self, identity: str, muted: bool) -> None:
        """Mute one character's playback here only: its audio is unsubscribed, so nothing of
        it reaches the speaker, and the other characters (and the room) are unaffected. Kept
        across reconnects (re-applied when its track appears)."""
        (self.locally_muted.add if muted else self.locally_muted.discard)(identity)
        self._apply_mute(identity)

    def _apply_mute(self, identity: str) -> None:
        room = getattr(self._hooks.channel(), "room", None)
        participant = getattr(room, "remote_participants", {}).get(identity)
        if participant is None:
            return
        for publication in list(participant.track_publications.values()):
            if getattr(publication, "kind", None) == _AUDIO_KIND:
                publication.set_subscribed(identity not in self.locally_muted)

    def input_refusal(self) -> str | None:
        """Why user input cannot go to the target now; None in a single-character room."""
        return self.roster.input_refusal() if self.roster is not None else None

    # -- switching the target ----------------------------------------------------------------
    async def set_target(self, spec: str | None) -> str | None:
        """Route input to `spec` (membership id or 1-based position; in a single-character room
        a character id); None clears it. Returns the refusal, or None when the request went out
        (its outcome arrives as events)."""
        roster, commands = self.roster, self.commands
        state = self._hooks.state()
        member = roster.find(spec) if roster is not None and spec is not None else None
        active: str | None
        if roster is None:
            requested, active = spec, self._hooks.settings().character_id
        else:
            requested = member.character_id if member is not None else spec
            active = roster.target.character_id if roster.target is not None else None
        early = rebind_before_send(
            state, multi_character_room=roster is not None, requested=requested, active=active
        )
        if early is not None:
            return self._rebind_early(early, spec)
        assert commands is not None
        mid = member.membership_id if member is not None else spec
        return await self._send_command(commands.set_target(mid))

    def _rebind_early(self, event: RoomRebindStateChanged, spec: str | None) -> str | None:
        self._hooks.publish(event)
        if event.outcome is RebindOutcome.REJECTED_TRANSITION_STATE:
            return f"Cannot switch while the session is {self._hooks.state().value}."
        if spec is None:
            return None
        if event.outcome is RebindOutcome.PENDING_RECONNECT:
            self._switch_character(spec, reconnect=True)
        elif event.outcome is RebindOutcome.DEFERRED_UNTIL_STARTUP:
            if self.roster is None:
                self._switch_character(spec, reconnect=False)
            else:
                self._deferred = spec
        return None

    def _switch_character(self, character_id: str, *, reconnect: bool) -> None:
        """A single-character room cannot change character: the next /connect asks for the new
        one, keeping nothing but the settings (the conversation is not carried over)."""
        hooks = self._hooks
        hooks.use_settings(
            dataclasses.replace(
                hooks.settings(),
                character_id=character_id,
                character_session_id=None,
                character_name=None,
            )
        )
        hooks.lease.start_over()
        if reconnect:
            hooks.resolve(
                Drop(
                    make_error(
                        "session.character_switch",
                        f"Switching to character {character_id}: a new "
                        "/connect (single-character room).",
                    )
                )
            )

    async def update_roster(
        self,
        add: Sequence[CharacterSpec] = (),
        remove: Sequence[str] = (),
        replacement: str | None = None,
    ) -> str | None:
        """Add instances and/or remove memberships; the refusal, or None when sent."""
        if self.commands is None or self._hooks.state() is not SessionState.CONNECTED:
            return "The cast can only change in a connected multi-character room."
        return await self._send_command(self.commands.update_roster(add, remove, replacement))

    async def _send_command(self, result: CommandResult) -> str | None:
        self._emit(list(result.events))
        command = result.command
        if command is None:
            return result.refused
        payload = json.dumps(command.message(), ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8"
        )
        channel = self._hooks.channel()
        if len(payload) > protocol.MAX_PACKET_BYTES or channel is None:
            self._schedule()  # the command times out like a lost one
            return "The command could not be sent (not in a room, or too large)."
        await channel.send(payload)
        self._hooks.publish(
            MessageSent(
                message_type=command.type,
                message_id=command.id,
                summary=json.dumps(command.data)[:120],
            )
        )
        self._schedule()
        return None

    # -- timeouts -------------------------------------------------------------------------
    def _schedule(self) -> None:
        self._cancel_timer()
        if self.roster is None or self.commands is None:
            return
        due = [
            d
            for d in (self.commands.next_deadline(), self.roster.next_media_deadline())
            if d is not None
        ]
        if due:
            delay = max(0.0, min(due) - self._clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._poll_now)

    def _poll_now(self) -> None:
        self._timer = None
        if self.roster is None or self.commands is None:
            return
        events = self.commands.poll() + self.roster.expire_media_waits(self._clock())
        self._emit(events)
        self._schedule()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        self._cancel_timer()

    # -- publishing -----------------------------------------------------------------------
    def _emit(self, events: Sequence[Event]) -> None:
        """Publish, then follow readiness: the session is ready when the initial membership
        is; a failed initial one ends the session with that error."""
        for event in events:
            self._hooks.publish(event)
        roster = self.roster
        if roster is None:
            return
        if roster.is_ready and not self._was_ready:
            self._was_ready = True
            self._hooks.ready()
            if self._deferred is not None:  # a switch asked for before the room existed
                spec, self._deferred = self._deferred, None
                self._pending = asyncio.ensure_future(self.set_target(spec))
        elif roster.initial_failed and not self._was_ready:
            self._was_ready = True
            error = next((e.error for e in events if isinstance(e, ErrorRaised)), None)
            self._hooks.resolve(
                End(
                    SessionState.ERROR, "initial_character_failed", error or _initial_failed(roster)
                )
            )


def _initial_failed(roster: Roster) -> SessionError:
    member = roster.initial
    return make_error(
        "session.initial_character_failed",
        f"Initial character failed to start ({member.failure_code or 'unknown'}).",
    )
