"""What one session needs from the user, and its validation before any network traffic.

Kept free of LiveKit and httpx so that configuration (convai_tui.config, doctor's checks, their tests)
never loads the WebRTC stack.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from convai_tui.core.errors.error import SessionError, make_error
from convai_tui.core.settings.connect_options import ConnectOptions, options_error
from convai_tui.core.settings.retry import RetryPolicy
from convai_tui.core.settings.room_request import RoomRequest

MAX_CONNECT_TIMEOUT_S = 120.0
"""Unity's upper bound for the connection timeout (both /connect and the room join)."""

CONTROL_TYPES = frozenset(
    {
        "user_text_message",
        "trigger-message",
        "context-update",
        "update-template-keys",
        "update-scene-metadata",
        "update-dynamic-info",
        "tts-toggle",
        "stt-toggle",
        "interrupt-bot",
        "force-user-stopped-speaking",
        "reset-idle-timer",
        "kill-pipeline",
        "usage-toggle",
        "vision-status",
        "vision-trigger",
    }
)
"""The client message types the session port's send_control accepts (the docs' glossary)."""

VIDEO_TYPES = frozenset({"vision-status", "vision-trigger"})
"""Sent only when the session has video; refused with the reason otherwise."""


@dataclass(frozen=True, slots=True)
class LinkThresholds:
    """When the link counts as degraded (config file: link_rtt_ms, link_jitter_ms, ...)."""

    rtt_ms: float = 300.0
    jitter_ms: float = 30.0
    loss_pct: float = 2.0
    loss_window_s: float = 10.0
    relay_is_degraded: bool = True
    history_minutes: float = 15.0


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """Everything the core needs to run one session; built by convai_tui.config.Settings from flags/env/file."""

    connect_url: str
    api_key: str
    character_id: str
    connection_timeout_s: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    character_session_id: str | None = None
    end_user_id: str | None = None
    insecure_http: bool = False
    bot_ready_timeout_s: float = 45.0
    input_queue_limit: int = 8
    input_queue_max_age_s: float = 30.0
    character_name: str | None = None
    link_stall_s: float | None = 5.0
    """No packet at all from the LiveKit server for this long while Connected → Reconnecting
    until packets flow again (LiveKit's own ping timeout is 15 s); None turns the watch off."""
    connect_options: ConnectOptions = field(default_factory=ConnectOptions)
    """Emotion, actions, scene, VAD, ... asked for on /connect (connect_options.py)."""
    link: LinkThresholds = field(default_factory=LinkThresholds)
    """When the sampled link counts as degraded (transport.link_degraded)."""
    room: RoomRequest | None = None
    """A multi-character room to create or join; None = one character."""
    sla_voice_ms: int = 3000
    """A voice turn slower than this (end of speech → first sound) is over its target."""
    sla_text_ms: int = 1200
    """A typed or trigger turn slower than this (send → first sound) is over its target."""


def validate_settings(settings: SessionSettings) -> SessionError | None:
    """Configuration errors, found before any network traffic (seeds/000 'config.*')."""
    if not settings.api_key.strip():
        return make_error(
            "config.api_key_missing",
            "No API key: pass --api-key, set CONVAI_API_KEY or add api_key to the config file.",
        )
    joining = settings.room is not None and settings.room.join is not None
    if not settings.character_id.strip() and not joining:
        return make_error(
            "config.character_id_missing",
            "No character id: pass --character-id, set CONVAI_CHARACTER_ID or add "
            "character_id to the config file.",
        )
    parts = urlsplit(settings.connect_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return make_error(
            "config.invalid", f"The connect URL {settings.connect_url!r} is not an http(s) URL."
        )
    if parts.scheme == "http" and not settings.insecure_http and not is_loopback(parts.hostname):
        return make_error(
            "config.insecure_url",
            f"Refusing to send the API key over plain http to {parts.hostname}; "
            "use https or pass --insecure-http.",
        )
    if not 0 < settings.connection_timeout_s <= MAX_CONNECT_TIMEOUT_S:
        return make_error(
            "config.invalid",
            f"The connection timeout must be between 0 and "
            f"{MAX_CONNECT_TIMEOUT_S:g} s (got {settings.connection_timeout_s:g}).",
        )
    problem = options_error(settings.connect_options)
    if problem is not None:
        return make_error("config.invalid", f"Connect options: {problem}")
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
