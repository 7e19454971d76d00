"""The /connect failure → error code rules of docs/convai-protocol.md §1.5, in order."""

import json

import pytest

from convai_tui.core.connect.connect_api import classify_connect_failure, error_message_from_body
from convai_tui.core.errors.error import CATALOGUE, RETRYABLE_CODES, lookup

# (status, message, expected code, recoverable)
ORDERED_RULES = [
    (422, "body.character_id: Field required", "connection.connect_validation_error", False),
    (422, "invalid uuid", "connection.connect_validation_error", False),  # rule 1 wins
    (
        400,
        "Invalid character_session_id format: invalid uuid",
        "connection.connect_invalid_session_id",
        False,
    ),
    (400, "invalid session id", "connection.connect_invalid_session_id", False),
    (400, "Invalid Session_ID given", "connection.connect_invalid_session_id", False),
    (400, "invalid uuid format", "connection.connect_invalid_session_id", False),
    (401, "Invalid API key", "connection.connect_invalid_api_key", False),
    (401, "", "connection.connect_invalid_api_key", False),
    (403, "multi_character_v0_disabled", "connection.connect_multi_character_not_allowed", False),
    (
        403,
        "x multi_character_roster_limit_exceeded y",
        "connection.connect_multi_character_roster_limit",
        False,
    ),
    (403, "Realtime access denied", "connection.connect_realtime_not_allowed", False),
    (
        404,
        "Character not found or doesn't belong to user",
        "connection.connect_character_not_found",
        False,
    ),
    (429, "LTM speaker limit reached", "connection.connect_speaker_limit_reached", False),
    (429, "Concurrency limit reached", "connection.connect_concurrency_limit_reached", True),
    (429, "", "connection.connect_concurrency_limit_reached", True),
    (500, "Failed to start bot: pipeline", "connection.connect_bot_start_failed", True),
    (500, "boom", "connection.connect_unhandled_server_exception", True),
]

FALLBACKS = [
    (None, "connection.network_error", True),
    (0, "connection.network_error", True),
    (503, "connection.service_unavailable", True),
    (502, "connection.server_error", True),
    (504, "connection.server_error", True),
    (400, "connection.bad_request", False),
    (409, "connection.bad_request", False),
    (418, "connection.bad_request", False),
    (302, "connection.failed", False),
]


@pytest.mark.parametrize(("status", "message", "code", "recoverable"), ORDERED_RULES)
def test_ordered_rules(status: int, message: str, code: str, recoverable: bool) -> None:
    assert classify_connect_failure(status, message) == code
    assert lookup(code).recoverable is recoverable


@pytest.mark.parametrize(("status", "code", "recoverable"), FALLBACKS)
def test_status_fallbacks(status: int | None, code: str, recoverable: bool) -> None:
    assert classify_connect_failure(status, "whatever") == code
    assert lookup(code).recoverable is recoverable


def test_every_mapped_code_is_in_the_catalogue_with_stage_connect_api() -> None:
    codes = {row[2] for row in ORDERED_RULES} | {row[1] for row in FALLBACKS}
    for code in codes:
        assert code in CATALOGUE
        assert CATALOGUE[code].stage.value == "ConnectApi"


def test_retryable_set_matches_the_sdk_list() -> None:
    sdk_list = {
        "connection.timeout",
        "connection.network_error",
        "connection.server_error",
        "connection.service_unavailable",
        "connection.rate_limited",
        "connection.connect_concurrency_limit_reached",
        "connection.connect_bot_start_failed",
        "connection.connect_unhandled_server_exception",
        "connection.auth_token_fetch_failed",
        "transport.ice_failed",
        "transport.signal_disconnected",
        "server.error",
        "vision.device_init_timeout",
        "vision.render_texture_timeout",
    }
    convai_codes = {c for c in RETRYABLE_CODES if CATALOGUE[c].source == "convai"}
    # transport.livekit_error is recoverable per protocol §1.5 ("stage Transport, recoverable").
    assert convai_codes == sdk_list | {"transport.livekit_error"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"detail": "Invalid API key"}', "Invalid API key"),
        (
            json.dumps(
                {
                    "detail": [
                        {
                            "type": "value_error",
                            "loc": ["body", "transport"],
                            "msg": "Value error, Invalid transport: sse",
                            "input": "sse",
                        }
                    ]
                }
            ),
            "transport: Value error, Invalid transport: sse",
        ),
        ('{"message": "m", "error": "e"}', "m"),
        ('{"error": "e"}', "e"),
        (
            '{"ERROR": "The request contains an invalid API key."}',
            "The request contains an invalid API key.",
        ),
        ("<html>Bad gateway</html>", "<html>Bad gateway</html>"),
        ("[1, 2]", "[1, 2]"),
        ("", ""),
    ],
)
def test_error_message_from_body(body: str, expected: str) -> None:
    assert error_message_from_body(body) == expected
