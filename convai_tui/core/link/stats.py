"""The link as a network engineer watches it: once a second, LiveKit's WebRTC stats
(`Room.get_rtc_stats()`) folded into one `LinkStatsSampled` event, a bounded history of them,
and the thresholds that raise and clear `transport.link_degraded`.

The stats are cumulative counters; a sample is the difference between two readings, so the
first reading after a join yields rates and loss only from the second one on. Nothing here
imports livekit: the stats object is read by its protobuf field names (the SDK's
`rtc.RtcStats`, or the JSON fixture the tests load), so the UI may reuse the history.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from convai_tui.core.api.events import Event, LinkStatsSampled, LogRecorded
from convai_tui.core.api.metrics import percentile
from convai_tui.core.errors.error import SessionError, make_error
from convai_tui.core.settings.session_settings import LinkThresholds
from convai_tui.runtime.task_set import stop_loop

SAMPLE_INTERVAL_S = 1.0
STATS_TIMEOUT_S = 2.0

# livekit.rtc.stats IceCandidateType and IceServerTransportProtocol values.
_CANDIDATE_TYPES = {0: "host", 1: "srflx", 2: "prflx", 3: "relay"}
_PROTOCOLS = {0: "udp", 1: "tcp", 2: "tls"}

PLOTTED = (
    "rtt_ms",
    "jitter_ms",
    "loss_pct",
    "bitrate_in_kbps",
    "bitrate_out_kbps",
    "audio_in_dbfs",
    "audio_out_dbfs",
)
"""The figures the Link view plots and the summaries give p50/p95 for."""


@dataclass(frozen=True, slots=True)
class RawStats:
    """One reading of the cumulative counters (None: the stats had no such report)."""

    bytes_in: int | None = None
    bytes_out: int | None = None
    packets_received: int | None = None
    packets_lost: int | None = None
    concealed_samples: int | None = None
    concealment_events: int | None = None
    jitter_buffer_delay_s: float | None = None
    jitter_buffer_emitted: int | None = None
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    audio_in_level: float | None = None
    audio_out_level: float | None = None
    candidate: str | None = None
    candidate_changes: int = 0


def _reports(stats: Any) -> Iterable[tuple[Any, str]]:
    for report in [*stats.publisher_stats, *stats.subscriber_stats]:
        yield report, report.WhichOneof("stats")


def _add(total: int | float | None, value: int | float) -> Any:
    return value if total is None else total + value


def parse_rtc_stats(stats: Any) -> RawStats:
    """Read the figures the Link view needs from both peer connections' reports.

    Transports give the bytes (all media and data); inbound audio RTP gives loss, jitter,
    concealment, jitter-buffer delay and the character's level; the microphone's media source
    gives the user's level; the selected candidate pair gives RTT and the path type."""
    pairs: dict[str, Any] = {}
    locals_: dict[str, Any] = {}
    selected: list[str] = []
    f: dict[str, Any] = {}
    changes = 0
    for report, which in _reports(stats):
        if which == "transport":
            t = report.transport.transport
            f["bytes_in"] = _add(f.get("bytes_in"), int(t.bytes_received))
            f["bytes_out"] = _add(f.get("bytes_out"), int(t.bytes_sent))
            changes += int(t.selected_candidate_pair_changes)
            if t.selected_candidate_pair_id:
                selected.append(t.selected_candidate_pair_id)
        elif which == "candidate_pair":
            pairs[report.candidate_pair.rtc.id] = report.candidate_pair.candidate_pair
        elif which == "local_candidate":
            locals_[report.local_candidate.rtc.id] = report.local_candidate.candidate
        elif which == "inbound_rtp" and report.inbound_rtp.stream.kind == "audio":
            received, inbound = report.inbound_rtp.received, report.inbound_rtp.inbound
            f["packets_received"] = _add(f.get("packets_received"), int(received.packets_received))
            f["packets_lost"] = _add(f.get("packets_lost"), max(0, int(received.packets_lost)))
            f["jitter_ms"] = max(f.get("jitter_ms") or 0.0, float(received.jitter) * 1000)
            f["concealed_samples"] = _add(
                f.get("concealed_samples"), int(inbound.concealed_samples)
            )
            f["concealment_events"] = _add(
                f.get("concealment_events"), int(inbound.concealment_events)
            )
            f["jitter_buffer_delay_s"] = _add(
                f.get("jitter_buffer_delay_s"), float(inbound.jitter_buffer_delay)
            )
            f["jitter_buffer_emitted"] = _add(
                f.get("jitter_buffer_emitted"), int(inbound.jitter_buffer_emitted_count)
            )
            if inbound.HasField("audio_level"):
                f["audio_in_level"] = max(
                    f.get("audio_in_level") or 0.0, float(inbound.audio_level)
                )
        elif which == "media_source" and report.media_source.source.kind == "audio":
            audio = report.media_source.audio
            if audio.HasField("audio_level"):
                f["audio_out_level"] = float(audio.audio_level)
    if not selected:
        selected = [pid for pid, pair in pairs.items() if pair.nominated]
    rtts = []
    for pair_id in selected:
        pair = pairs.get(pair_id)
        if pair is None:
            continue
        if int(pair.responses_received) > 0:  # 0.0 is a real RTT (< 1 ms) on loopback
            rtts.append(float(pair.current_round_trip_time) * 1000)
        candidate = locals_.get(pair.local_candidate_id)
        if candidate is not None and f.get("candidate") is None:
            f["candidate"] = describe_candidate(candidate)
    if rtts:
        f["rtt_ms"] = max(rtts)
    return RawStats(candidate_changes=changes, **f)


def describe_candidate(candidate: Any) -> str:
    """'host/udp', 'srflx/udp', 'host/tcp' or 'relay/tls' (the relay's protocol to TURN)."""
    kind = _CANDIDATE_TYPES.get(int(candidate.candidate_type), "?")
    if kind == "relay":
        return f"relay/{_PROTOCOLS.get(int(candidate.relay_protocol), '?')}"
    return f"{kind}/{(candidate.protocol or 'udp').lower()}"


def to_dbfs(level: float | None) -> float | None:
    """WebRTC's audioLevel (0..1, linear) in dBFS; silence floors at -100."""
    if level is None:
        return None
    return round(20 * math.log10(level), 1) if level > 1e-5 else -100.0


def _delta(now: int | float | None, before: int | float | None) -> float | None:
    if now is None or before is None or now < before:
        return None  # a counter that went back is a new peer connection, not a figure
    return float(now - before)


def make_sample(
    raw: RawStats,
    previous: RawStats | None,
    elapsed_s: float,
    at: float,
    previous_candidate: str | None,
) -> LinkStatsSampled:
    """The event for one reading, rates and loss from the difference to the previous one."""
    p = previous or RawStats()
    per_s = 1 / elapsed_s if elapsed_s > 0 else 0.0
    d_in, d_out = _delta(raw.bytes_in, p.bytes_in), _delta(raw.bytes_out, p.bytes_out)
    d_lost = _delta(raw.packets_lost, p.packets_lost)
    d_recv = _delta(raw.packets_received, p.packets_received)
    loss = None
    if d_lost is not None and d_recv is not None and d_lost + d_recv > 0:
        loss = round(100 * d_lost / (d_lost + d_recv), 2)
    d_jb = _delta(raw.jitter_buffer_delay_s, p.jitter_buffer_delay_s)
    d_emit = _delta(raw.jitter_buffer_emitted, p.jitter_buffer_emitted)
    return LinkStatsSampled(
        rtt_ms=_round(raw.rtt_ms),
        jitter_ms=_round(raw.jitter_ms),
        loss_pct=loss,
        packets_lost=raw.packets_lost,
        packets_received=raw.packets_received,
        lost_in_interval=int(d_lost) if d_lost is not None else None,
        received_in_interval=int(d_recv) if d_recv is not None else None,
        concealed_samples=raw.concealed_samples,
        concealment_events=raw.concealment_events,
        jitter_buffer_ms=_round(1000 * d_jb / d_emit) if d_jb is not None and d_emit else None,
        bitrate_in_kbps=_round(d_in * 8 / 1000 * per_s) if d_in is not None and per_s else None,
        bitrate_out_kbps=(
            _round(d_out * 8 / 1000 * per_s) if d_out is not None and per_s else None
        ),
        audio_in_dbfs=to_dbfs(raw.audio_in_level),
        audio_out_dbfs=to_dbfs(raw.audio_out_level),
        candidate=raw.candidate,
        candidate_changed=(
            previous_candidate is not None
            and raw.candidate is not None
            and raw.candidate != previous_candidate
        ),
        at=at,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- thresholds --------------------------------------------------------------------------------


class LinkHealth:
    """Which thresholds the recent samples cross; loss is judged over `loss_window_s`."""

    def __init__(self, thresholds: LinkThresholds) -> None:
        self.thresholds = thresholds
        self._window: deque[tuple[float, int, int]] = deque()
        self.active: tuple[str, ...] = ()

    def check(self, sample: LinkStatsSampled) -> tuple[str, ...]:
        t = self.thresholds
        if sample.lost_in_interval is not None and sample.received_in_interval is not None:
            self._window.append((sample.at, sample.lost_in_interval, sample.received_in_interval))
        while self._window and self._window[0][0] <= sample.at - t.loss_window_s:
            self._window.popleft()
        lost = sum(w[1] for w in self._window)
        total = lost + sum(w[2] for w in self._window)
        reasons = []
        if sample.rtt_ms is not None and sample.rtt_ms > t.rtt_ms:
            reasons.append(f"RTT {sample.rtt_ms:.0f} ms > {t.rtt_ms:g} ms")
        if sample.jitter_ms is not None and sample.jitter_ms > t.jitter_ms:
            reasons.append(f"jitter {sample.jitter_ms:.0f} ms > {t.jitter_ms:g} ms")
        if total and 100 * lost / total > t.loss_pct:
            reasons.append(
                f"loss {100 * lost / total:.1f} % > {t.loss_pct:g} % over {t.loss_window_s:g} s"
            )
        if t.relay_is_degraded and (sample.candidate or "").startswith("relay"):
            reasons.append(f"relay-only ICE ({sample.candidate})")
        self.active = tuple(reasons)
        return self.active


# --- history -----------------------------------------------------------------------------------


@dataclass(slots=True)
class LinkHistory:
    """The last `full_minutes` of samples at full rate, then one averaged point per
    `coarse_s` for `coarse_hours` more: bounded memory whatever the session's length."""

    full_minutes: float = 15.0
    coarse_s: float = 60.0
    coarse_hours: float = 12.0
    full: deque[LinkStatsSampled] = field(init=False)
    coarse: deque[LinkStatsSampled] = field(init=False)
    _bucket: list[LinkStatsSampled] = field(default_factory=list)
    candidates: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=32))
    samples_seen: int = 0

    def __post_init__(self) -> None:
        self.full = deque(maxlen=max(1, int(self.full_minutes * 60 / SAMPLE_INTERVAL_S)))
        self.coarse = deque(maxlen=max(1, int(self.coarse_hours * 3600 / self.coarse_s)))

    def add(self, sample: LinkStatsSampled) -> None:
        self.samples_seen += 1
        if sample.candidate and (not self.candidates or self.candidates[-1][1] != sample.candidate):
            self.candidates.append((sample.at, sample.candidate))
        if len(self.full) == self.full.maxlen:
            evicted = self.full[0]
            if self._bucket and evicted.at - self._bucket[0].at >= self.coarse_s:
                self.coarse.append(average(self._bucket))
                self._bucket = []
            self._bucket.append(evicted)
        self.full.append(sample)

    def series(self, name: str) -> list[float]:
        """The full-rate values of one figure, oldest first (gaps left out)."""
        return [v for s in self.full if (v := getattr(s, name)) is not None]

    def summary(self) -> dict[str, Any]:
        """Current, p50 and p95 of each plotted figure, for snapshots and reports."""
        out: dict[str, Any] = {}
        latest = self.full[-1] if self.full else None
        for name in PLOTTED:
            values = self.series(name)
            out[name] = {
                "current": getattr(latest, name) if latest else None,
                "p50": _round(percentile(values, 50)),
                "p95": _round(percentile(values, 95)),
            }
        return {
            "samples": self.samples_seen,
            "full_rate_points": len(self.full),
            "coarse_points": len(self.coarse),
            "candidate": latest.candidate if latest else None,
            "candidate_changes": [{"at": at, "candidate": c} for at, c in self.candidates],
            "warnings": list(latest.warnings) if latest else [],
            "figures": out,
        }


def average(samples: list[LinkStatsSampled]) -> LinkStatsSampled:
    """One coarse point: the mean of each figure, the last candidate and counters."""

    def mean(name: str) -> float | None:
        values = [v for s in samples if (v := getattr(s, name)) is not None]
        return _round(sum(values) / len(values)) if values else None

    last = samples[-1]
    return LinkStatsSampled(
        rtt_ms=mean("rtt_ms"),
        jitter_ms=mean("jitter_ms"),
        loss_pct=mean("loss_pct"),
        packets_lost=last.packets_lost,
        packets_received=last.packets_received,
        concealed_samples=last.concealed_samples,
        concealment_events=last.concealment_events,
        jitter_buffer_ms=mean("jitter_buffer_ms"),
        bitrate_in_kbps=mean("bitrate_in_kbps"),
        bitrate_out_kbps=mean("bitrate_out_kbps"),
        audio_in_dbfs=mean("audio_in_dbfs"),
        audio_out_dbfs=mean("audio_out_dbfs"),
        candidate=last.candidate,
        at=last.at,
    )


# --- the sampler -------------------------------------------------------------------------------


class LinkSampler:
    """Reads the room's stats once a second while in a room; publishes each sample and raises
    `transport.link_degraded` when a threshold is crossed (and logs when it clears)."""

    def __init__(
        self,
        publish: Callable[[Event], None],
        raise_error: Callable[[SessionError], SessionError],
        thresholds: LinkThresholds | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._publish = publish
        self._raise = raise_error
        self.thresholds = thresholds or LinkThresholds()
        self._clock = clock
        self.health = LinkHealth(self.thresholds)
        self.history = LinkHistory(full_minutes=self.thresholds.history_minutes)
        self._task: asyncio.Task[None] | None = None

    def start(self, transport: Any) -> None:
        """Begin sampling a freshly joined room (transports without stats are skipped)."""
        if hasattr(transport, "get_rtc_stats"):
            self._task = asyncio.create_task(self._run(transport), name="convai-link-stats")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await stop_loop(task)

    async def _run(self, transport: Any) -> None:
        previous: RawStats | None = None
        previous_at = time.monotonic()
        while True:
            await asyncio.sleep(SAMPLE_INTERVAL_S)
            try:
                async with asyncio.timeout(STATS_TIMEOUT_S):  # wait_for can swallow a cancel
                    stats = await transport.get_rtc_stats()
                raw = parse_rtc_stats(stats) if stats is not None else None
            except (TimeoutError, AttributeError, ValueError):
                raw = None  # a reading that failed is a gap in the plot, not an error
            except Exception:  # the FFI raises plain exceptions once the room is gone
                raw = None
            if raw is None:
                continue
            now = time.monotonic()
            self.observe(raw, previous, now - previous_at)
            previous, previous_at = raw, now

    def observe(self, raw: RawStats, previous: RawStats | None, elapsed_s: float) -> None:
        """Fold one reading in: publish the sample, then raise or clear the warning."""
        last = self.history.full[-1].candidate if self.history.full else None
        sample = make_sample(raw, previous, elapsed_s, self._clock(), last)
        was = self.health.active
        reasons = self.health.check(sample)
        if reasons:
            sample = _with_warnings(sample, reasons)
        self.history.add(sample)
        self._publish(sample)
        if reasons and not was:
            self._raise(
                make_error(
                    "transport.link_degraded", "The link is degraded: " + "; ".join(reasons) + "."
                )
            )
        elif was and not reasons:
            self._publish(
                LogRecorded(
                    level="info",
                    category="transport",
                    message="transport.link_degraded cleared: the link is "
                    "within its thresholds again.",
                )
            )

    def snapshot(self) -> dict[str, Any]:
        out = self.history.summary()
        out["thresholds"] = {
            "rtt_ms": self.thresholds.rtt_ms,
            "jitter_ms": self.thresholds.jitter_ms,
            "loss_pct": self.thresholds.loss_pct,
            "loss_window_s": self.thresholds.loss_window_s,
            "relay_is_degraded": self.thresholds.relay_is_degraded,
        }
        return out


def _with_warnings(sample: LinkStatsSampled, reasons: tuple[str, ...]) -> LinkStatsSampled:
    return dataclasses.replace(sample, warnings=reasons)
