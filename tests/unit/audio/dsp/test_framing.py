"""Framing and resampling of int16 PCM."""

from __future__ import annotations

import numpy as np
import pytest

from convai_tui.audio.dsp.framing import (
    FrameAssembler,
    join_frames,
    pad_to_frames,
    samples_per_frame,
    split_frames,
)
from convai_tui.audio.dsp.resample import resample_int16, resampled_length
from convai_tui.audio.dsp.synth import tone


def test_samples_per_frame() -> None:
    assert samples_per_frame(48_000, 10) == 480
    assert samples_per_frame(16_000, 10) == 160
    with pytest.raises(ValueError):
        samples_per_frame(22_050, 10)  # 220.5 samples


def test_split_and_join_roundtrip_keeps_order_and_tail() -> None:
    pcm = np.arange(1000, dtype=np.int16)
    frames, tail = split_frames(pcm, 480)
    assert [len(f) for f in frames] == [480, 480]
    assert frames[1][0] == 480
    assert list(tail) == list(range(960, 1000))
    assert np.array_equal(join_frames([*frames, tail]), pcm)


def test_split_accepts_bytes() -> None:
    pcm = np.arange(960, dtype=np.int16)
    frames, tail = split_frames(pcm.tobytes(), 480)
    assert len(frames) == 2 and len(tail) == 0
    assert frames[1][-1] == 959


def test_split_rejects_non_int16() -> None:
    with pytest.raises(TypeError):
        split_frames(np.zeros(10, dtype=np.float32), 5)


def test_pad_to_frames() -> None:
    padded = pad_to_frames(np.ones(500, dtype=np.int16), 480)
    assert len(padded) == 960
    assert padded[499] == 1 and padded[500] == 0


@pytest.mark.parametrize("chunks", [[100, 380, 480, 7, 1000, 33], [480] * 4, [1] * 960, [2000]])
def test_assembler_reblocks_any_chunking(chunks: list[int]) -> None:
    total = sum(chunks)
    pcm = (np.arange(total) % 30000).astype(np.int16)
    asm = FrameAssembler(480)
    out: list[np.ndarray] = []
    pos = 0
    for size in chunks:
        out.extend(asm.push(pcm[pos : pos + size]))
        pos += size
    assert all(len(f) == 480 for f in out)
    assert len(out) == total // 480
    assert asm.pending == total % 480
    assert np.array_equal(join_frames(out), pcm[: len(out) * 480])


def test_assembler_frames_are_copies() -> None:
    asm = FrameAssembler(4)
    src = np.arange(8, dtype=np.int16)
    frames = asm.push(src)
    src[:] = 0
    assert list(frames[1]) == [4, 5, 6, 7]


def _dominant_hz(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.argmax(spectrum) * rate / len(pcm))


@pytest.mark.parametrize("method", ["fft", "linear"])
def test_resample_22050_to_48000_keeps_pitch_length_and_level(method: str) -> None:
    src = tone(440.0, 1.0, amplitude=0.5, sample_rate=22_050)
    out = resample_int16(src, 22_050, 48_000, method=method)  # type: ignore[arg-type]
    assert len(out) == resampled_length(len(src), 22_050, 48_000) == 48_000
    assert abs(_dominant_hz(out, 48_000) - 440.0) < 2.0
    peak = np.abs(out[1000:-1000]).max() / 32768
    assert abs(peak - 0.5) < 0.01


def test_resample_down_does_not_alias_fft() -> None:
    # 20 kHz cannot exist at 16 kHz: the band-limited method must remove it, not fold it to 4 kHz.
    src = tone(20_000.0, 0.5, amplitude=0.5, sample_rate=48_000)
    out = resample_int16(src, 48_000, 16_000, method="fft")
    assert np.abs(out).max() < 0.01 * 32768


def test_resample_identity_and_errors() -> None:
    pcm = np.arange(10, dtype=np.int16)
    same = resample_int16(pcm, 48_000, 48_000)
    assert np.array_equal(same, pcm) and same is not pcm
    with pytest.raises(ValueError):
        resample_int16(pcm, 0, 48_000)
    with pytest.raises(ValueError):
        resample_int16(pcm, 8_000, 48_000, method="cubic")  # type: ignore[arg-type]
