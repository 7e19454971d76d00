"""Scripted faults and timings of the stand-in, shared by the CLI, the admin route and the bots.

One mutable ``Faults`` object lives per stand-in; the connect API and every bot read it at the
moment they need a value, so a ``POST /_standin/faults`` takes effect on the next request or
timer tick without restarting anything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

ResponseForm = Literal["flat", "wrapped"]
Realism = Literal["strict", "lenient"]
TtsMode = Literal["espeak", "tone", "none"]


class FaultsError(ValueError):
    """A fault update with an unknown field or a value of the wrong type."""


@dataclass
class Faults:
    """Everything a test or demo can script. Defaults behave like a healthy service."""

    connect_status: int | None = None
    """Answer /connect with this HTTP status instead of doing the real work."""
    connect_detail: str | None = None
    """``detail`` for the faulted answer (default: a realistic text for the status)."""
    connect_body: str | None = None
    """Raw body for the faulted answer (JSON or text); wins over ``connect_detail``."""
    connect_fault_count: int = 0
    """How many /connect calls get the fault; 0 = all of them."""
    connect_delay_s: float = 0.0
    """Latency added before /connect answers (success or fault)."""
    connect_hang: bool = False
    """Never answer /connect; the client has to time out."""
    connect_no_token: bool = False
    """Answer 200 without the ``token`` key (Unity: "Failed to get room details")."""
    concurrency_limit: int = 0
    """Active sessions allowed per API key; 0 = unlimited."""
    idle_warning_after_s: float = 240.0
    idle_timeout_after_s: float = 300.0
    usage_limit_after_turns: int = 0
    """Send ``usage-limit-reached`` and close after this many bot turns; 0 = never."""
    quota_type: str = "minutes"
    server_error_after_turns: int = 0
    """Send an RTVI ``error`` after this many bot turns; 0 = never."""
    server_error_fatal: bool = False
    response_form: ResponseForm = "flat"
    """How ``server-response`` acks are sent: documented flat form or wrapped in server-message."""
    tts: TtsMode = "espeak"
    release_grace_s: float = 2.0
    """How long a session's slot survives its client leaving the room."""
    join_timeout_s: float = 30.0
    """A session whose client never joins the room is ended after this long."""
    realism: Realism = "strict"
    """strict: behave like the real service as documented (local/character/realism.py); lenient: the
    older, forgiving stand-in (bot-ready unsolicited, one form of each message)."""
    bot_ready_grace_s: float = 3.0
    """strict: bot-ready without any client-ready after this long (the web SDK sends none);
    0 = only ever in answer to a client-ready."""
    drop_first_client_ready: bool = False
    """strict: ignore the first client-ready of each client (its resend must get through)."""
    withhold_bot_ready: bool = False
    """Never send bot-ready (the client's bot-ready timeout must fire)."""
    delete_room_on_kill: bool = False
    """Delete the room the moment ``kill-pipeline`` arrives, while the client is still leaving
    it (the real service may not wait; the client's leave must stay bounded)."""
    publish_audio_track: bool = True
    """False: the character publishes no track at all (a text-only character)."""
    moderation_word: str = "forbidden"
    """strict: user text containing this word is blocked (moderation-response)."""
    no_response_prompt: str = "say nothing"
    """strict: user text containing this makes the character abstain (llm-no-response)."""
    actions_when_asked: bool = False
    """strict, with an action_config: an action-response only when the user's words name one
    of its actions ("wave"); otherwise the first action every turn. The demo's characters."""
    abort_word: str = "abort"
    """strict: user text containing this gets a turn aborted with audio_delivery_failed."""
    asr_delay_ms: float = 0.0
    """Time the speech-to-text stage spends on every turn before the user's final transcript."""
    llm_delay_ms: float = 0.0
    """Time the LLM stage spends before its first text (bot-llm-started → first bot-llm-text)."""
    tts_delay_ms: float = 0.0
    """Time the TTS stage spends before the first audio (bot-tts-started → speaking)."""
    connect_faults_used: int = field(default=0, repr=False)
    """How many /connect calls have been faulted so far (counts against connect_fault_count)."""

    def take_connect_fault(self) -> bool:
        """True if this /connect call should get the scripted status (and count it)."""
        if self.connect_status is None:
            return False
        if self.connect_fault_count and self.connect_faults_used >= self.connect_fault_count:
            return False
        self.connect_faults_used += 1
        return True

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update (admin route); validates names and types first."""
        known = {f.name: f for f in dataclasses.fields(self)}
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known or name == "connect_faults_used":
                raise FaultsError(f"unknown fault field: {name}")
            checked[name] = _check_value(name, value)
        for name, value in checked.items():
            setattr(self, name, value)
        if "connect_status" in checked or "connect_fault_count" in checked:
            self.connect_faults_used = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_INT_FIELDS = {
    "connect_fault_count",
    "concurrency_limit",
    "usage_limit_after_turns",
    "server_error_after_turns",
}
_FLOAT_FIELDS = {
    "connect_delay_s",
    "idle_warning_after_s",
    "idle_timeout_after_s",
    "release_grace_s",
    "join_timeout_s",
    "bot_ready_grace_s",
    "asr_delay_ms",
    "llm_delay_ms",
    "tts_delay_ms",
}
_BOOL_FIELDS = {
    "connect_hang",
    "connect_no_token",
    "server_error_fatal",
    "drop_first_client_ready",
    "withhold_bot_ready",
    "delete_room_on_kill",
    "publish_audio_track",
    "actions_when_asked",
}
_OPTIONAL_STR_FIELDS = {"connect_detail", "connect_body"}


def _check_value(name: str, value: Any) -> Any:
    if name == "connect_status":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
            raise FaultsError("connect_status must be an HTTP status code or null")
        return value
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FaultsError(f"{name} must be a non-negative integer")
        return value
    if name in _FLOAT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise FaultsError(f"{name} must be a non-negative number")
        return float(value)
    if name in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise FaultsError(f"{name} must be true or false")
        return value
    if name in _OPTIONAL_STR_FIELDS:
        if value is not None and not isinstance(value, str):
            raise FaultsError(f"{name} must be a string or null")
        return value
    if name == "realism":
        if value not in ("strict", "lenient"):
            raise FaultsError('realism must be "strict" or "lenient"')
        return value
    if name in ("quota_type", "moderation_word", "no_response_prompt", "abort_word"):
        if not isinstance(value, str):
            raise FaultsError(f"{name} must be a string")
        return value
    if name == "response_form":
        if value not in ("flat", "wrapped"):
            raise FaultsError('response_form must be "flat" or "wrapped"')
        return value
    if name == "tts":
        if value not in ("espeak", "tone", "none"):
            raise FaultsError('tts must be "espeak", "tone" or "none"')
        return value
    raise FaultsError(f"unknown fault field: {name}")
