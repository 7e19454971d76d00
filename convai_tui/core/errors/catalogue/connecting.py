"""Catalogue entries for the errors raised before the room is joined: the settings (config.*)
and the connect API call or the network under it (connection.*)."""

from __future__ import annotations

from convai_tui.core.errors.catalogue.entry import REACHES_CONNECTED as _CONNECTED
from convai_tui.core.errors.catalogue.entry import CatalogueEntry, ErrorStage
from convai_tui.core.errors.catalogue.entry import catalogue_entry as _e

# Short names keep each entry of the table to a few readable lines.
_CFG = ErrorStage.CONFIGURATION
_API = ErrorStage.CONNECT_API

CONNECTING_ENTRIES: tuple[CatalogueEntry, ...] = (
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
)
