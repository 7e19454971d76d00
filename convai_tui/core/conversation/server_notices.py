"""Server messages with nothing to act on, the server's `metrics`, and every type no other part
of the session owns (the session's fallback).

Notices (vad-stt-*, bot-tts-*, user-mute-*, bot-output, interaction-created, ...) become
ServerNotice events, so they are in headless JSON, the session log and replay; `metrics`
messages become ServerMetricsReceived and fold into the diagnostics. A type nobody knows is
counted and announced once per type, never an error storm.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from convai_tui.core.api.events import Event, ServerMetricsReceived, ServerNotice
from convai_tui.core.rtvi import protocol

NOTICE_TYPES = frozenset(
    {
        "vad-stt-started",
        "vad-stt-stopped",
        "bot-tts-stopped",
        "bot-tts-text",
        "bot-output",
        "user-mute-started",
        "user-mute-stopped",
        "interaction-created",
        "behavior-tree-response",
        "blendshape-turn-stats",
        "neurosync-blendshapes-cancel",
        "vad-stt-debug",
        "turn-trace",
        "server-log",
        "usage-update",
        "audio-data",
        "user-llm-text",
        "bot-llm-search-response",
    }
)
"""Documented types we show and log but that change nothing in the session."""

_NOISY = frozenset({"bot-tts-text", "audio-data"})
"""Per word / per audio chunk: counted, not evented one by one."""

_DROPPED_FIELDS = frozenset({"audio", "bt_code", "bt_constants"})
"""Bulky payloads left out of the event (their presence is noted)."""

METRIC_BUCKETS = ("ttfb", "processing", "custom", "tokens", "characters")


class ServerNotices:
    def __init__(self, publish: Callable[[Event], None]) -> None:
        self._publish = publish
        self.counts: Counter[str] = Counter()
        """Messages per type handled here (the diagnostics' `server_messages`)."""
        self.unknown: Counter[str] = Counter()
        self.metrics: dict[str, Any] = {}
        """The latest value per `bucket processor[ metric]`, for the Diagnostics tab."""
        self.routes: protocol.Routes = {
            "metrics": self._on_metrics,
            **dict.fromkeys(NOTICE_TYPES, self._on_notice),
        }

    def on_unknown(self, msg: protocol.InboundMessage) -> None:
        """A type no part of the session owns: counted, announced once per type."""
        self.counts[msg.type] += 1
        self.unknown[msg.type] += 1
        if self.unknown[msg.type] == 1:
            self._publish(ServerNotice(message_type=msg.type, known=False))

    def _on_notice(self, msg: protocol.InboundMessage) -> None:
        self.counts[msg.type] += 1
        if msg.type not in _NOISY or self.counts[msg.type] == 1:
            fields = {k: ("…" if k in _DROPPED_FIELDS else v) for k, v in msg.data.items()}
            self._publish(ServerNotice(message_type=msg.type, fields=fields))

    def _on_metrics(self, msg: protocol.InboundMessage) -> None:
        self.counts[msg.type] += 1
        for bucket, entries in msg.data.items():
            if not isinstance(entries, list):
                continue
            kept = tuple(e for e in entries if isinstance(e, dict))
            for entry in kept:
                name = f"{bucket} {entry.get('processor', '?')}"
                if entry.get("metric"):
                    name += f" {entry['metric']}"
                self.metrics[name] = entry.get("value")
            self._publish(ServerMetricsReceived(kind=bucket, entries=kept))

    def diagnostics(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.metrics:
            out["server_metrics"] = dict(self.metrics)
        if self.unknown:
            out["unknown_message_types"] = dict(self.unknown)
        return out
