"""The conversation inside a session: turns, the streaming transcript, what the character is
doing, emotions and actions. It turns inbound RTVI messages into events; the session owns the
connection, this owns the talk.

User lines (interim, merged finals, echoes of typed text) are user_lines.py's. A turn ends
with bot-turn-completed, llm-no-response or a blocked moderation-response; visemes and
blendshape frames are counted per turn, and the turn keeps the server's correlation fields
(response_id, sequence).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from convai_tui.core.api.events import (
    ActionsReceived,
    BotActivityChanged,
    EmotionReceived,
    Event,
    LlmNoResponse,
    LogRecorded,
    ModerationResult,
    TranscriptReceived,
    TurnCompleted,
)
from convai_tui.core.api.metrics import SessionMetrics
from convai_tui.core.conversation.user_lines import UserLines
from convai_tui.core.rtvi import protocol


def ends_turn(event: Event) -> bool:
    """The character's turn is over: completed, declined, or the input was blocked."""
    return isinstance(event, TurnCompleted | LlmNoResponse) or (
        isinstance(event, ModerationResult) and not event.passed
    )


FRAME_TYPES = {
    "visemes": "visemes",
    "neurosync-blendshapes": "blendshapes",
    "chunked-neurosync-blendshapes": "blendshapes",
}
"""Lip-sync streams: counted per turn, never rendered."""


@dataclass
class _Turn:
    """One character's turn: its reply so far, lip-sync frame counts and correlation fields."""

    turn_id: int
    open: bool = True
    chunks: list[str] = field(default_factory=list)
    final_sent: bool = False
    first_text_seen: bool = False
    first_text_ms: float | None = None
    frames: dict[str, int] = field(default_factory=lambda: {"visemes": 0, "blendshapes": 0})
    correlation: dict[str, str | int | None] = field(default_factory=dict)


class Conversation:
    """Folds the conversation's messages (the types in `routes`) into events.

    Turns are kept per speaker (`speaker()`: the room instance the message came from; None with
    one character): in a room the previous target may still be finishing its reply while the
    new target answers, and neither reply may run into the other."""

    def __init__(
        self,
        publish: Callable[[Event], None],
        metrics: SessionMetrics,
        speaker: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._publish = publish
        self._metrics = metrics
        self._speaker = speaker
        self._activity = "idle"
        self._turn_id = 0
        self._turns: dict[str | None, _Turn] = {}
        self._last_sent_at: float | None = None
        self._users = UserLines(publish, lambda: self._turn_id)
        self.routes: protocol.Routes = {
            "bot-llm-started": self._on_llm_started,
            "bot-llm-text": self._on_llm_text,
            "bot-llm-stopped": self._on_llm_stopped,
            "bot-transcription": self._on_bot_transcription,
            "bot-turn-completed": self._on_turn_completed,
            "llm-no-response": self._on_llm_no_response,
            "bot-tts-started": self._on_speaking,
            "bot-started-speaking": self._on_speaking,
            "bot-stopped-speaking": self._on_speaking,
            "user-started-speaking": self._on_user_speaking,
            "user-stopped-speaking": self._on_user_speaking,
            "user-transcription": self._on_user_transcription,
            "final-user-transcription": self._on_user_transcription,
            "bot-emotion": self._on_emotion,
            "action-response": self._on_actions,
            "moderation-response": self._on_moderation,
            **{t: self._on_frames for t in FRAME_TYPES},
        }

    def user_text_sent(self, text: str) -> None:
        """The user typed and sent `text`: show it, time the reply, expect its echo."""
        self._last_sent_at = time.monotonic()
        self._users.typed(text)

    def set_activity(self, activity: str) -> None:
        if activity != self._activity:
            self._activity = activity
            self._publish(BotActivityChanged(activity=activity))

    def _current(self) -> _Turn | None:
        """The speaker's latest turn, open or not."""
        return self._turns.get(self._speaker())

    def _start_turn(self) -> _Turn:
        """The speaker's open turn, begun now if it has none."""
        turn = self._current()
        if turn is None or not turn.open:
            self._turn_id += 1
            turn = self._turns[self._speaker()] = _Turn(self._turn_id)
        return turn

    def _end_turn(self) -> None:
        turn = self._current()
        if turn is not None:
            turn.open = False
        self.set_activity("listening")

    def _on_llm_started(self, msg: protocol.InboundMessage) -> None:
        if self._users.close():
            self._last_sent_at = time.monotonic()
        self._start_turn()
        self.set_activity("thinking")

    def _on_llm_text(self, msg: protocol.InboundMessage) -> None:
        text = protocol.field_str(msg, "text", required=True) or ""
        turn = self._start_turn()
        if not turn.first_text_seen:
            turn.first_text_seen = True
            if self._last_sent_at is not None:
                turn.first_text_ms = (time.monotonic() - self._last_sent_at) * 1000
                self._metrics.turn_first_text_ms.append(turn.first_text_ms)
                self._last_sent_at = None
        turn.chunks.append(text)
        self._publish(
            TranscriptReceived(
                role="character",
                text=text,
                final=False,
                full_text="".join(turn.chunks),
                turn_id=turn.turn_id,
            )
        )

    def _emit_reply_final(self) -> None:
        turn = self._current()
        if turn is not None and turn.open and turn.chunks and not turn.final_sent:
            turn.final_sent = True
            full = "".join(turn.chunks).strip()
            self._publish(
                TranscriptReceived(
                    role="character", text=full, final=True, full_text=full, turn_id=turn.turn_id
                )
            )

    def _on_llm_stopped(self, msg: protocol.InboundMessage) -> None:
        self._emit_reply_final()

    def _on_bot_transcription(self, msg: protocol.InboundMessage) -> None:
        # It repeats the reply already streamed as bot-llm-text; use it only when nothing was in
        # this turn (the last turn's chunks stay until a new turn starts, and are not this one's).
        text = protocol.field_str(msg, "text") or ""
        turn = self._current()
        if not text or (turn is not None and turn.open and turn.chunks):
            return
        self._start_turn().chunks.append(text)

    def _on_turn_completed(self, msg: protocol.InboundMessage) -> None:
        # Fields are "omitted when empty" / "included only when set": absent keys are normal.
        interrupted = protocol.field_bool(msg, "was_interrupted", False)
        aborted = protocol.field_bool(msg, "was_aborted", False)
        reason = protocol.field_str(msg, "error_reason")
        turn = self._start_turn()
        self._keep_correlation(msg)
        self._emit_reply_final()
        first = turn.first_text_ms
        response_id = turn.correlation.get("response_id")
        sequence = turn.correlation.get("sequence")
        self._publish(
            TurnCompleted(
                turn_id=turn.turn_id,
                was_interrupted=interrupted,
                reply_text="".join(turn.chunks).strip(),
                first_text_ms=round(first, 1) if first is not None else None,
                was_aborted=aborted,
                error_reason=reason,
                response_id=response_id if isinstance(response_id, str) else None,
                sequence=sequence if isinstance(sequence, int) else None,
                visemes=turn.frames["visemes"],
                blendshapes=turn.frames["blendshapes"],
            )
        )
        if aborted:
            self._publish(
                LogRecorded(
                    level="warning",
                    category="turn",
                    message=f"The service aborted turn {turn.turn_id}"
                    f"{f' ({reason})' if reason else ''}.",
                )
            )
        self._end_turn()

    def _on_llm_no_response(self, msg: protocol.InboundMessage) -> None:
        self._users.close()
        self._publish(LlmNoResponse(reason=protocol.field_str(msg, "reason")))
        self._end_turn()

    def _on_moderation(self, msg: protocol.InboundMessage) -> None:
        passed = protocol.field_bool(msg, "result", True)
        if not passed:
            self._users.close()
        self._publish(
            ModerationResult(
                passed=passed,
                user_input=protocol.field_str(msg, "user_input"),
                reason=protocol.field_str(msg, "reason"),
            )
        )
        if not passed:  # blocked: no reply will come, so the turn (and "thinking") ends here
            self._end_turn()

    def _on_frames(self, msg: protocol.InboundMessage) -> None:
        kind = FRAME_TYPES[msg.type]
        frames = msg.data.get("blendshapes")
        chunked = msg.type.startswith("chunked") and isinstance(frames, list)
        turn = self._current()
        if turn is not None:  # frames before any turn, or after the last one ended, count nowhere
            turn.frames[kind] += len(frames) if chunked and frames is not None else 1

    def _keep_correlation(self, msg: protocol.InboundMessage) -> None:
        turn = self._current()
        if turn is None:
            return
        for key in ("response_id", "sequence"):
            if msg.data.get(key) is not None:
                turn.correlation[key] = (
                    protocol.field_str(msg, key)
                    if key == "response_id"
                    else protocol.field_int(msg, key)
                )

    def _on_speaking(self, msg: protocol.InboundMessage) -> None:
        self._keep_correlation(msg)
        self.set_activity(
            "speaking" if msg.type in ("bot-started-speaking", "bot-tts-started") else "listening"
        )

    def _on_user_speaking(self, msg: protocol.InboundMessage) -> None:
        self.set_activity("listening" if msg.type == "user-started-speaking" else "thinking")

    def _on_user_transcription(self, msg: protocol.InboundMessage) -> None:
        if self._users.handle(msg):
            self._last_sent_at = time.monotonic()

    def _on_emotion(self, msg: protocol.InboundMessage) -> None:
        emotion = protocol.field_str(msg, "emotion") or "neutral"
        self._publish(EmotionReceived(emotion=emotion, scale=protocol.field_int(msg, "scale")))

    def _on_actions(self, msg: protocol.InboundMessage) -> None:
        names = protocol.action_names(msg)
        if names:
            self._publish(ActionsReceived(actions=names))
