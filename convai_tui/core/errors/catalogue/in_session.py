"""Catalogue entries for the errors raised once the room is joined: the LiveKit link
(transport.*), Convai's pipeline (server.*), the session itself (session.*), the messages on the
data channel (protocol.*) and the media devices (audio.*, vision.*)."""

from __future__ import annotations

from convai_tui.core.errors.catalogue.entry import REACHES_CONNECTED as _CONNECTED
from convai_tui.core.errors.catalogue.entry import CatalogueEntry, ErrorStage
from convai_tui.core.errors.catalogue.entry import catalogue_entry as _e

# Short names keep each entry of the table to a few readable lines.
_TRN = ErrorStage.TRANSPORT
_RUN = ErrorStage.RUNTIME

IN_SESSION_ENTRIES: tuple[CatalogueEntry, ...] = (
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
    _e(
        "audio.playback_dropping",
        _RUN,
        True,
        "The output device plays slower than real time, or part of the received speech is "
        "dropped (the share is in the message).",
        "Pick another --output-device (`convai-tui devices`), or give the device more output "
        "latency (a PulseAudio sink: a smaller latency_msec, or another sink); the warning "
        "clears by itself once playback keeps up.",
        "The status bar's warning clears and replies play in full.",
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
