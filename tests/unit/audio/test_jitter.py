"""JitterBuffer: ordering, start threshold, underrun and overflow accounting, latency."""

from __future__ import annotations

import numpy as np
import pytest

from convai_tui.audio.jitter import JitterBuffer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def ramp(start: int, n: int) -> np.ndarray:
    return (np.arange(start, start + n) % 32000).astype(np.int16)


def test_does_not_play_before_target_depth() -> None:
    jb = JitterBuffer(48_000, target_ms=30, max_ms=250)
    jb.push(ramp(1, 480))
    jb.push(ramp(481, 480))  # 20 ms < 30 ms target
    out = np.ones(480, dtype=np.int16)
    assert jb.pull_into(out) == 0
    assert not out.any()
    assert jb.stats().underruns == 0  # priming is not an underrun
    jb.push(ramp(961, 480))  # 30 ms: starts
    assert jb.playing
    assert jb.pull_into(out) == 480
    assert out[0] == 1


def test_preserves_order_across_ring_wrap() -> None:
    jb = JitterBuffer(48_000, target_ms=10, max_ms=20)  # capacity 960 samples: wraps quickly
    got: list[np.ndarray] = []
    value = 0
    for _ in range(25):
        jb.push(ramp(value, 480))
        value += 480
        got.append(jb.pull(480))
    played = np.concatenate(got)
    assert np.array_equal(played, ramp(0, 25 * 480))
    s = jb.stats()
    assert s.underruns == 0 and s.overflows == 0 and s.played_samples == 25 * 480


def test_underrun_plays_silence_counts_and_rebuffers() -> None:
    jb = JitterBuffer(48_000, target_ms=20, max_ms=100)
    jb.push(ramp(1, 960))
    first = jb.pull(720)
    assert first[0] == 1 and first[-1] == 720
    second = jb.pull(480)  # only 240 left
    assert second[239] == 960 and not second[240:].any()
    s = jb.stats()
    assert s.underruns == 1 and s.underrun_samples == 240
    assert not jb.playing
    jb.push(ramp(1, 480))  # 10 ms < 20 ms target: still re-buffering
    assert not jb.pull(480).any()
    assert jb.stats().underruns == 1


def test_an_ended_stream_plays_out_without_an_underrun() -> None:
    jb = JitterBuffer(48_000, target_ms=20, max_ms=120, grow_to_ms=60)
    jb.push(ramp(1, 960))
    jb.end()
    assert jb.pull(720)[-1] == 720
    last = jb.pull(480)  # the last 240 samples, then the stream is over
    assert last[239] == 960 and not last[240:].any()
    s = jb.stats()
    assert s.underruns == 0 and s.underrun_samples == 0
    assert s.played_samples == 960 and s.target_ms == 20
    assert not jb.playing


def test_overflow_drops_oldest_and_counts() -> None:
    jb = JitterBuffer(48_000, target_ms=10, max_ms=20)  # 960 samples
    jb.push(ramp(0, 480))
    jb.push(ramp(480, 480))
    jb.push(ramp(960, 480))  # 480 too many: the first frame is dropped
    s = jb.stats()
    assert s.overflows == 1 and s.dropped_samples == 480
    assert jb.depth_samples == 960
    assert jb.pull(480)[0] == 480  # oldest surviving sample


def test_oversized_push_keeps_newest() -> None:
    jb = JitterBuffer(48_000, target_ms=10, max_ms=20)
    jb.push(ramp(0, 2000))
    assert jb.depth_samples == 960
    assert jb.pull(960)[0] == 2000 - 960
    assert jb.stats().dropped_samples == 2000 - 960


def test_start_latency_measured_from_first_push() -> None:
    clock = FakeClock()
    jb = JitterBuffer(48_000, target_ms=30, max_ms=250, clock=clock)
    assert jb.start_latency_ms is None
    for _ in range(3):
        jb.push(ramp(0, 480))
        clock.now += 0.010
    jb.pull(480)
    assert jb.start_latency_ms == pytest.approx(30.0)


def test_clear_goes_back_to_buffering() -> None:
    jb = JitterBuffer(48_000, target_ms=10, max_ms=100)
    jb.push(ramp(5, 960))
    jb.clear()
    assert jb.depth_samples == 0 and not jb.playing
    assert not jb.pull(480).any()


def test_rejects_silly_settings() -> None:
    with pytest.raises(ValueError):
        JitterBuffer(48_000, target_ms=5)
    with pytest.raises(ValueError):
        JitterBuffer(48_000, target_ms=40, max_ms=60)


def test_stats_json() -> None:
    jb = JitterBuffer()
    data = jb.stats().to_json()
    assert set(data) >= {"underruns", "overflows", "depth_ms", "start_latency_ms"}


def test_each_underrun_raises_the_target_by_a_frame_up_to_the_cap() -> None:
    jb = JitterBuffer(48_000, target_ms=20, max_ms=100, grow_to_ms=40)
    targets: list[float] = []
    for _ in range(4):
        jb.push(ramp(1, int(jb.target_ms * 48)))  # exactly the target: playback starts
        assert jb.playing
        jb.pull(int(jb.target_ms * 48) + 480)  # one 10 ms block too many: underrun
        assert not jb.playing
        targets.append(jb.target_ms)
    assert targets == [30.0, 40.0, 40.0, 40.0]
    assert jb.stats().underruns == 4 and jb.stats().target_ms == 40.0
    jb.push(ramp(1, 30 * 48))  # 30 ms no longer starts playback at a 40 ms target
    assert not jb.playing


def test_without_grow_to_the_target_stays_put() -> None:
    jb = JitterBuffer(48_000, target_ms=20, max_ms=100)
    jb.push(ramp(1, 960))
    jb.pull(1440)
    assert jb.stats().underruns == 1 and jb.target_ms == 20.0


def test_grow_to_below_the_target_is_refused() -> None:
    with pytest.raises(ValueError):
        JitterBuffer(48_000, target_ms=30, grow_to_ms=20)


FRAME = 480  # 10 ms at 48 kHz
QUIET = np.full(FRAME, 100, dtype=np.int16)  # room noise, well under -40 dBFS


def steady(jb: JitterBuffer, frames: int) -> list[np.ndarray]:
    """One quiet 10 ms frame in, one 10 ms block out, ``frames`` times: what was played."""
    played: list[np.ndarray] = []
    for _ in range(frames):
        jb.push(QUIET)
        played.append(jb.pull(FRAME))
    return played


def depth_before_next_pull(jb: JitterBuffer) -> float:
    """The next frame in, the depth as the next pull finds it, then that pull."""
    jb.push(QUIET)
    depth = jb.depth_ms
    jb.pull(FRAME)
    return depth


def test_a_quiet_backlog_is_trimmed_back_to_the_target() -> None:
    jb = JitterBuffer(48_000, target_ms=20, max_ms=250, grow_to_ms=60, shed_latency=True)
    jb.push(np.zeros(200 * 48, dtype=np.int16))  # 200 ms delivered at once, all silence
    steady(jb, 49)
    # The window's last pull finds it still there: 190 ms over the target all along.
    assert depth_before_next_pull(jb) == 210.0
    s = jb.stats()
    assert s.trimmed_samples == 190 * 48 and s.dropped_samples == 0
    assert depth_before_next_pull(jb) == 20.0  # back where playback started from
    steady(jb, 100)
    assert jb.stats().underruns == 0 and jb.stats().trimmed_samples == 190 * 48


def test_speech_is_never_cut_only_the_quiet_after_it() -> None:
    jb = JitterBuffer(48_000, target_ms=20, max_ms=1000, grow_to_ms=60, shed_latency=True)
    loud = ramp(1000, 600 * 48)  # 600 ms of "speech": still at the head when the window closes
    jb.push(loud)
    played = np.concatenate(steady(jb, 100))
    assert np.array_equal(played[: loud.size], loud)  # every sample of it played, in order
    assert jb.stats().trimmed_samples > 0  # the quiet behind it went instead
    assert depth_before_next_pull(jb) == 20.0 and jb.stats().underruns == 0


def test_a_steady_stream_with_jitter_is_never_trimmed() -> None:
    jb = JitterBuffer(48_000, target_ms=20, max_ms=250, grow_to_ms=60, shed_latency=True)
    for i in range(300):  # frames arrive in pairs every 20 ms, blocks go every 10 ms
        if i % 2 == 0:
            jb.push(QUIET)
            jb.push(QUIET)
        jb.pull(FRAME)
    s = jb.stats()
    assert s.trimmed_samples == 0 and s.underruns == 0


def test_without_shed_latency_a_backlog_stays() -> None:
    jb = JitterBuffer(48_000, target_ms=20, max_ms=250, grow_to_ms=60)
    jb.push(np.zeros(200 * 48, dtype=np.int16))
    steady(jb, 100)
    assert depth_before_next_pull(jb) == 210.0 and jb.stats().trimmed_samples == 0


def test_a_grown_target_comes_down_after_calm_playback_and_its_depth_with_it() -> None:
    jb = JitterBuffer(48_000, target_ms=20, max_ms=250, grow_to_ms=60, shed_latency=True)
    jb.push(np.zeros(20 * 48, dtype=np.int16))
    jb.pull(30 * 48)  # a start-up glitch: one underrun, the target grows to 30 ms
    assert jb.target_ms == 30.0
    jb.push(np.zeros(20 * 48, dtype=np.int16))  # 20 ms: below the new target, not playing
    steady(jb, 999)  # just under 10 s of calm playback
    assert jb.target_ms == 30.0 and depth_before_next_pull(jb) == 30.0
    steady(jb, 60)  # past 10 s: a frame back, and the window after it trims the depth
    assert jb.target_ms == 20.0 and depth_before_next_pull(jb) == 20.0
    assert jb.stats().underruns == 1


def test_without_shed_latency_a_grown_target_stays() -> None:
    jb = JitterBuffer(48_000, target_ms=20, max_ms=250, grow_to_ms=60)
    jb.push(np.zeros(20 * 48, dtype=np.int16))
    jb.pull(30 * 48)
    steady(jb, 1500)
    assert jb.target_ms == 30.0
