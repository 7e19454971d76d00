"""RoomMix: one unity input is its own buffer; more are summed, limited, and fed back as the
echo canceller's reference; an ended input plays out before it leaves."""

from __future__ import annotations

import numpy as np

from convai_tui.audio.jitter import JitterBuffer
from convai_tui.audio.mix import LIMIT, RoomMix

RATE = 48_000
BLOCK = 480


def _mix() -> RoomMix:
    return RoomMix(RATE, lambda _frame_ms: JitterBuffer(RATE, 10, 250, grow_to_ms=60))


def _tone(hz: float, amplitude: float, samples: int = BLOCK) -> np.ndarray:
    t = np.arange(samples) / RATE
    return (amplitude * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def test_one_unity_input_is_played_as_is_and_not_copied_as_reference() -> None:
    mix = _mix()
    source = mix.add("TR_a", "ada")
    pcm = _tone(440, 0.5)
    source.buffer.push(pcm)
    out = np.zeros(BLOCK, dtype=np.int16)
    assert mix.pull_into(out) == BLOCK
    assert np.array_equal(out, pcm)
    assert not mix.mixing
    assert mix.reference.depth_samples == 0


def test_two_inputs_are_summed_without_clipping_and_become_the_reference() -> None:
    mix = _mix()
    a, b = mix.add("TR_a", "ada"), mix.add("TR_b", "bo")
    for _ in range(3):
        a.buffer.push(_tone(440, 0.8))
        b.buffer.push(_tone(440, 0.8))  # in phase: the plain sum would be 1.6 × full scale
    out = np.zeros(BLOCK, dtype=np.int16)
    mix.pull_into(out)
    assert mix.mixing
    assert int(np.abs(out.astype(np.int32)).max()) <= LIMIT + 1
    assert mix.limited_blocks == 1
    assert mix.reference.depth_samples == BLOCK
    assert np.array_equal(mix.reference.pull(BLOCK), out)


def test_quiet_voices_are_summed_unchanged() -> None:
    mix = _mix()
    a, b = mix.add("TR_a", "ada"), mix.add("TR_b", "bo")
    pa, pb = _tone(440, 0.3), _tone(1275, 0.3)
    a.buffer.push(pa)
    b.buffer.push(pb)
    out = np.zeros(BLOCK, dtype=np.int16)
    mix.pull_into(out)
    assert np.abs(out.astype(np.int32) - (pa.astype(np.int32) + pb)).max() <= 1


def test_muted_and_quieter_inputs() -> None:
    mix = _mix()
    a, b = mix.add("TR_a", "ada"), mix.add("TR_b", "bo")
    a.muted = True
    b.gain = 0.5
    a.buffer.push(_tone(440, 0.5))
    pb = _tone(1275, 0.5)
    b.buffer.push(pb)
    out = np.zeros(BLOCK, dtype=np.int16)
    mix.pull_into(out)
    assert np.abs(out.astype(np.int32) - pb.astype(np.int32) // 2).max() <= 1


def test_an_ended_input_plays_out_then_leaves() -> None:
    mix = _mix()
    a, b = mix.add("TR_a", "ada"), mix.add("TR_b", "bo")
    a.buffer.push(_tone(440, 0.5, 2 * BLOCK))
    mix.end("TR_a")
    assert len(mix.inputs) == 2  # still has audio queued
    out = np.zeros(BLOCK, dtype=np.int16)
    mix.pull_into(out)
    assert np.abs(out).max() > 0
    mix.pull_into(out)
    mix.pull_into(out)  # drained: it leaves
    assert [i.key for i in mix.inputs] == [b.key]
    assert mix.totals()["played_samples"] == 2 * BLOCK


def test_the_only_track_ending_plays_out_without_an_underrun() -> None:
    mix = _mix()
    a = mix.add("TR_a", "ada")
    a.buffer.push(_tone(440, 0.5, BLOCK + BLOCK // 2))
    out = np.zeros(BLOCK, dtype=np.int16)
    assert mix.pull_into(out) == BLOCK
    mix.end("TR_a")
    assert mix.pull_into(out) == BLOCK // 2  # its tail, then it leaves
    assert mix.inputs == ()
    totals = mix.totals()
    assert totals["underruns"] == 0 and totals["underrun_samples"] == 0
    assert totals["played_samples"] == BLOCK + BLOCK // 2


def test_a_track_seen_again_is_the_same_input() -> None:
    mix = _mix()
    assert mix.add("TR_a", "ada") is mix.add("TR_a", "ada")
    assert len(mix.inputs) == 1
