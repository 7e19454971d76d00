"""The scenario file: a good one parses; a bad one gives one error naming its line and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convai_tui.audio.dsp.wav import write_wav_mono
from convai_tui.core.rtvi.controls import ControlRequest
from convai_tui.eval.scenario import SLA_TEXT_MS, SLA_VOICE_MS, ScenarioError, load_scenario

GOOD = """\
name = "greeting and directions"
character_id = "abc"
sla_text_ms = 1000
[connect]
emotion = true
[[turns]]
say = "hello"
expect = "respond"
[[turns]]
audio = "clips/where.wav"
expect = "respond_with_audio"
[[turns]]
trigger = "greet"
expect = "respond"
contains = ["hello"]
[[turns]]
context = "the user is a nurse:append"
expect = "no_response"
"""


def _stereo_wav(path: Path, rate: int = 16_000) -> None:
    """A 16 kHz stereo clip written by hand (the reader must average and resample it)."""
    import wave

    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(rate // 2) / rate
    left = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    frames = np.stack([left, left], axis=1).tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def test_a_good_scenario_parses_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    _stereo_wav(tmp_path / "clips" / "where.wav")
    scenario = load_scenario(_write(tmp_path, GOOD))
    assert scenario.name == "greeting and directions"
    assert scenario.character_id == "abc"
    assert scenario.connect == {"emotion": True}
    assert [t.kind for t in scenario.turns] == ["say", "audio", "trigger", "context"]
    assert scenario.sla_text_ms == 1000 and scenario.sla_voice_ms == SLA_VOICE_MS
    voice = scenario.turns[1]
    assert voice.pcm is not None and len(voice.pcm) == 24_000  # 0.5 s, mono, at 48 kHz
    assert scenario.sla_ms(voice) == SLA_VOICE_MS
    assert scenario.turns[2].control == ControlRequest("trigger-message", {"trigger_name": "greet"})
    assert scenario.turns[2].contains == ("hello",)
    context = scenario.turns[3].control
    assert context is not None and context.type == "context-update"
    assert context.data["text"] == "the user is a nurse" and context.data["mode"] == "append"


def test_defaults_when_the_file_leaves_them_out(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, '[[turns]]\nsay = "hi"\n'))
    assert scenario.name == "scenario"
    assert scenario.sla_text_ms == SLA_TEXT_MS
    assert scenario.turns[0].expect == "respond"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('name = "x"\ncolour = "red"\n[[turns]]\nsay = "hi"\n', ":2: colour: unknown key"),
        ('sla_text_ms = "fast"\n[[turns]]\nsay = "hi"\n', ":1: sla_text_ms: expected a number"),
        ('[[turns]]\nsay = "hi"\n[[turns]]\nsay = 3\n', ":4: turns[2].say: expected a non-empty"),
        ('[[turns]]\nsay = "hi"\n\n[[turns]]\nsay = "a"\nshout = 1\n', ":6: turns[2].shout"),
        ('[[turns]]\nsay = "hi"\nexpect = "maybe"\n', ":3: turns[1].expect: expected one of"),
        ('[[turns]]\nsay = "hi"\ntrigger = "greet"\n', ":1: turns[1]: needs exactly one"),
        ('[[turns]]\naudio = "nowhere.wav"\n', ":2: turns[1].audio: no such WAV file"),
        ('[connect]\nemotion = "lots"\n[[turns]]\nsay = "hi"\n', ":2: connect.emotion:"),
        ('[connect]\nspeed = 2\n[[turns]]\nsay = "hi"\n', ":2: connect.speed: unknown connect"),
        ('name = "no turns"\n', ":1: turns: expected at least one"),
        ('[[turns]]\ntrigger = ":"\n', ":2: turns[1].trigger: A trigger needs"),
        ('[[turns]]\ncontext = "x:sideways"\n', None),
    ],
)
def test_a_bad_file_names_the_line_and_the_field(
    tmp_path: Path, text: str, where: str | None
) -> None:
    if where is None:  # a colon in the text is no mode: the whole string is the context
        assert load_scenario(_write(tmp_path, text)).turns[0].control is not None
        return
    with pytest.raises(ScenarioError) as caught:
        load_scenario(_write(tmp_path, text))
    assert where in str(caught.value)
    assert str(caught.value).startswith(str(tmp_path / "scenario.toml"))


def test_a_file_that_is_no_wav_is_an_error_on_its_line(tmp_path: Path) -> None:
    (tmp_path / "bad.wav").write_text("not audio")
    with pytest.raises(ScenarioError, match=r":3: turns\[1\].audio: cannot read"):
        load_scenario(_write(tmp_path, '[[turns]]\nexpect = "respond"\naudio = "bad.wav"\n'))


def test_invalid_toml_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(_write(tmp_path, "[[turns]\nsay = 1\n"))


def test_a_mono_48k_wav_is_taken_as_it_is(tmp_path: Path) -> None:
    pcm = np.arange(4800, dtype=np.int16)
    write_wav_mono(tmp_path / "a.wav", pcm, 48_000)
    scenario = load_scenario(_write(tmp_path, '[[turns]]\naudio = "a.wav"\n'))
    assert scenario.turns[0].pcm is not None
    assert np.array_equal(scenario.turns[0].pcm, pcm)
