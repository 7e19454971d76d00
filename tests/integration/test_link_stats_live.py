"""The link sampler and turn timing in a real session on loopback: `run --headless` against
the stand-in (its character speaking tones) prints `link_stats` once a second and a
`turn_timing` per reply, and the participants carry LiveKit's connection quality."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.headless_harness import HeadlessRun, LocalServer
from tests.integration.standin_client import require_livekit_server

pytestmark = [pytest.mark.integration, pytest.mark.serial]


@pytest.mark.timeout(90)
def test_headless_stream_has_link_stats_turn_timing_and_quality(tmp_path: Path) -> None:
    require_livekit_server()
    server = LocalServer.start(tmp_path / "server", "--tts", "tone")
    try:
        run = HeadlessRun.start(
            server, tmp_path / "client", "--duration", "6", "--say", "hello", "--say", "and again"
        )
        try:
            code = run.finish(within=60)
        finally:
            run.close()
    finally:
        server.close()
    assert code == 0, run.stderr[-3000:]
    samples = run.of("link_stats")
    assert len(samples) >= 4, run.types()
    assert all(s["candidate"] == "host/udp" for s in samples)
    assert all(s["warnings"] == [] for s in samples)  # loopback: within every threshold
    assert any(s["rtt_ms"] is not None and s["rtt_ms"] < 50 for s in samples)
    assert any((s["bitrate_in_kbps"] or 0) > 0 for s in samples)
    assert any((s["packets_received"] or 0) > 0 for s in samples)  # the tones arrived
    timings = run.of("turn_timing")
    assert [t["turn"] for t in timings] == [1, 2]
    for timing in timings:
        assert 0 < timing["sent_to_first_text_ms"] < timing["sent_to_first_audio_ms"] < 5000
    qualities = {e["quality"] for e in run.of("participant_updated")} - {""}
    assert qualities and qualities <= {"excellent", "good"}, qualities
