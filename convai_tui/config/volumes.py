"""Playback volumes the user set per character (dB by character id), kept in the state dir so
a character sounds the same the next time it is in a room. A missing or damaged file is an
empty table, never an error."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

VOLUMES_FILE = "volumes.json"
STEP_DB = 3.0
MIN_DB, MAX_DB = -30.0, 12.0


def load_volumes(state: Path) -> dict[str, float]:
    try:
        data = json.loads((state / VOLUMES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(k): clamp_db(float(v))
        for k, v in data.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def save_volumes(state: Path, volumes: dict[str, float]) -> None:
    with contextlib.suppress(OSError):
        state.mkdir(parents=True, exist_ok=True)
        (state / VOLUMES_FILE).write_text(
            json.dumps({k: v for k, v in sorted(volumes.items()) if v != 0.0}, indent=1),
            encoding="utf-8",
        )


def clamp_db(value: float) -> float:
    return max(MIN_DB, min(MAX_DB, value))


def stepped(value: float, steps: int) -> float:
    """``value`` moved by ``steps`` × ``STEP_DB`` within the allowed range."""
    return clamp_db(value + steps * STEP_DB)
