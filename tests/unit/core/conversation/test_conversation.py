"""The conversation tracker on its own: turns, the streamed reply, echo suppression."""

from convai_tui.core.api import events as ev
from convai_tui.core.api.metrics import SessionMetrics
from convai_tui.core.conversation.conversation import Conversation, ends_turn
from convai_tui.core.rtvi import protocol


def msg(t: str, **data: object) -> protocol.InboundMessage:
    return protocol.InboundMessage(t, dict(data), wrapped=False)


def feed(conv: Conversation, m: protocol.InboundMessage) -> None:
    """What the session's routing table does with a conversation message."""
    conv.routes[m.type](m)


def make() -> tuple[Conversation, list[ev.Event], SessionMetrics]:
    out: list[ev.Event] = []
    metrics = SessionMetrics()
    return Conversation(out.append, metrics), out, metrics


def test_other_types_are_not_handled() -> None:
    conv, out, _ = make()
    assert "bot-ready" not in conv.routes
    assert "server-response" not in conv.routes
    assert out == []


def test_two_turns_number_and_complete_in_order() -> None:
    conv, out, metrics = make()
    for reply in ("one", "two"):
        conv.user_text_sent(f"say {reply}")
        feed(conv, msg("bot-llm-started"))
        feed(conv, msg("bot-llm-text", text=reply))
        feed(conv, msg("bot-turn-completed", was_interrupted=False))
    done = [e for e in out if isinstance(e, ev.TurnCompleted)]
    assert [(d.turn_id, d.reply_text) for d in done] == [(1, "one"), (2, "two")]
    finals = [
        e.text
        for e in out
        if isinstance(e, ev.TranscriptReceived) and e.final and e.role == "character"
    ]
    assert finals == ["one", "two"]
    assert len(metrics.turn_first_text_ms) == 2


def test_two_characters_replying_at_once_keep_their_turns_apart() -> None:
    # In a room the previous target can still be finishing its reply (its bot-turn-completed
    # comes after its speech) when the new target answers: seen as Bo's reply streamed into
    # Ada's line, and Bo's turn completing with no text.
    out: list[ev.Event] = []
    speaking: list[str | None] = ["ada"]
    conv = Conversation(out.append, SessionMetrics(), speaker=lambda: speaking[0])

    def from_(who: str, m: protocol.InboundMessage) -> None:
        speaking[0] = who
        feed(conv, m)

    from_("ada", msg("bot-llm-started"))
    from_("ada", msg("bot-llm-text", text="I'm Ada."))
    from_("ada", msg("bot-llm-stopped"))
    from_("bo", msg("bot-llm-started"))
    from_("bo", msg("bot-llm-text", text="Bo "))
    from_("bo", msg("bot-llm-text", text="here."))
    from_("ada", msg("bot-turn-completed"))
    from_("bo", msg("bot-llm-stopped"))
    from_("bo", msg("bot-turn-completed"))
    chunks = [e for e in out if isinstance(e, ev.TranscriptReceived) and not e.final]
    assert [(c.turn_id, c.full_text) for c in chunks] == [
        (1, "I'm Ada."),
        (2, "Bo "),
        (2, "Bo here."),
    ]
    done = [(d.turn_id, d.reply_text) for d in out if isinstance(d, ev.TurnCompleted)]
    assert done == [(1, "I'm Ada."), (2, "Bo here.")]


def test_bot_transcription_only_fills_a_turn_without_llm_text() -> None:
    conv, out, _ = make()
    feed(conv, msg("bot-transcription", text="spoken only"))
    feed(conv, msg("bot-turn-completed"))
    done = [e for e in out if isinstance(e, ev.TurnCompleted)]
    assert done[0].reply_text == "spoken only"


def test_a_reply_that_comes_only_as_bot_transcription_is_kept_on_every_turn() -> None:
    conv, events, _ = make()
    for text in ("first reply", "second reply", "third reply"):
        feed(conv, msg("bot-transcription", text=text))
        feed(conv, msg("bot-turn-completed"))
    replies = [e.reply_text for e in events if isinstance(e, ev.TurnCompleted)]
    assert replies == ["first reply", "second reply", "third reply"]


def test_voice_transcripts_dedupe_interim_and_final() -> None:
    conv, out, _ = make()
    feed(conv, msg("user-transcription", text="hel", final=False))
    feed(conv, msg("user-transcription", text="hello", final=True))
    feed(conv, msg("final-user-transcription", text="hello"))
    users = [(e.full_text, e.final) for e in out if isinstance(e, ev.TranscriptReceived)]
    # The interim and the segment's final update one live line; the utterance's final is
    # the one line shown.
    assert users == [("hel", False), ("hello", False), ("hello", True)]


def test_one_line_per_utterance_finals_merge_and_a_repeat_is_not_shown_twice() -> None:
    conv, out, _ = make()
    feed(conv, msg("user-transcription", text="go grab", final=False))
    feed(conv, msg("user-transcription", text="Go grab the cube.", final=True))
    feed(conv, msg("user-transcription", text="then", final=False))
    feed(conv, msg("user-transcription", text="Then wave!", final=True))
    feed(
        conv,
        msg("final-user-transcription", text="Go grab the cube. Then wave!", speaker_name="Alice"),
    )
    feed(conv, msg("final-user-transcription", text="go grab the cube, then wave"))
    feed(conv, msg("bot-llm-started"))
    lines = [e for e in out if isinstance(e, ev.TranscriptReceived) and e.role == "user"]
    assert [e.full_text for e in lines if not e.final] == [
        "go grab",
        "Go grab the cube.",
        "Go grab the cube. then",
        "Go grab the cube. Then wave!",
    ]
    finals = [(e.text, e.speaker) for e in lines if e.final]
    assert finals == [("Go grab the cube. Then wave!", "Alice")]


def test_segments_without_a_final_user_transcription_end_at_the_reply() -> None:
    conv, out, _ = make()
    feed(conv, msg("user-transcription", text="one", final=True, user_id="u"))
    feed(conv, msg("user-transcription", text="two", final=True))
    feed(conv, msg("bot-llm-started"))
    finals = [e.text for e in out if isinstance(e, ev.TranscriptReceived) and e.final]
    assert finals == ["one two"]


def test_an_utterance_heard_only_as_interim_pieces_still_gets_its_user_line() -> None:
    conv, out, _ = make()
    feed(conv, msg("user-transcription", text="[speech", final=False))
    feed(conv, msg("user-transcription", text="[speech 3: 1.2", final=False))
    feed(conv, msg("bot-llm-started"))
    finals = [e.text for e in out if isinstance(e, ev.TranscriptReceived) and e.final]
    assert finals == ["[speech 3: 1.2"]
    feed(conv, msg("bot-llm-started"))  # nothing pending: no second line
    assert len([e for e in out if isinstance(e, ev.TranscriptReceived) and e.final]) == 1


def test_three_numbered_utterances_of_one_length_give_three_user_lines() -> None:
    conv, out, _ = make()
    for n in (1, 2, 3):
        text = f"[speech {n}: 1.2 s]"
        feed(conv, msg("user-transcription", text=text, final=True))
        feed(conv, msg("final-user-transcription", text=text))
        feed(conv, msg("bot-llm-started"))
        feed(conv, msg("bot-llm-stopped"))
    finals = [e.text for e in out if isinstance(e, ev.TranscriptReceived) and e.final]
    assert [t for t in finals if t.startswith("[speech")] == [
        "[speech 1: 1.2 s]",
        "[speech 2: 1.2 s]",
        "[speech 3: 1.2 s]",
    ]


def test_typed_echo_is_suppressed_whatever_its_punctuation() -> None:
    conv, out, _ = make()
    conv.user_text_sent("hello there")
    feed(conv, msg("user-transcription", text="Hello there.", final=True))
    feed(conv, msg("final-user-transcription", text="hello, there"))
    feed(conv, msg("bot-llm-started"))
    users = [e for e in out if isinstance(e, ev.TranscriptReceived) and e.role == "user"]
    assert [(e.text, e.final) for e in users] == [("hello there", True)]


def test_blocked_moderation_ends_the_turn() -> None:
    conv, out, _ = make()
    conv.user_text_sent("bad word")
    feed(conv, msg("user-stopped-speaking"))
    feed(
        conv,
        msg(
            "moderation-response",
            result=False,
            user_input="bad word",
            reason="Inappropriate language",
        ),
    )
    verdict = next(e for e in out if isinstance(e, ev.ModerationResult))
    assert (verdict.passed, verdict.reason) == (False, "Inappropriate language")
    assert ends_turn(verdict)
    activity = [e.activity for e in out if isinstance(e, ev.BotActivityChanged)]
    assert activity[-1] == "listening"
    passed = msg("moderation-response", result=True, user_input="fine", reason=None)
    feed(conv, passed)
    assert not ends_turn(out[-1])


def test_turn_completed_keeps_abort_correlation_and_frame_counts() -> None:
    conv, out, _ = make()
    feed(conv, msg("bot-llm-started"))
    feed(conv, msg("bot-started-speaking", label="rtvi-ai", response_id="s:r4", sequence=3))
    feed(conv, msg("visemes", visemes={"aa": 0.2}))
    feed(conv, msg("visemes", visemes={"aa": 0.1}))
    feed(conv, msg("chunked-neurosync-blendshapes", blendshapes=[[0.0], [0.1], [0.2]]))
    feed(
        conv,
        msg(
            "bot-turn-completed",
            was_interrupted=False,
            was_aborted=True,
            error_reason="audio_delivery_failed",
        ),
    )
    done = next(e for e in out if isinstance(e, ev.TurnCompleted))
    assert (done.was_aborted, done.error_reason) == (True, "audio_delivery_failed")
    assert (done.response_id, done.sequence, done.visemes, done.blendshapes) == ("s:r4", 3, 2, 3)
    warnings = [e for e in out if isinstance(e, ev.LogRecorded) and e.level == "warning"]
    assert warnings and "audio_delivery_failed" in warnings[0].message
    # A plain completion: the optional keys are absent and that is normal.
    feed(conv, msg("bot-turn-completed", was_interrupted=False))
    plain = [e for e in out if isinstance(e, ev.TurnCompleted)][-1]
    assert not plain.was_aborted and plain.response_id is None and plain.visemes == 0


def test_activity_changes_are_published_once() -> None:
    conv, out, _ = make()
    feed(conv, msg("bot-llm-started"))
    feed(conv, msg("bot-llm-started"))
    feed(conv, msg("bot-started-speaking"))
    feed(conv, msg("bot-stopped-speaking"))
    activity = [e.activity for e in out if isinstance(e, ev.BotActivityChanged)]
    assert activity == ["thinking", "speaking", "listening"]
