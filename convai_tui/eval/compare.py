"""`--compare BASELINE.json`: what got slower or started failing since a previous `--json`.

A regression is a bucket's figure whose p50 rose by more than 20 % and more than 50 ms, or a
failure class with turns now that had none in the baseline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SLOWER_RATIO = 1.2
SLOWER_MS = 50.0


class BaselineError(ValueError):
    """A baseline file that is not a `--json` of an earlier run."""


@dataclass(frozen=True, slots=True)
class Regression:
    what: str

    def __str__(self) -> str:
        return self.what


def load_baseline(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {exc}") from None
    summary = data.get("summary") if isinstance(data, dict) else None
    if not isinstance(summary, dict):
        raise BaselineError(f"{path}: not an eval --json file (no summary)")
    return summary


def compare(baseline: dict[str, Any], current: dict[str, Any]) -> list[Regression]:
    found: list[Regression] = []
    old_buckets = baseline.get("buckets", {})
    for name, bucket in current.get("buckets", {}).items():
        old_parts = old_buckets.get(name, {}).get("parts", {})
        for part, pcts in bucket.get("parts", {}).items():
            new = pcts.get("p50")
            old = old_parts.get(part, {}).get("p50")
            if new is None or old is None:
                continue
            if new > old * SLOWER_RATIO and new - old > SLOWER_MS:
                found.append(
                    Regression(f"{name} {part}: p50 {old:.0f} ms -> {new:.0f} ms (slower)")
                )
    old_classes = baseline.get("classes", {})
    for klass, count in current.get("classes", {}).items():
        if klass != "pass" and count and not old_classes.get(klass):
            found.append(Regression(f"{klass}: {count} turns (none in the baseline)"))
    return found
