"""The error catalogue: every session error code with its category, stage, cause, fix and check.

Codes and their recoverable flags follow Convai's Unity SDK (`SessionErrorCodes`) and the
tables in shared/seeds/000 and docs/convai-protocol.md §4.3. Codes marked ``source="convai-tui"``
are ours: they name situations the SDKs report only as free text (a LiveKit disconnect reason,
an idle timeout, a refused send).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum


class ErrorStage(StrEnum):
    """Where in the session's life an error arose (Unity `SessionErrorStage`)."""

    UNKNOWN = "Unknown"
    CONFIGURATION = "Configuration"
    CONNECT_API = "ConnectApi"
    TRANSPORT = "Transport"
    SESSION_RECOVERY = "SessionRecovery"
    RUNTIME = "Runtime"


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """What the documentation says about one error code."""

    code: str
    stage: ErrorStage
    recoverable: bool
    cause: str
    fix: str
    verify: str
    source: str = "convai"

    @property
    def category(self) -> str:
        return self.code.split(".", 1)[0]


def _e(
    code: str,
    stage: ErrorStage,
    recoverable: bool,
    cause: str,
    fix: str,
    verify: str = "",
    source: str = "convai",
) -> CatalogueEntry:
    return CatalogueEntry(code, stage, recoverable, cause, fix, verify, source)


_CFG = ErrorStage.CONFIGURATION
_API = ErrorStage.CONNECT_API
_TRN = ErrorStage.TRANSPORT
_RUN = ErrorStage.RUNTIME
_REC = ErrorStage.SESSION_RECOVERY
_CONNECTED = "The session reaches Connected."

CATALOGUE_ENTRIES: tuple[CatalogueEntry, ...] = (
    # config.* — fire before any network traffic.
    _e(
        "config.api_key_missing",
        _CFG,
        False,
        "No API key is configured.",
        "Pass --api-key, set CONVAI_API_KEY, or put api_key in the config file "
        "(`convai-tui config path` prints where it lives).",
        "The error no longer fires on connect.",
    ),
    _e(
        "config.character_id_missing",
        _CFG,
        False,
        "No character id is configured.",
        "Pass --character-id, set CONVAI_CHARACTER_ID, or put character_id in the config file.",
        "The error no longer fires on connect.",
    ),
    _e(
        "config.auth_token_provider_missing",
        _CFG,
        False,
        "Token authentication was chosen but no token provider is configured.",
        "Configure an auth-token endpoint or use an API key instead.",
        "The error no longer fires on connect.",
    ),
    _e(
        "config.auth_token_endpoint_invalid",
        _CFG,
        False,
        "The auth-token endpoint URL is not a valid URL.",
        "Fix the auth-token endpoint URL in the configuration.",
        "The error no longer fires on connect.",
    ),
    _e(
        "config.auth_token_mode_required",
        _CFG,
        False,
        "The build requires token authentication but an API key mode was chosen.",
        "Switch the authentication mode to auth tokens.",
        "The error no longer fires on connect.",
    ),
    _e(
        "config.invalid",
        _CFG,
        False,
        "A configuration value is out of range or malformed (connect URL, timeout, device).",
        "Read the message for the field; fix the flag, CONVAI_* variable or config file entry.",
        "The error no longer fires on connect.",
        source="convai-tui",
    ),
    _e(
        "config.insecure_url",
        _CFG,
        False,
        "The connect URL uses plain http:// to a host that is not on this machine.",
        "Use https://, or pass --insecure-http if you really mean to send the key unencrypted.",
        "The error no longer fires on connect.",
        source="convai-tui",
    ),
    # config.* for multi-character rooms: the Unity SDK refuses these locally, before any
    # request (docs/multi-character.md §1-2).
    _e(
        "config.too_many_characters",
        _CFG,
        False,
        "A multi-character room asks for more than 50 characters; Convai rooms hold at most 50.",
        "Pass at most 50 --character entries (or `characters` in the config file); the plan "
        "behind the API key may allow fewer still.",
        "The error no longer fires on connect.",
        source="convai-tui",
    ),
    _e(
        "config.character_id_empty",
        _CFG,
        False,
        "A character in the room has an empty id (`--character ''` or `--character :SESSION`).",
        "Give every --character entry a character id from the Convai dashboard.",
        "The error no longer fires on connect.",
        source="convai-tui",
    ),
    _e(
        "config.duplicate_character_session_id",
        _CFG,
        False,
        "Two characters in the room name the same character session id; each instance "
        "needs its own conversation.",
        "Give each --character ID:CHARACTER_SESSION_ID a distinct session id, or drop the "
        "session id so that instance starts a new conversation.",
        "The error no longer fires on connect.",
        source="convai-tui",
    ),
    _e(
        "config.join_locator_invalid",
        _CFG,
        False,
        "Joining a room needs exactly one locator: both --join and --join-key were given, "
        "or neither.",
        "Pass either --join ROOM_SESSION_ID or --join-key SHARED_SESSION_KEY, not both.",
        "The error no longer fires on connect.",
        source="convai-tui",
    ),
    _e(
        "config.join_with_characters",
        _CFG,
        False,
        "Joining an existing room sends no characters; --character was given with --join or "
        "--join-key.",
        "Drop --character when joining: the room already has its cast.",
        "The error no longer fires on connect.",
        source="convai-tui",
    ),
    _e(
        "config.end_user_id_missing",
        _CFG,
        False,
        "A multi-character room (create or join) needs a non-empty end_user_id.",
        "Pass --end-user-id, or leave it unset to use this machine's stable default.",
        "The error no longer fires on connect.",
        source="convai-tui",
    ),
    # connection.* — the connect API or the network.
    _e(
        "connection.connect_invalid_api_key",
        _API,
        False,
        "The API key was rejected by Convai (HTTP 401).",
        "Copy a fresh key from the Convai dashboard; check for trailing spaces.",
        _CONNECTED,
    ),
    _e(
        "connection.auth_failed",
        _API,
        False,
        "Authentication failed: a revoked token or bad credentials (HTTP 403).",
        "Re-enter your API key; check whether the key was revoked on the dashboard.",
        _CONNECTED,
    ),
    _e(
        "connection.invalid_token",
        _API,
        False,
        "The connection token provided is invalid.",
        "Tokens are generated internally: reconnect to get a fresh one.",
        _CONNECTED,
    ),
    _e(
        "connection.connect_invalid_session_id",
        _API,
        False,
        "The connect request used an invalid session identifier (HTTP 400).",
        "Session ids are generated internally: reconnect to reset the session "
        "(drop a stored character_session_id).",
        _CONNECTED,
    ),
    _e(
        "connection.connect_character_not_found",
        _API,
        False,
        "The character id does not exist on your account (HTTP 404).",
        "Verify the character id in the Convai dashboard matches exactly; check for "
        "copy-paste whitespace.",
        _CONNECTED,
    ),
    _e(
        "connection.connect_realtime_not_allowed",
        _API,
        False,
        "Realtime access is not enabled for this account (HTTP 403).",
        "Upgrade your Convai plan or contact support.",
        _CONNECTED,
    ),
    _e(
        "connection.connect_multi_character_not_allowed",
        _API,
        False,
        "Multi-character sessions are not enabled for this account (HTTP 403, "
        "multi_character_v0_disabled).",
        "Connect a single character, or ask Convai to enable multi-character sessions.",
        _CONNECTED,
    ),
    _e(
        "connection.connect_multi_character_roster_limit",
        _API,
        False,
        "The multi-character roster limit was exceeded (HTTP 403, "
        "multi_character_roster_limit_exceeded).",
        "Connect fewer characters in one room.",
        _CONNECTED,
    ),
    _e(
        "connection.connect_concurrency_limit_reached",
        _API,
        True,
        "Your plan's simultaneous session limit is reached (HTTP 429).",
        "Disconnect idle characters or wait for a slot (the waiting room retries for you); "
        "upgrade the plan for higher limits.",
        _CONNECTED,
    ),
    _e(
        "connection.connect_speaker_limit_reached",
        _API,
        False,
        "The account's speaker (end-user) limit is reached (HTTP 429 mentioning speaker). "
        "One Convai table calls this retryable; the SDK code does not retry it, nor do we.",
        "Reduce concurrent active characters or end users; delete unused speakers.",
        _CONNECTED,
    ),
    _e(
        "connection.connect_bot_start_failed",
        _API,
        True,
        "Convai's pipeline failed to start (HTTP 500 'failed to start bot'; transient).",
        "Retried automatically; if it persists, contact Convai support.",
        _CONNECTED,
    ),
    _e(
        "connection.connect_unhandled_server_exception",
        _API,
        True,
        "An unhandled exception on Convai's side during connect (HTTP 500).",
        "Retried automatically; check the Convai status page if it persists.",
        _CONNECTED,
    ),
    _e(
        "connection.timeout",
        _API,
        True,
        "The connect call did not complete within the timeout window.",
        "Check the internet connection; raise --connection-timeout (default 30 s, max 120 s).",
        "The session connects within the timeout window.",
    ),
    _e(
        "connection.network_error",
        _API,
        True,
        "DNS failure, refused connection, socket error or unreachable network.",
        "Verify connectivity and that the Convai domains are not blocked by a firewall "
        "(`convai-tui doctor`).",
        _CONNECTED,
    ),
    _e(
        "connection.rate_limited",
        _API,
        True,
        "Too many connect requests in a short window (HTTP 429).",
        "Reduce the frequency of reconnect attempts; add delay between connects.",
        "connection.rate_limited no longer fires.",
    ),
    _e(
        "connection.service_unavailable",
        _API,
        True,
        "Convai is temporarily unavailable (HTTP 503).",
        "Wait and retry; the client backs off automatically.",
        _CONNECTED,
    ),
    _e(
        "connection.server_error",
        _API,
        True,
        "Convai returned a 5xx error.",
        "Transient: retried automatically; check the Convai status page if it persists.",
        _CONNECTED,
    ),
    _e(
        "connection.not_found",
        _API,
        False,
        "A resource (character or room) was not found (HTTP 404).",
        "Verify the character id exists on your account, and the connect URL.",
        _CONNECTED,
    ),
    _e(
        "connection.bad_request",
        _API,
        False,
        "Invalid parameters in the connect request (HTTP 4xx).",
        "Check the character id and other connection parameters for invalid characters.",
        _CONNECTED,
    ),
    _e(
        "connection.connect_validation_error",
        _API,
        False,
        "The connect request failed API validation (HTTP 422).",
        "Read the message for the field that failed validation.",
        _CONNECTED,
    ),
    _e(
        "connection.failed",
        _API,
        False,
        "A connection failure not covered by a more specific code (for example a 200 "
        "response without token or room_url).",
        "Read the message and the session log for details.",
        _CONNECTED,
    ),
    _e(
        "connection.auth_token_fetch_failed",
        _API,
        True,
        "Fetching an auth token from the token endpoint failed.",
        "Check the token endpoint is reachable; retried automatically.",
        _CONNECTED,
    ),
    # transport.* — the LiveKit / WebRTC layer, after the connect call succeeded.
    _e(
        "transport.livekit_error",
        _TRN,
        True,
        "The LiveKit SDK reported an error, for example joining the room failed.",
        "Usually transient; check internet stability and that room_url is reachable.",
        "The room is joined and the character answers.",
    ),
    _e(
        "transport.ice_failed",
        _TRN,
        True,
        "WebRTC ICE negotiation failed: the peer cannot be reached.",
        "Allow UDP traffic (3478, 50000-60000); corporate firewalls often block WebRTC; "
        "request a TURN relay from the network admin.",
        "The session connects and WebRTC negotiation completes.",
    ),
    _e(
        "transport.peer_connection_failed",
        _TRN,
        False,
        "The WebRTC peer connection could not be established.",
        "As for ICE failure: check UDP ports and STUN/TURN reachability.",
        "The session connects and WebRTC negotiation completes.",
    ),
    _e(
        "transport.signal_disconnected",
        _TRN,
        True,
        "The connection to the LiveKit signal server dropped.",
        "Usually reconnects on its own; persistent failures mean an unstable network.",
        "The session is back in Connected.",
    ),
    _e(
        "transport.duplicate_identity",
        _TRN,
        False,
        "Another participant joined the room with the same identity (DisconnectReason "
        "DUPLICATE_IDENTITY): the session was opened elsewhere.",
        "Close the other client, then connect again.",
        _CONNECTED,
        source="convai-tui",
    ),
    _e(
        "transport.participant_removed",
        _TRN,
        False,
        "The server removed this participant from the room (PARTICIPANT_REMOVED).",
        "Connect again; if it repeats, check what on the server side removes participants.",
        _CONNECTED,
        source="convai-tui",
    ),
    _e(
        "transport.room_deleted",
        _TRN,
        False,
        "The room was closed server-side (ROOM_DELETED / ROOM_CLOSED).",
        "Connect again to start a new session.",
        _CONNECTED,
        source="convai-tui",
    ),
    _e(
        "transport.join_failure",
        _TRN,
        False,
        "LiveKit refused the join (JOIN_FAILURE): usually a bad or expired room token.",
        "Check the API key and character id, then connect again.",
        _CONNECTED,
        source="convai-tui",
    ),
    _e(
        "transport.link_degraded",
        _TRN,
        True,
        "The WebRTC link crosses a threshold a network engineer would flag: round-trip time "
        "over 300 ms, inbound audio jitter over 30 ms, packet loss over 2 % across 10 s, or "
        "media relayed through TURN only (the limits are link_rtt_ms, link_jitter_ms, "
        "link_loss_pct and link_warn_relay in the config file).",
        "Move closer to the Wi-Fi access point or use a wired link, stop large uploads or "
        "downloads on the same network, and allow UDP (3478, 50000-60000) so media need not "
        "be relayed; the Link tab shows which figure is out of range.",
        "The Link tab shows no warning and the log says transport.link_degraded cleared.",
        source="convai-tui",
    ),
    # server.* — Convai's pipeline.
    _e(
        "server.error",
        _RUN,
        True,
        "A non-fatal pipeline error reported by Convai (RTVI error, fatal: false).",
        "The session continues; if it persists, report it to Convai support.",
        "No further server.error events.",
    ),
    _e(
        "server.fatal_error",
        _RUN,
        False,
        "A fatal pipeline error: Convai terminated the session (RTVI error, fatal: true).",
        "The session cannot recover; connect again.",
        _CONNECTED,
    ),
    _e(
        "server.usage_limit_reached",
        _RUN,
        False,
        "The daily or monthly usage quota is exceeded.",
        "Check usage in the Convai dashboard; upgrade the plan or wait for the quota to reset.",
        "The session connects after the usage resets.",
    ),
    # session.*
    _e(
        "session.token_expired",
        _RUN,
        False,
        "The session (LiveKit) token has expired.",
        "Connect again to obtain a fresh token.",
        _CONNECTED,
    ),
    _e(
        "session.invalid_state",
        _RUN,
        False,
        "An operation was attempted in a state that does not allow it.",
        "Check the connect/disconnect order: wait for Connected before sending.",
        "The operation succeeds in the Connected state.",
    ),
    _e(
        "session.cancelled",
        _RUN,
        False,
        "The session was cancelled by the user (disconnect or cancel during connect).",
        "Expected after a manual disconnect; connect again to continue.",
        _CONNECTED,
    ),
    _e(
        "session.idle_timeout",
        _RUN,
        False,
        "Convai closed the session because the user was idle past the warning.",
        "Answer the idle warning (any key, or reset-idle-timer) to keep a session alive; "
        "connect again to continue the conversation.",
        _CONNECTED,
        source="convai-tui",
    ),
    _e(
        "session.bot_ready_timeout",
        _RUN,
        True,
        "The room was joined but the character never said bot-ready.",
        "Retried by reconnecting; if it persists the character's pipeline is not starting.",
        "bot_ready arrives after connect.",
        source="convai-tui",
    ),
    _e(
        "session.initial_character_failed",
        _RUN,
        False,
        "The room's initial character failed to start (its failure code is in the message); "
        "the other characters may still be usable.",
        "Pick another ready character as the target, or connect again; if the code is "
        "dispatch_failed, check the character on the Convai dashboard.",
        "The initial character reports ready.",
        source="convai-tui",
    ),
    _e(
        "session.character_switch",
        _RUN,
        True,
        "The user switched character in a single-character room: that needs a new /connect, "
        "so the session reconnects keeping only its settings (seeds/001 PendingReconnect).",
        "Nothing to fix; use a multi-character room (--character twice) to switch in place.",
        "The session is Connected to the new character.",
        source="convai-tui",
    ),
    _e(
        "session.input_refused",
        _RUN,
        False,
        "A message was not sent: the session cannot accept input yet, or the queue is full.",
        "Wait for the character to be ready (bot_ready), then send again.",
        "The message is sent and acknowledged.",
        source="convai-tui",
    ),
    _e(
        "session.ack_timeout",
        _RUN,
        False,
        "A sent message received no server-response acknowledgement in time.",
        "Check the session is still connected; send again.",
        "The acknowledgement arrives.",
        source="convai-tui",
    ),
    # protocol.*
    _e(
        "protocol.message_invalid",
        _RUN,
        False,
        "A data-channel message from Convai had the wrong shape.",
        "Usually an SDK/backend version mismatch; update convai-tui. The message is logged.",
        "No further protocol errors.",
    ),
    _e(
        "protocol.parse_failed",
        _RUN,
        False,
        "A data-channel message from Convai could not be parsed as JSON.",
        "Usually an SDK/backend version mismatch; update convai-tui. The message is logged.",
        "No further protocol errors.",
    ),
    _e(
        "protocol.message_too_large",
        _RUN,
        False,
        "An outgoing message exceeds LiveKit's 15,360-byte data packet limit.",
        "Shorten the text or context and send again.",
        "The message is sent.",
        source="convai-tui",
    ),
    # audio.*
    _e(
        "audio.mic_unavailable",
        _RUN,
        False,
        "No microphone could be opened (no device, or PortAudio is missing).",
        "Check --input-device (`convai-tui devices`); the session continues text-only.",
        "The mic level meter moves.",
    ),
    _e(
        "audio.mic_permission_denied",
        _RUN,
        False,
        "The operating system denied access to the microphone.",
        "Grant microphone access to the terminal; the session continues text-only.",
        "The mic level meter moves.",
    ),
    _e(
        "audio.mic_publish_failed",
        _RUN,
        False,
        "The microphone track could not be published to the room.",
        "Reconnect; check the network allows media (UDP or TURN).",
        "The character hears you.",
    ),
    _e(
        "audio.mic_stalled",
        _RUN,
        True,
        "The microphone stopped delivering audio frames.",
        "The device is reopened automatically; check the device is still connected.",
        "The mic level meter moves.",
        source="convai-tui",
    ),
    _e(
        "audio.speaker_unavailable",
        _RUN,
        False,
        "No output device could be opened for the character's voice.",
        "Check --output-device (`convai-tui devices`); transcripts still arrive.",
        "The speaker level meter moves.",
        source="convai-tui",
    ),
    # vision.* — listed for completeness; the terminal client publishes no camera.
    _e(
        "vision.device_init_timeout",
        _RUN,
        True,
        "The camera did not initialise in time.",
        "Retried automatically; check the camera is free.",
        "Frames are published.",
    ),
    _e(
        "vision.render_texture_timeout",
        _RUN,
        True,
        "A video frame could not be rendered in time.",
        "Retried automatically.",
        "Frames are published.",
    ),
)

CATALOGUE: dict[str, CatalogueEntry] = {entry.code: entry for entry in CATALOGUE_ENTRIES}

RETRYABLE_CODES: frozenset[str] = frozenset(e.code for e in CATALOGUE_ENTRIES if e.recoverable)


def lookup(code: str) -> CatalogueEntry:
    """The catalogue entry for a code; unknown codes get a generic entry, never a KeyError."""
    entry = CATALOGUE.get(code)
    if entry is not None:
        return entry
    return CatalogueEntry(
        code,
        ErrorStage.UNKNOWN,
        False,
        "An error this catalogue does not describe.",
        "Read the message and the session log.",
        "",
        source="unknown",
    )


@dataclass(frozen=True, slots=True)
class SessionError:
    """One error as it happened: a catalogue code plus what was observed."""

    code: str
    message: str
    stage: ErrorStage
    recoverable: bool
    http_status: int | None = None
    session_id: str | None = None
    at: float = field(default_factory=time.time)
    detail: str | None = None

    @property
    def category(self) -> str:
        return self.code.split(".", 1)[0]

    @property
    def entry(self) -> CatalogueEntry:
        return lookup(self.code)

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "category": self.category,
            "stage": self.stage.value,
            "recoverable": self.recoverable,
            "http_status": self.http_status,
            "session_id": self.session_id,
        }


def make_error(
    code: str,
    message: str | None = None,
    *,
    http_status: int | None = None,
    session_id: str | None = None,
    stage: ErrorStage | None = None,
    detail: str | None = None,
    at: float | None = None,
) -> SessionError:
    """A SessionError for a catalogue code, its stage and recoverable flag taken from the table."""
    entry = lookup(code)
    return SessionError(
        code=code,
        message=message or entry.cause,
        stage=stage or entry.stage,
        recoverable=entry.recoverable,
        http_status=http_status,
        session_id=session_id,
        at=time.time() if at is None else at,
        detail=detail,
    )


class ConvaiError(Exception):
    """An exception that carries a SessionError; raised inside the core, never shown raw."""

    def __init__(self, error: SessionError) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error
