"""The turn waterfall on a scripted clock: parts add up, server stages replace arrival deltas,
voice turns start at the microphone's end of speech, cut-short turns say so."""

from __future__ import annotations

from typing import Any

from convai_tui.core.api.events import Event, TurnTimed
from convai_tui.core.conversation.turn_timing import TurnTimer


class Script:
    def __init__(self, **kwargs: Any) -> None:
        self.events: list[Event] = []
        self.now = 0.0
        self.timer = TurnTimer(self.events.append, clock=lambda: self.now, **kwargs)

    def at(self, t: float, msg: str | None = None, **data: Any) -> None:
        self.now = t
        if msg:
            self.timer.message(msg, data)

    @property
    def timed(self) -> list[TurnTimed]:
        return [e for e in self.events if isinstance(e, TurnTimed)]


def _typed_turn(s: Script, base: float = 10.0) -> None:
    s.at(base)
    s.timer.sent()
    s.at(base + 0.05, "user-stopped-speaking")
    s.at(base + 0.10, "bot-llm-started")
    s.at(base + 0.50, "bot-llm-text")
    s.at(base + 0.60, "bot-tts-started")
    s.at(base + 0.85, "bot-started-speaking")
    s.timer.audio_received(base + 0.87)
    s.timer.played(base + 0.95)


def _parts(t: TurnTimed) -> list[tuple[str, float, str, str]]:
    return [(p["name"], p["ms"], p["owner"], p["source"]) for p in t.segments]


def test_typed_turn_from_arrivals_adds_up_to_the_first_sound_played() -> None:
    s = Script()
    _typed_turn(s)
    s.at(12.0, "bot-turn-completed", was_interrupted=False)
    [t] = s.timed
    assert (t.input, t.end, t.total_ms, t.outcome, t.server) == (
        "text",
        "played",
        950.0,
        "completed",
        None,
    )
    assert _parts(t) == [
        ("input", 50.0, "network", "measured"),
        ("llm_wait", 50.0, "server", "measured"),
        ("llm", 400.0, "server", "measured"),
        ("text_to_tts", 100.0, "server", "measured"),
        ("tts", 250.0, "server", "measured"),
        ("audio_transport", 20.0, "network", "measured"),
        ("playout", 80.0, "client", "measured"),
    ]
    assert sum(p["ms"] for p in t.segments) == t.total_ms
    assert (t.sla_ms, t.over_sla) == (1200, False)


def test_turn_trace_stages_replace_arrivals_and_the_rest_is_estimated_network() -> None:
    s = Script(expect_trace=True)
    _typed_turn(s)
    s.at(12.0, "bot-turn-completed")
    assert s.timed == []  # waits for the trace
    trace = {"turn_id": "t-1", "segments_ms": {"llm": 380.0, "tts": 240.0, "memory": 5}}
    s.at(12.1, "turn-trace", **trace)
    [t] = s.timed
    assert t.turn_id == "t-1" and t.server == trace
    named = {p["name"]: p for p in t.segments}
    assert (named["llm"]["ms"], named["llm"]["source"]) == (380.0, "server")
    assert (named["tts"]["ms"], named["tts"]["source"]) == (240.0, "server")
    assert (named["network"]["ms"], named["network"]["source"]) == (30.0, "estimated")
    assert "memory" not in named  # a stage with no place on the client's timeline is not drawn
    assert round(sum(p["ms"] for p in t.segments), 1) == t.total_ms


def test_a_waiting_turn_is_published_without_trace_when_the_next_one_starts() -> None:
    s = Script(expect_trace=True)
    _typed_turn(s)
    s.at(12.0, "bot-turn-completed")
    s.at(13.0)
    s.timer.sent()
    [t] = s.timed
    assert t.server is None and t.total_ms == 950.0


def test_voice_turn_starts_at_the_mic_end_of_speech_and_blames_the_vad_wait_on_the_setting() -> (
    None
):
    s = Script(vad_stop_s=0.3)
    s.timer.speech_ended(20.0)
    s.at(20.5, "user-stopped-speaking")
    s.at(20.55, "final-user-transcription", text="hi")
    s.at(20.6, "bot-llm-started")
    s.at(21.0, "bot-llm-text")
    s.at(21.2, "bot-started-speaking")
    s.at(22.0, "bot-turn-completed")
    [t] = s.timed
    assert (t.input, t.total_ms, t.end, t.sla_ms) == ("voice", 1200.0, "received", 3000)
    assert _parts(t)[:4] == [
        ("vad_stop_wait", 300.0, "setting", "estimated"),
        ("end_of_turn", 200.0, "server", "measured"),
        ("asr", 50.0, "server", "measured"),
        ("llm_wait", 50.0, "server", "measured"),
    ]
    assert t.user_stop_to_speech_ms == 700.0  # the original figure: server arrivals only


def test_a_turn_cut_short_by_the_next_input_is_interrupted_not_slow() -> None:
    s = Script()
    _typed_turn(s)
    s.at(11.5)
    s.timer.sent()
    s.at(11.6, "bot-llm-started")
    s.at(11.7, "bot-turn-completed", was_interrupted=True)
    [first] = s.timed  # the second turn measured nothing: no line
    assert first.outcome == "interrupted"


def test_missing_marks_merge_into_the_next_part_and_nothing_is_invented() -> None:
    s = Script()
    s.at(1.0)
    s.timer.sent()
    s.at(1.8, "bot-started-speaking")
    s.at(2.0, "bot-turn-completed")
    [t] = s.timed
    assert _parts(t) == [("tts", 800.0, "server", "measured")]
    assert t.end == "received"


def test_trace_matched_by_turn_id_and_canceled_turns_say_so() -> None:
    s = Script(expect_trace=True)
    _typed_turn(s)
    s.at(11.0, "turn-trace", turn_id="a", segments_ms={}, was_canceled=True)
    s.at(12.0, "bot-turn-completed")
    [t] = s.timed
    assert (t.turn_id, t.outcome) == ("a", "canceled")


def test_sound_before_its_announcement_still_closes_the_waterfall() -> None:
    s = Script()
    s.at(1.0)
    s.timer.sent()
    s.at(1.2, "bot-llm-text")
    s.timer.mark("audio_received", 1.5)
    s.timer.mark("played", 1.55)
    s.at(1.6, "bot-started-speaking")  # the data message lags the audio
    s.at(2.0, "bot-turn-completed")
    [t] = s.timed
    assert (t.end, t.total_ms) == ("played", 550.0)
    assert _parts(t) == [
        ("llm", 200.0, "server", "measured"),
        ("audio_transport", 300.0, "network", "measured"),
        ("playout", 50.0, "client", "measured"),
    ]
    assert t.sent_to_first_audio_ms == 600.0  # the original figure is still the message's arrival
