"""SVG snapshots of the states that matter, from the shared scripted scenarios.

Deterministic by construction: a frozen FakeClock, explicit event times, UTC, no cursor blink,
no animation. Regenerate with `pytest tests/ui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui.scenarios import SCENARIOS


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_snapshot(name: str, snap_compare: Callable[..., bool]) -> None:
    scenario = SCENARIOS[name]()
    app, _session, _clock = scenario.build()

    async def run_before(pilot: Pilot[Any]) -> None:
        await scenario.run_before(pilot)

    assert snap_compare(app, terminal_size=scenario.size, run_before=run_before)


def test_snapshot_140x45(snap_compare: Callable[..., bool]) -> None:
    scenario = SCENARIOS["session-connected"]()
    app, _session, _clock = scenario.build()
    assert snap_compare(app, terminal_size=(140, 45), run_before=scenario.run_before)


def test_snapshot_help(snap_compare: Callable[..., bool]) -> None:
    """The help screen lists the keys of every screen, by where they work."""
    scenario = SCENARIOS["session-connected"]()
    app, _session, _clock = scenario.build()

    async def run_before(pilot: Pilot[Any]) -> None:
        await scenario.run_before(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(110, 80), run_before=run_before)
