"""The conversation tracker on its own: turns, the streamed reply, echo suppression."""

from convai_tui.core import events as ev
from convai_tui.core import protocol
from convai_tui.core.conversation import Conversation
from convai_tui.core.metrics import SessionMetrics


def msg(t: str, **data: object) -> protocol.InboundMessage:
    return protocol.InboundMessage(t, dict(data), wrapped=False)


def make() -> tuple[Conversation, list[ev.Event], SessionMetrics]:
    out: list[ev.Event] = []
    metrics = SessionMetrics()
    return Conversation(out.append, metrics), out, metrics


def test_other_types_are_not_handled() -> None:
    conv, out, _ = make()
    assert not conv.handle(msg("bot-ready"))
    assert out == []


def test_two_turns_number_and_complete_in_order() -> None:
    conv, out, metrics = make()
    for reply in ("one", "two"):
        conv.user_text_sent(f"say {reply}")
        conv.handle(msg("bot-llm-started"))
        conv.handle(msg("bot-llm-text", text=reply))
        conv.handle(msg("bot-turn-completed", was_interrupted=False))
    done = [e for e in out if isinstance(e, ev.TurnCompleted)]
    assert [(d.turn_id, d.reply_text) for d in done] == [(1, "one"), (2, "two")]
    finals = [e.text for e in out if isinstance(e, ev.TranscriptReceived) and e.final
              and e.role == "character"]
    assert finals == ["one", "two"]
    assert len(metrics.turn_first_text_ms) == 2


def test_bot_transcription_only_fills_a_turn_without_llm_text() -> None:
    conv, out, _ = make()
    conv.handle(msg("bot-transcription", text="spoken only"))
    conv.handle(msg("bot-turn-completed"))
    done = [e for e in out if isinstance(e, ev.TurnCompleted)]
    assert done[0].reply_text == "spoken only"


def test_voice_transcripts_dedupe_interim_and_final() -> None:
    conv, out, _ = make()
    conv.handle(msg("user-transcription", text="hel", final=False))
    conv.handle(msg("user-transcription", text="hello", final=True))
    conv.handle(msg("final-user-transcription", text="hello"))
    users = [(e.text, e.final) for e in out if isinstance(e, ev.TranscriptReceived)]
    assert users == [("hel", False), ("hello", True)]


def test_activity_changes_are_published_once() -> None:
    conv, out, _ = make()
    conv.handle(msg("bot-llm-started"))
    conv.handle(msg("bot-llm-started"))
    conv.handle(msg("bot-started-speaking"))
    conv.handle(msg("bot-stopped-speaking"))
    activity = [e.activity for e in out if isinstance(e, ev.BotActivityChanged)]
    assert activity == ["thinking", "speaking", "listening"]
