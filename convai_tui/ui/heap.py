"""What the garbage collector scans while the monitor runs: a full collection stalls the event
loop for as long as it takes to scan every object it holds, so the settled heap is frozen.

A full collection scans every tracked object that is not frozen. Everything the screen is
built of (~85k objects) is frozen once it is up; what a session then accumulates (a line, an
error, a turn's record: about one object an event, kept for the whole session) would otherwise
be scanned by every full collection, and CPython 3.11 runs one whenever its old generation has
grown by a quarter since the last: after 30,000 events each took 11-19 ms of CPU, growing with
the session. `SettledHeap` freezes the survivors of a full collection once they are many, so a
full collection only scans what came after (5-9 ms of CPU however long the session).

The cost: a frozen object is freed when its count of references drops to zero, as any other,
but one that later becomes part of a garbage cycle is never collected (rendered strips that
cache themselves, mostly). Freezing right after a full collection captures no garbage, only
what was alive then, and the unfrozen part must reach `FREEZE_AT` first: measured over 150,000
events, 28 freezes kept ~16k such objects (RSS +1.2 MB on 105 MB).
"""

from __future__ import annotations

import gc

FREEZE_AT = 20_000
"""Survivors of a full collection (objects not yet frozen) from which they are frozen: a full
collection then scans about this many at most (plus what came since). At 10,000 a session
froze ~2.5 times as often (more garbage kept) for ~2 ms less CPU a pass."""


class SettledHeap:
    """Freezes the live heap once (the screen is up), and again after any full collection
    whose survivors reach `threshold`; `release` undoes it."""

    def __init__(self, threshold: int = FREEZE_AT) -> None:
        self.threshold = threshold
        self.freezes = 0
        """Freezes after a full collection, the first one not counted (tests, benchmarks)."""
        self._active = False

    @property
    def active(self) -> bool:
        return self._active

    def settle(self) -> None:
        """Collect everything and freeze what is alive, then keep freezing survivors."""
        if self._active:
            return
        gc.collect()
        gc.freeze()
        gc.callbacks.append(self._after_collection)
        self._active = True

    def release(self) -> None:
        """Stop freezing and hand every frozen object back to the collector."""
        if not self._active:
            return
        self._active = False
        gc.callbacks.remove(self._after_collection)
        gc.unfreeze()

    def _after_collection(self, phase: str, info: dict[str, int]) -> None:
        # Right after a full collection the young generations are empty and the old one holds
        # only what survived it: freezing now captures no garbage.
        if phase != "stop" or info["generation"] != 2:
            return
        if len(gc.get_objects(generation=2)) >= self.threshold:
            gc.freeze()
            self.freezes += 1
