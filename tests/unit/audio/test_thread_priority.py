"""The speaker thread's request for real-time scheduling, and its fallback."""

from __future__ import annotations

import os
from typing import Any

import pytest

from convai_tui.audio.thread_priority import make_this_thread_realtime

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setscheduler"), reason="no POSIX scheduling calls"
)


def test_the_calling_thread_asks_for_the_lowest_fifo_priority(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, int, int]] = []

    def record(pid: int, policy: int, param: Any) -> None:
        calls.append((pid, policy, param.sched_priority))

    monkeypatch.setattr(os, "sched_setscheduler", record)
    assert make_this_thread_realtime() is True
    assert calls == [(0, os.SCHED_FIFO, os.sched_get_priority_min(os.SCHED_FIFO))]


def test_without_the_right_the_thread_keeps_its_scheduling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(pid: int, policy: int, param: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    assert make_this_thread_realtime() is False


def test_an_os_without_the_call_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_setscheduler")
    assert make_this_thread_realtime() is False
