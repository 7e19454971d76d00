"""Latency attribution against known stage delays: the stand-in really spends `--stage-delays`
in its LLM and TTS stages, and `run --headless` must attribute that time to those parts of
`turn_timing`, from the server's turn-trace (--server-debug) or from message arrivals alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.headless_harness import HeadlessRun, LocalServer
from tests.integration.standin_client import require_livekit_server

pytestmark = [pytest.mark.integration, pytest.mark.serial]


def _turns(tmp_path: Path, *client_args: str) -> list[dict[str, Any]]:
    require_livekit_server()
    server = LocalServer.start(
        tmp_path / "server", "--tts", "tone", "--stage-delays", "llm=400,tts=250"
    )
    try:
        run = HeadlessRun.start(
            server, tmp_path / "client", "--duration", "6", "--say", "hello", *client_args
        )
        try:
            code = run.finish(within=60)
        finally:
            run.close()
    finally:
        server.close()
    assert code == 0, run.stderr[-3000:]
    return run.of("turn_timing")


def _part(timing: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in timing["segments"] if s["name"] == name]
    assert len(found) == 1, timing["segments"]
    return found[0]


def _adds_up(timing: dict[str, Any]) -> None:
    total = timing["total_ms"]
    assert total is not None and total > 650
    assert abs(sum(s["ms"] for s in timing["segments"]) - total) <= 0.05 * total


@pytest.mark.timeout(120)
def test_server_trace_attributes_the_stage_delays(tmp_path: Path) -> None:
    [timing] = _turns(tmp_path, "--server-debug")
    assert timing["input"] == "text" and timing["outcome"] == "completed"
    assert timing["server"] is not None and timing["turn_id"] == timing["server"]["turn_id"]
    llm, tts = _part(timing, "llm"), _part(timing, "tts")
    assert llm["source"] == tts["source"] == "server"
    assert llm["owner"] == tts["owner"] == "server"
    assert abs(llm["ms"] - 400) <= 40, timing
    assert abs(tts["ms"] - 250) <= 40, timing
    _adds_up(timing)
    assert timing["sla_ms"] == 1200 and timing["over_sla"] == (timing["total_ms"] > 1200)


@pytest.mark.timeout(120)
def test_message_arrivals_alone_separate_the_stages(tmp_path: Path) -> None:
    [timing] = _turns(tmp_path)
    assert timing["server"] is None and timing["turn_id"] is None
    llm, tts = _part(timing, "llm"), _part(timing, "tts")
    assert llm["source"] == tts["source"] == "measured"
    assert abs(llm["ms"] - 400) <= 60, timing
    assert abs(tts["ms"] - 250) <= 60, timing
    _adds_up(timing)
