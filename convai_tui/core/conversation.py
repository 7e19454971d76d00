"""The conversation inside a session: turns, the streaming transcript, what the character is
doing, emotions and actions. It turns inbound RTVI messages into events; the session owns the
connection, this owns the talk.

Typed text comes back from the server as an echo (user-transcription and
final-user-transcription with the same text); like Unity's RTVIHandler, echoes within
TYPED_ECHO_WINDOW_S of sending are suppressed so each user line appears once.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from convai_tui.core import protocol
from convai_tui.core.events import (
    ActionsReceived,
    BotActivityChanged,
    EmotionReceived,
    Event,
    LlmNoResponse,
    TranscriptReceived,
    TurnCompleted,
)
from convai_tui.core.metrics import SessionMetrics

TYPED_ECHO_WINDOW_S = 3.0  # Unity's TypedEchoSuppressionWindowSeconds


class Conversation:
    """Folds conversation messages into events; `handle` returns False for other types."""

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
        self._typed: deque[tuple[str, float]] = deque(maxlen=8)
        self._last_user_final: tuple[str, float] | None = None
        self._handlers: dict[str, Callable[[protocol.InboundMessage], None]] = {
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
        }

    def handle(self, msg: protocol.InboundMessage) -> bool:
        handler = self._handlers.get(msg.type)
        if handler is None:
            return False
        handler(msg)
        return True

    def user_text_sent(self, text: str) -> None:
        """The user typed and sent `text`: show it, time the reply, expect its echo."""
        now = time.monotonic()
        self._typed.append((text, now))
        self._last_sent_at = now
        self._publish(TranscriptReceived(role="user", text=text, final=True, full_text=text,
                                         turn_id=self._turn_id + 1))

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

    def _on_llm_started(self, msg: protocol.InboundMessage) -> None:
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
        self._publish(TranscriptReceived(role="character", text=text, final=False,
                                         full_text="".join(self._reply_chunks),
                                         turn_id=self._turn_id))

    def _emit_reply_final(self) -> None:
        if self._turn_open and self._reply_chunks and not self._reply_final_sent:
            self._reply_final_sent = True
            full = "".join(self._reply_chunks).strip()
            self._publish(TranscriptReceived(role="character", text=full, final=True,
                                             full_text=full, turn_id=self._turn_id))

    def _on_llm_stopped(self, msg: protocol.InboundMessage) -> None:
        self._emit_reply_final()

    def _on_bot_transcription(self, msg: protocol.InboundMessage) -> None:
        # It repeats the reply already streamed as bot-llm-text; use it only when nothing was.
        text = protocol.field_str(msg, "text") or ""
        if text and not self._reply_chunks:
            self._start_turn()
            self._reply_chunks.append(text)

    def _on_turn_completed(self, msg: protocol.InboundMessage) -> None:
        interrupted = protocol.field_bool(msg, "was_interrupted", False)
        self._start_turn()
        self._emit_reply_final()
        first = self._turn_first_text_ms
        self._publish(TurnCompleted(turn_id=self._turn_id, was_interrupted=interrupted,
                                    reply_text="".join(self._reply_chunks).strip(),
                                    first_text_ms=round(first, 1) if first is not None else None))
        self._turn_open = False
        self.set_activity("listening")

    def _on_llm_no_response(self, msg: protocol.InboundMessage) -> None:
        self._publish(LlmNoResponse(reason=protocol.field_str(msg, "reason")))
        self._turn_open = False
        self.set_activity("listening")

    def _on_speaking(self, msg: protocol.InboundMessage) -> None:
        self.set_activity("speaking" if msg.type in ("bot-started-speaking", "bot-tts-started")
                          else "listening")

    def _on_user_speaking(self, msg: protocol.InboundMessage) -> None:
        self.set_activity("listening" if msg.type == "user-started-speaking" else "thinking")

    def _on_user_transcription(self, msg: protocol.InboundMessage) -> None:
        text = (protocol.field_str(msg, "text", required=True) or "").strip()
        final = msg.type == "final-user-transcription" or protocol.field_bool(msg, "final", False)
        if not text or self._is_typed_echo(text):
            return
        now = time.monotonic()
        if final:
            last = self._last_user_final
            if last is not None and last[0] == text and now - last[1] < TYPED_ECHO_WINDOW_S:
                return
            self._last_user_final = (text, now)
            self._last_sent_at = now
        self._publish(TranscriptReceived(role="user", text=text, final=final, full_text=text,
                                         turn_id=self._turn_id + 1))

    def _is_typed_echo(self, text: str) -> bool:
        now = time.monotonic()
        return any(t == text and now - at < TYPED_ECHO_WINDOW_S for t, at in self._typed)

    def _on_emotion(self, msg: protocol.InboundMessage) -> None:
        emotion = protocol.field_str(msg, "emotion") or "neutral"
        self._publish(EmotionReceived(emotion=emotion, scale=protocol.field_int(msg, "scale")))

    def _on_actions(self, msg: protocol.InboundMessage) -> None:
        names = protocol.action_names(msg)
        if names:
            self._publish(ActionsReceived(actions=names))
