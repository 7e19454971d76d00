"""--stage-delays parsing, the admin route's stage fields, and the turn-trace / metrics built
from what the clock saw (not from the configured delays)."""

from __future__ import annotations

import argparse
import asyncio

import pytest

from convai_tui.local.args import stage_delays
from convai_tui.local.character.stage_trace import StageTrace
from convai_tui.local.faults import Faults, FaultsError


def test_stage_delays_parse_any_subset_and_refuse_nonsense() -> None:
    assert stage_delays("llm=400,tts=250") == {"llm": 400.0, "tts": 250.0}
    assert stage_delays("asr=10") == {"asr": 10.0}
    for bad in ("gpu=3", "llm=fast", "tts=-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            stage_delays(bad)


def test_stage_delays_are_runtime_faults_too() -> None:
    faults = Faults()
    faults.update({"llm_delay_ms": 400, "tts_delay_ms": 250})
    assert (faults.llm_delay_ms, faults.tts_delay_ms, faults.asr_delay_ms) == (400.0, 250.0, 0.0)
    with pytest.raises(FaultsError):
        faults.update({"llm_delay_ms": -5})


def test_trace_reports_the_time_actually_spent() -> None:
    async def turn() -> StageTrace:
        trace = StageTrace("s:t1")
        trace.begin("llm")
        await trace.spend(60)
        trace.end("llm")
        trace.event("bot_started_speaking")
        return trace

    trace = asyncio.run(turn())
    message = trace.turn_trace(canceled=False)
    assert message["type"] == "server-message"
    fields = message["data"]
    assert fields["type"] == "turn-trace" and fields["turn_id"] == "s:t1"
    assert 60 <= fields["segments_ms"]["llm"] < 200
    assert fields["critical_stage"] == "llm" and fields["was_canceled"] is False
    assert fields["e2e_ms"] >= fields["segments_ms"]["llm"]
    metrics = trace.metrics("llm", "tts")
    assert metrics is not None
    [entry] = metrics["data"]["ttfb"]  # no tts stage ran: no tts figure
    assert entry["processor"] == "StandInLLMService#0" and entry["value"] >= 0.06
    assert StageTrace("x").metrics("tts") is None
