"""The soak in CI: `scripts/soak.py --duration 60` (what `make soak` runs for 600 s) must
complete every turn and keep the client's RSS growth within 10 MiB and open fds within +5
after the warm-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.standin_client import require_livekit_server

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(150)
def test_soak_60s_has_bounded_growth() -> None:
    require_livekit_server()
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), "--duration", "60"],
        capture_output=True,
        text=True,
        timeout=140,
        cwd=ROOT,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines and "summary" in lines[-1], result.stderr[-3000:]
    summary = lines[-1]["summary"]
    print("soak:", json.dumps(summary))
    assert len(lines) - 1 >= 10  # one sample per turn, a turn every 5 s
    assert summary["turns_completed"] == summary["turns_sent"] >= 10
    assert summary["errors"] == [] and summary["connected"]
    assert summary["rss_growth_kib"] <= 10 * 1024
    assert summary["fd_growth"] <= 5
    assert lines[-1]["ok"] and result.returncode == 0
