"""What one turn and one session came to, and the class each turn gets.

Classes (the names are a contract): pass, sla_miss, timeout, connection_error,
behavior_mismatch, interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from convai_tui.eval.scenario import Turn

CLASSES = (
    "pass",
    "sla_miss",
    "timeout",
    "connection_error",
    "behavior_mismatch",
    "interrupted",
)
TIMING_FIELDS = (
    "sent_to_first_text_ms",
    "sent_to_first_audio_ms",
    "user_stop_to_speech_ms",
    "total_ms",
)
"""The turn_timing figures a turn keeps when the event carries them."""
INPUT_BUCKETS = {"say": "text", "context": "text", "audio": "voice", "trigger": "trigger"}


@dataclass
class TurnOutcome:
    """What was observed while one turn ran (filled in by the session driver)."""

    ended: str | None = None
    """completed | no_response | blocked | session_ended; None: nothing ended it in time."""
    reply_text: str = ""
    audio: bool = False
    turn_id: int | None = None
    server_turn_id: str | None = None
    """turn_timing's turn_id (from the server's turn-trace), when the event carries one."""
    was_interrupted: bool = False
    error_code: str | None = None
    detail: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class TurnResult:
    session: int
    turn: int
    kind: str
    text: str
    expect: str
    klass: str
    bucket: str
    sla_ms: float
    total_ms: float | None
    figures: dict[str, Any]
    reply_text: str = ""
    audio: bool = False
    turn_id: int | str | None = None
    """The server's turn id when turn_timing gives one, else bot-turn-completed's number."""
    code: str | None = None
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "turn": self.turn,
            "input": self.kind,
            "text": self.text,
            "expect": self.expect,
            "class": self.klass,
            "bucket": self.bucket,
            "sla_ms": self.sla_ms,
            "total_ms": self.total_ms,
            "figures": self.figures,
            "reply_text": self.reply_text,
            "audio": self.audio,
            "turn_id": self.turn_id,
            "code": self.code,
            "detail": self.detail,
        }


@dataclass
class SessionResult:
    index: int
    repeat: int
    session_id: str | None = None
    character_session_id: str | None = None
    error_code: str | None = None
    turns: list[TurnResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "repeat": self.repeat,
            "session_id": self.session_id,
            "character_session_id": self.character_session_id,
            "error_code": self.error_code,
            "turns": [t.to_json() for t in self.turns],
        }


def bucket(turn: Turn, outcome: TurnOutcome) -> str:
    """input→output: text, voice or trigger in; voice, text or none out."""
    out = "voice" if outcome.audio else "text" if outcome.reply_text else "none"
    return f"{INPUT_BUCKETS[turn.kind]}->{out}"


def total_ms(turn: Turn, outcome: TurnOutcome) -> float | None:
    """The figure the SLA is held against: turn_timing's total when it gives one; else, for a
    voice turn, the user stopped speaking → the character started speaking; else sent → the
    character's voice (when a voice came), or sent → its first text."""
    figures = outcome.figures
    if figures.get("total_ms") is not None:
        return float(figures["total_ms"])
    if turn.voice and figures.get("user_stop_to_speech_ms") is not None:
        return float(figures["user_stop_to_speech_ms"])
    if outcome.audio and figures.get("sent_to_first_audio_ms") is not None:
        return float(figures["sent_to_first_audio_ms"])
    first_text = figures.get("sent_to_first_text_ms")
    return None if first_text is None else float(first_text)


def classify(turn: Turn, outcome: TurnOutcome, sla_ms: float) -> tuple[str, str | None]:
    """The turn's class and, for a failure, why in a few words."""
    if outcome.ended == "session_ended" or outcome.error_code is not None:
        return "connection_error", outcome.detail or "the session ended during the turn"
    replied = bool(outcome.reply_text) or outcome.audio
    if turn.expect == "no_response":
        if replied:
            return "behavior_mismatch", "expected no response, the character replied"
        return "pass", None
    if outcome.ended is None:
        started = replied or outcome.figures.get("sent_to_first_text_ms") is not None
        if started:
            return "timeout", "the reply started but never ended"
        return "timeout", f"no reply within {3 * sla_ms:g} ms"
    if outcome.was_interrupted:
        return "interrupted", "the reply was interrupted"
    if turn.expect == "abstain":
        if outcome.ended != "no_response":
            return "behavior_mismatch", "expected the character to abstain, it replied"
        return "pass", None
    if outcome.ended in ("no_response", "blocked") or not replied:
        return "behavior_mismatch", f"expected a response, got {outcome.ended or 'none'}"
    if turn.expect == "respond_with_audio" and not outcome.audio:
        return "behavior_mismatch", "expected a spoken response, no audio came"
    missing = [w for w in turn.contains if w.lower() not in outcome.reply_text.lower()]
    if missing:
        return "behavior_mismatch", f"the reply lacks {', '.join(missing)}"
    total = total_ms(turn, outcome)
    if total is not None and total > sla_ms:
        return "sla_miss", f"{total:g} ms over the {sla_ms:g} ms target"
    return "pass", None


def turn_result(session: int, turn: Turn, outcome: TurnOutcome, sla_ms: float) -> TurnResult:
    klass, detail = classify(turn, outcome, sla_ms)
    return TurnResult(
        session=session,
        turn=turn.index + 1,
        kind=turn.kind,
        text=turn.text,
        expect=turn.expect,
        klass=klass,
        bucket=bucket(turn, outcome),
        sla_ms=sla_ms,
        total_ms=total_ms(turn, outcome),
        figures=dict(outcome.figures),
        reply_text=outcome.reply_text,
        audio=outcome.audio,
        turn_id=outcome.server_turn_id or outcome.turn_id,
        code=outcome.error_code,
        detail=detail,
    )


def connection_failed(session: int, turn: Turn, sla_ms: float, code: str, why: str) -> TurnResult:
    """A turn the session never got to play (it could not connect, or dropped before)."""
    return TurnResult(
        session=session,
        turn=turn.index + 1,
        kind=turn.kind,
        text=turn.text,
        expect=turn.expect,
        klass="connection_error",
        bucket=f"{INPUT_BUCKETS[turn.kind]}->none",
        sla_ms=sla_ms,
        total_ms=None,
        figures={},
        code=code,
        detail=why,
    )
