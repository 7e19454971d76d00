"""participant_levels lines: at once when who speaks changes, about once a second while anyone
speaks, nothing while all are quiet."""

from __future__ import annotations

from convai_tui.audio.session_media import ParticipantLevelsSampler
from convai_tui.core.api.events import Event, ParticipantLevels


def test_lines_follow_speech() -> None:
    lines: list[Event] = []
    sampler = ParticipantLevelsSampler(lines.append)
    quiet = {"ada": -80.0, "bo": -85.0}
    for tick in range(10):
        sampler.sample(quiet, tick * 0.1)
    assert lines == []
    sampler.sample({"ada": -20.04, "bo": -85.0}, 1.0)
    for tick in range(1, 25):  # 2.4 s of Ada speaking
        sampler.sample({"ada": -22.0, "bo": -85.0}, 1.0 + tick * 0.1)
    sampler.sample(quiet, 3.5)
    sampler.sample(quiet, 5.0)
    assert all(isinstance(line, ParticipantLevels) for line in lines)
    levels = [line for line in lines if isinstance(line, ParticipantLevels)]
    assert [line.speaking for line in levels] == [("ada",), ("ada",), ("ada",), ()]
    assert levels[0].to_json()["levels"] == {"ada": -20.0, "bo": -85.0}


def test_a_speaker_rising_past_its_first_reading_is_reported_at_once() -> None:
    lines: list[Event] = []
    sampler = ParticipantLevelsSampler(lines.append)
    # A reply shorter than a second whose first reading fell on a word's first milliseconds.
    readings = [-33.1, -14.2, -13.9, -19.5, -14.0, -14.3, -15.0, -80.0]
    for tick, dbfs in enumerate(readings):
        sampler.sample({"bo": dbfs}, tick * 0.1)
    levels = [line for line in lines if isinstance(line, ParticipantLevels)]
    assert [(line.levels["bo"], line.speaking) for line in levels] == [
        (-33.1, ("bo",)),
        (-14.2, ("bo",)),
        (-80.0, ()),
    ]
