"""Session events that are measurements: audio levels, audio warnings cleared, each
participant's level, the WebRTC link's statistics and each turn's timing.

Imported through ``convai_tui.core.api.events``, which re-exports every name here and imports
this module where these classes stood in it, so they register in ``EVENT_CLASSES`` in the same
order (the README's generated headless table follows that order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from convai_tui.core.api.event_base import Event


@dataclass(frozen=True, slots=True)
class AudioLevels(Event):
    """Mic and character levels in dBFS, sampled (never per audio frame)."""

    TYPE: ClassVar[str] = "audio_levels"
    mic_dbfs: float | None
    speaker_dbfs: float | None
    muted: bool


@dataclass(frozen=True, slots=True)
class AudioProblemCleared(Event):
    """An audio warning raised earlier as an `error` line (its `code`, e.g.
    audio.playback_dropping) no longer applies: playback keeps up with real time again."""

    TYPE: ClassVar[str] = "audio_problem_cleared"
    code: str


@dataclass(frozen=True, slots=True)
class ParticipantLevels(Event):
    """Each remote participant's level in dBFS (identity → dBFS), measured on its own audio
    as it arrives; when someone starts or stops speaking, when a speaker gets 6 dB louder than
    last reported, about once a second while anyone speaks, and once when all fall quiet.
    `speaking` lists the identities above the speech threshold.

    Drives the room table's meters and speaking indicators."""

    TYPE: ClassVar[str] = "participant_levels"
    levels: dict[str, float] = field(default_factory=dict)
    speaking: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LinkStatsSampled(Event):
    """One second of the WebRTC link (core/link/stats.py): RTT of the selected candidate pair,
    inbound audio jitter and loss (% over the interval), concealment, jitter-buffer delay,
    bitrates, audio levels and the ICE path. None: not measurable in this interval."""

    TYPE: ClassVar[str] = "link_stats"
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    loss_pct: float | None = None
    packets_lost: int | None = None
    packets_received: int | None = None
    lost_in_interval: int | None = None
    received_in_interval: int | None = None
    concealed_samples: int | None = None
    concealment_events: int | None = None
    jitter_buffer_ms: float | None = None
    bitrate_in_kbps: float | None = None
    bitrate_out_kbps: float | None = None
    audio_in_dbfs: float | None = None
    audio_out_dbfs: float | None = None
    candidate: str | None = None
    """The selected local candidate: host/udp, srflx/udp, host/tcp, relay/udp|tcp|tls."""
    candidate_changed: bool = False
    warnings: tuple[str, ...] = ()
    """The degraded-link thresholds this sample crosses (empty: healthy)."""


@dataclass(frozen=True, slots=True)
class TurnTimed(Event):
    """How long one turn took to start answering and where the time went (a waterfall of
    `segments` adding up to `total_ms`; core/conversation/turn_timing.py), in ms."""

    TYPE: ClassVar[str] = "turn_timing"
    turn: int
    sent_to_first_text_ms: float | None = None
    sent_to_first_audio_ms: float | None = None
    user_stop_to_speech_ms: float | None = None
    """Voice turns: the user stopped speaking → the character started speaking."""
    turn_id: str | None = None
    """The server's id for the turn (from its turn-trace); null without one."""
    input: str = "text"
    """text, voice or trigger."""
    outcome: str = "completed"
    """completed, interrupted, canceled, aborted or no_response: a cut-short turn is not slow."""
    total_ms: float | None = None
    """The user's last word (voice) or the send (text, trigger) → the reply's first sound."""
    end: str | None = None
    """played (first audible frame to the speaker) or received (first audio / speaking arrival)."""
    segments: tuple[dict[str, Any], ...] = ()
    """In order: {name, ms, owner: client|network|server|setting, source:
    measured|server|estimated}; the ms add up to total_ms."""
    server: dict[str, Any] | None = None
    """The server's turn-trace fields as received (debug sessions), or null."""
    sla_ms: int | None = None
    over_sla: bool | None = None
