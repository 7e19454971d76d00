"""The link sampler: parsing real WebRTC stats, the bounded history, the degraded-link
thresholds raising and clearing, and turn timing."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from google.protobuf.json_format import ParseDict
from livekit.rtc import stats as pb

from convai_tui.core.api.codec import event_from_json
from convai_tui.core.api.events import (
    Event,
    LinkStatsSampled,
    LogRecorded,
    TurnTimed,
)
from convai_tui.core.conversation.turn_timing import TurnTimer
from convai_tui.core.errors.error import SessionError, lookup
from convai_tui.core.link.stats import (
    LinkHistory,
    LinkSampler,
    RawStats,
    make_sample,
    parse_rtc_stats,
    to_dbfs,
)
from convai_tui.core.settings.session_settings import LinkThresholds
from tests.paths import TESTS

FIXTURE = TESTS / "fixtures" / "rtc_stats_standin.json"


def recorded() -> list[Any]:
    """Two `Room.get_rtc_stats()` readings 2 s apart from a stand-in session (see
    scripts/capture_rtc_stats.py), as objects shaped like livekit's `rtc.RtcStats`."""
    readings = json.loads(FIXTURE.read_text())
    return [
        SimpleNamespace(
            **{
                side: [ParseDict(r, pb.RtcStats()) for r in reports]
                for side, reports in reading.items()
            }
        )
        for reading in readings
    ]


def test_parses_a_real_stats_reading() -> None:
    first, second = (parse_rtc_stats(s) for s in recorded())
    assert second.candidate == "host/udp"
    assert second.rtt_ms is not None and 0 <= second.rtt_ms < 50  # loopback
    assert second.bytes_in is not None and second.bytes_in > first.bytes_in > 0  # type: ignore[operator]
    assert second.bytes_out is not None and second.bytes_out > 0
    assert second.packets_received is not None and second.packets_received > 0
    assert second.packets_lost == 0
    assert second.concealment_events is not None and second.jitter_buffer_emitted
    assert second.audio_out_level is not None and 0.1 < second.audio_out_level < 0.3  # the tone
    sample = make_sample(second, first, 2.0, at=100.0, previous_candidate="host/udp")
    assert sample.loss_pct == 0.0 and sample.candidate_changed is False
    assert sample.bitrate_out_kbps is not None and sample.bitrate_out_kbps > 10
    assert sample.jitter_buffer_ms is not None and sample.jitter_buffer_ms > 0
    assert sample.audio_out_dbfs is not None and -16 < sample.audio_out_dbfs < -12


def test_loss_and_rates_come_from_the_interval() -> None:
    before = RawStats(bytes_in=10_000, bytes_out=0, packets_received=100, packets_lost=5)
    after = RawStats(
        bytes_in=20_000,
        bytes_out=4_000,
        packets_received=190,
        packets_lost=15,
        candidate="relay/tls",
    )
    sample = make_sample(after, before, 1.0, at=1.0, previous_candidate="host/udp")
    assert sample.loss_pct == 10.0  # 10 lost of 100 in the interval, not 15 of 205 overall
    assert sample.bitrate_in_kbps == 80.0 and sample.bitrate_out_kbps == 32.0
    assert sample.candidate_changed is True
    first = make_sample(after, None, 1.0, at=1.0, previous_candidate=None)
    assert first.loss_pct is None and first.bitrate_in_kbps is None  # no interval yet
    went_back = make_sample(before, after, 1.0, at=2.0, previous_candidate=None)
    assert went_back.loss_pct is None  # a new peer connection restarts the counters


def test_dbfs() -> None:
    assert to_dbfs(1.0) == 0.0 and to_dbfs(0.1) == -20.0 and to_dbfs(0.0) == -100.0
    assert to_dbfs(None) is None


def _sample(at: float, **figures: Any) -> LinkStatsSampled:
    return LinkStatsSampled(at=at, **figures)


def test_history_is_bounded_full_rate_then_coarse() -> None:
    history = LinkHistory(full_minutes=1, coarse_s=10, coarse_hours=0.1)  # 60 + 36 points
    for second in range(3 * 3600):
        history.add(_sample(float(second), rtt_ms=float(second % 100)))
    assert len(history.full) == 60 and history.full[-1].at == 3 * 3600 - 1
    assert len(history.coarse) == 36
    assert all(
        b.at - a.at >= 9 for a, b in zip(history.coarse, list(history.coarse)[1:], strict=False)
    )
    assert history.samples_seen == 3 * 3600
    summary = history.summary()
    assert summary["full_rate_points"] == 60 and summary["coarse_points"] == 36
    assert summary["figures"]["rtt_ms"]["p50"] is not None


def test_history_records_candidate_changes() -> None:
    history = LinkHistory()
    for at, candidate in [(1, "host/udp"), (2, "host/udp"), (3, "relay/tls"), (4, "relay/tls")]:
        history.add(_sample(float(at), candidate=candidate))
    assert list(history.candidates) == [(1.0, "host/udp"), (3.0, "relay/tls")]


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.raised: list[SessionError] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)

    def raise_error(self, error: SessionError) -> SessionError:
        self.raised.append(error)
        return error


def _sampler(thresholds: LinkThresholds | None = None) -> tuple[LinkSampler, Recorder, list[float]]:
    rec = Recorder()
    now = [1000.0]
    sampler = LinkSampler(rec.publish, rec.raise_error, thresholds, clock=lambda: now[0])
    return sampler, rec, now


def _feed(sampler: LinkSampler, now: list[float], readings: list[RawStats]) -> None:
    previous = None
    for raw in readings:
        now[0] += 1
        sampler.observe(raw, previous, 1.0)
        previous = raw


def test_loss_over_ten_seconds_raises_then_clears() -> None:
    sampler, rec, now = _sampler()
    readings = []
    received = lost = 0
    for second in range(30):
        received += 50
        lost += 5 if 5 <= second < 10 else 0  # 10 % loss for 5 s
        readings.append(
            RawStats(
                packets_received=received, packets_lost=lost, rtt_ms=20.0, candidate="host/udp"
            )
        )
    _feed(sampler, now, readings)
    samples = [e for e in rec.events if isinstance(e, LinkStatsSampled)]
    flagged = [i for i, s in enumerate(samples) if s.warnings]
    # 1 lossy second of 5 in the window is 5 of 255 packets (1.96 %), the 2nd crosses 2 %
    assert flagged and flagged[0] == 6
    assert "loss" in samples[6].warnings[0]
    # cleared once the lossy seconds have mostly aged out of the 10 s window
    assert not samples[-1].warnings and 10 < max(flagged) < 20
    assert [e.code for e in rec.raised] == ["transport.link_degraded"]  # raised once
    assert "loss" in rec.raised[0].message
    cleared = [e for e in rec.events if isinstance(e, LogRecorded)]
    assert len(cleared) == 1 and "cleared" in cleared[0].message
    assert sampler.snapshot()["warnings"] == []


def test_rtt_jitter_and_relay_thresholds_and_config() -> None:
    sampler, rec, now = _sampler()
    _feed(sampler, now, [RawStats(rtt_ms=350.0, jitter_ms=40.0, candidate="relay/udp")])
    warnings = rec.events[0].warnings  # type: ignore[attr-defined]
    assert len(warnings) == 3
    assert {w.split()[0] for w in warnings} == {"RTT", "jitter", "relay-only"}
    relaxed, rec2, now2 = _sampler(
        LinkThresholds(rtt_ms=400, jitter_ms=50, relay_is_degraded=False)
    )
    _feed(relaxed, now2, [RawStats(rtt_ms=350.0, jitter_ms=40.0, candidate="relay/udp")])
    assert rec2.events[0].warnings == () and rec2.raised == []  # type: ignore[attr-defined]


def test_catalogue_has_the_code() -> None:
    entry = lookup("transport.link_degraded")
    assert entry.source == "convai-tui" and entry.recoverable
    assert "UDP" in entry.fix and "Link tab" in entry.verify


def test_events_round_trip_as_json_lines() -> None:
    sample = LinkStatsSampled(
        rtt_ms=12.5, loss_pct=1.0, candidate="host/udp", warnings=("RTT 400 ms > 300 ms",), at=5.0
    )
    data = json.loads(json.dumps(sample.to_json()))
    assert data["type"] == "link_stats" and data["warnings"] == ["RTT 400 ms > 300 ms"]
    assert event_from_json(data) == sample
    timed = TurnTimed(turn=2, sent_to_first_text_ms=310.0, at=6.0)
    assert timed.to_json()["type"] == "turn_timing"
    assert event_from_json(json.loads(json.dumps(timed.to_json()))) == timed


def test_turn_timer_text_and_voice_turns() -> None:
    events: list[Event] = []
    now = [0.0]
    timer = TurnTimer(events.append, clock=lambda: now[0])

    def at(t: float, msg: str | None = None) -> None:
        now[0] = t
        if msg:
            timer.message(msg)

    at(10.0)
    timer.sent()
    at(10.05, "user-stopped-speaking")  # the server's echo of the typed text
    at(10.3, "bot-llm-started")
    at(10.4, "bot-llm-text")
    at(10.45, "bot-llm-text")
    at(10.9, "bot-started-speaking")
    at(12.0, "bot-turn-completed")
    at(20.0, "user-started-speaking")
    at(21.0, "user-stopped-speaking")
    at(21.5, "bot-llm-text")
    at(21.75, "bot-tts-started")
    at(23.0, "bot-turn-completed")
    at(30.0, "bot-turn-completed")  # nothing measured: no event
    timed = [e for e in events if isinstance(e, TurnTimed)]
    assert len(timed) == len(events) == 2
    old_figures = [
        (t.turn, t.sent_to_first_text_ms, t.sent_to_first_audio_ms, t.user_stop_to_speech_ms)
        for t in timed
    ]
    assert old_figures == [(1, 400.0, 900.0, None), (2, None, None, 750.0)]
    assert [(t.input, t.total_ms, t.end) for t in timed] == [
        ("text", 900.0, "received"),
        ("voice", 750.0, "received"),
    ]


def test_thresholds_come_from_the_config_file(tmp_path: Path) -> None:
    from convai_tui.config import load_settings

    path = tmp_path / "config.toml"
    path.write_text(
        "link_rtt_ms = 250\nlink_jitter_ms = 40\nlink_loss_pct = 5\nlink_warn_relay = false\n"
    )
    link = load_settings({}, environ={}, path=path).session_settings().link
    assert (link.rtt_ms, link.jitter_ms, link.loss_pct, link.relay_is_degraded) == (
        250.0,
        40.0,
        5.0,
        False,
    )
    assert (
        load_settings({}, environ={}, path=tmp_path / "none.toml").session_settings().link
        == LinkThresholds()
    )
