from __future__ import annotations

import pytest

from convai_tui.local.character.send_queue import SendQueueEstimate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_frames_at_the_send_rate_keep_one_frame_queued() -> None:
    clock = Clock()
    queue = SendQueueEstimate(clock)
    for _ in range(50):
        queue.added(0.01)
        assert queue.queued_s() == pytest.approx(0.01)
        clock.now += 0.01
    assert queue.queued_s() == pytest.approx(0.0)


def test_a_burst_after_a_pause_counts_in_full() -> None:
    # AudioSource.queued_duration would read 0 here: the 100 ms pause leaves its sum at -90 ms.
    clock = Clock()
    queue = SendQueueEstimate(clock)
    queue.added(0.01)
    clock.now += 0.1
    for _ in range(5):
        queue.added(0.01)
    assert queue.queued_s() == pytest.approx(0.05)
    clock.now += 0.03
    assert queue.queued_s() == pytest.approx(0.02)


def test_cleared_empties_it() -> None:
    clock = Clock()
    queue = SendQueueEstimate(clock)
    for _ in range(4):
        queue.added(0.01)
    queue.cleared()
    assert queue.queued_s() == 0.0
    queue.added(0.02)
    assert queue.queued_s() == pytest.approx(0.02)
