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


class Conversation:
    """Folds the conversation's messages (the types in `routes`) into events."""

    def __init__(self, publish: Callable[[Event], None], metrics: SessionMetrics) -> None:
        self._publish = publish
        self._metrics = metrics
        self._activity = "idle"
        self._turn_id = 0
        self._turn_open = False
        self._reply_chunks: list[str] = []
        self._reply_final_sent = False
        self._last_sent_at: float | None = None
        self._first_text_seen = False
        self._turn_first_text_ms: float | None = None
        self._users = UserLines(publish, lambda: self._turn_id)
        self._frames = {"visemes": 0, "blendshapes": 0}
        self._correlation: dict[str, str | int | None] = {}
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

    def _start_turn(self) -> None:
        if not self._turn_open:
            self._turn_open = True
            self._turn_id += 1
            self._reply_chunks = []
            self._reply_final_sent = False
            self._first_text_seen = False
            self._turn_first_text_ms = None
            self._frames = dict.fromkeys(self._frames, 0)
            self._correlation = {}

    def _end_turn(self) -> None:
        self._turn_open = False
        self.set_activity("listening")

    def _on_llm_started(self, msg: protocol.InboundMessage) -> None:
        if self._users.close():
            self._last_sent_at = time.monotonic()
        self._start_turn()
        self.set_activity("thinking")

    def _on_llm_text(self, msg: protocol.InboundMessage) -> None:
        text = protocol.field_str(msg, "text", required=True) or ""
        self._start_turn()
        if not self._first_text_seen:
            self._first_text_seen = True
            if self._last_sent_at is not None:
                self._turn_first_text_ms = (time.monotonic() - self._last_sent_at) * 1000
                self._metrics.turn_first_text_ms.append(self._turn_first_text_ms)
                self._last_sent_at = None
        self._reply_chunks.append(text)
        self._publish(
            TranscriptReceived(
                role="character",
                text=text,
                final=False,
                full_text="".join(self._reply_chunks),
                turn_id=self._turn_id,
            )
        )

    def _emit_reply_final(self) -> None:
        if self._turn_open and self._reply_chunks and not self._reply_final_sent:
            self._reply_final_sent = True
            full = "".join(self._reply_chunks).strip()
            self._publish(
                TranscriptReceived(
                    role="character", text=full, final=True, full_text=full, turn_id=self._turn_id
                )
            )

    def _on_llm_stopped(self, msg: protocol.InboundMessage) -> None:
        self._emit_reply_final()

    def _on_bot_transcription(self, msg: protocol.InboundMessage) -> None:
        # It repeats the reply already streamed as bot-llm-text; use it only when nothing was in
        # this turn (the last turn's chunks stay until a new turn starts, and are not this one's).
        text = protocol.field_str(msg, "text") or ""
        if not text or (self._turn_open and self._reply_chunks):
            return
        self._start_turn()
        self._reply_chunks.append(text)

    def _on_turn_completed(self, msg: protocol.InboundMessage) -> None:
        # Fields are "omitted when empty" / "included only when set": absent keys are normal.
        interrupted = protocol.field_bool(msg, "was_interrupted", False)
        aborted = protocol.field_bool(msg, "was_aborted", False)
        reason = protocol.field_str(msg, "error_reason")
        self._start_turn()
        self._keep_correlation(msg)
        self._emit_reply_final()
        first = self._turn_first_text_ms
        response_id = self._correlation.get("response_id")
        sequence = self._correlation.get("sequence")
        self._publish(
            TurnCompleted(
                turn_id=self._turn_id,
                was_interrupted=interrupted,
                reply_text="".join(self._reply_chunks).strip(),
                first_text_ms=round(first, 1) if first is not None else None,
                was_aborted=aborted,
                error_reason=reason,
                response_id=response_id if isinstance(response_id, str) else None,
                sequence=sequence if isinstance(sequence, int) else None,
                visemes=self._frames["visemes"],
                blendshapes=self._frames["blendshapes"],
            )
        )
        if aborted:
            self._publish(
                LogRecorded(
                    level="warning",
                    category="turn",
                    message=f"The service aborted turn {self._turn_id}"
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
        self._frames[kind] += len(frames) if chunked and frames is not None else 1

    def _keep_correlation(self, msg: protocol.InboundMessage) -> None:
        for key in ("response_id", "sequence"):
            if msg.data.get(key) is not None:
                self._correlation[key] = (
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
