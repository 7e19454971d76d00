"""The monitor's garbage-collector policy (`ui/heap.py`): the heap is frozen once the screen is
up, and the survivors of a full collection are frozen once they are many, so that a full
collection never scans what a long session has accumulated."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from convai_tui.ui.app import ConvaiApp
from convai_tui.ui.heap import SettledHeap
from tests.ui.fake_core import FakeSession, Step
from tests.ui.scenarios import connect_events, settle


class _Node:
    """A GC-tracked object that can sit in a reference cycle."""

    def __init__(self) -> None:
        self.link: object = None


@pytest.fixture
def heap() -> Iterator[SettledHeap]:
    settled = SettledHeap(threshold=5_000)
    settled.settle()
    try:
        yield settled
    finally:
        settled.release()


def test_settling_freezes_the_live_heap_and_releasing_hands_it_back() -> None:
    settled = SettledHeap()
    settled.settle()
    try:
        assert settled.active
        assert gc.get_freeze_count() > 0
    finally:
        settled.release()
    assert not settled.active
    assert gc.get_freeze_count() == 0


def test_the_survivors_of_a_full_collection_are_frozen_once_they_are_many(
    heap: SettledHeap,
) -> None:
    kept = [_Node() for _ in range(8_000)]
    frozen = gc.get_freeze_count()
    gc.collect()
    assert heap.freezes == 1
    assert gc.get_freeze_count() >= frozen + len(kept)
    assert len(gc.get_objects(generation=2)) < len(kept)


def test_few_survivors_stay_with_the_collector(heap: SettledHeap) -> None:
    kept = [_Node() for _ in range(500)]
    frozen = gc.get_freeze_count()
    gc.collect()
    assert heap.freezes == 0
    assert gc.get_freeze_count() == frozen
    assert len(gc.get_objects(generation=2)) >= len(kept)


def test_garbage_is_collected_before_the_survivors_are_frozen(heap: SettledHeap) -> None:
    kept = [_Node() for _ in range(8_000)]
    cycle = _Node()
    cycle.link = cycle
    gone = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert heap.freezes == 1 and len(kept) == 8_000
    assert gone() is None


async def test_the_monitor_settles_its_heap_once_up_and_releases_it_on_exit() -> None:
    session = FakeSession(script=[Step(e) for e in connect_events()])
    app = ConvaiApp(session)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.heap.active
        assert gc.get_freeze_count() > 0
    assert not app.heap.active
    assert gc.get_freeze_count() == 0
