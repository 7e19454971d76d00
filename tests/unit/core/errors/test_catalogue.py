"""The error catalogue holds every code the seeds and the protocol notes name."""

import os
import re

import pytest

from convai_tui.core.errors.error import CATALOGUE, ErrorStage, lookup, make_error
from tests.paths import REPO as _REPO
from tests.paths import load_script

SEEDS = _REPO.parent / "shared" / "seeds"

PROTOCOL_CODES = """
config.api_key_missing config.character_id_missing config.auth_token_provider_missing
config.auth_token_endpoint_invalid config.auth_token_mode_required
connection.auth_failed connection.invalid_token connection.rate_limited
connection.service_unavailable connection.timeout connection.network_error
connection.server_error connection.not_found connection.bad_request connection.failed
connection.auth_token_fetch_failed connection.connect_validation_error
connection.connect_invalid_session_id connection.connect_invalid_api_key
connection.connect_realtime_not_allowed connection.connect_character_not_found
connection.connect_multi_character_not_allowed connection.connect_multi_character_roster_limit
connection.connect_concurrency_limit_reached connection.connect_speaker_limit_reached
connection.connect_bot_start_failed connection.connect_unhandled_server_exception
transport.livekit_error transport.ice_failed transport.peer_connection_failed
transport.signal_disconnected server.error server.fatal_error server.usage_limit_reached
session.token_expired session.invalid_state session.cancelled protocol.message_invalid
protocol.parse_failed audio.mic_unavailable audio.mic_permission_denied audio.mic_publish_failed
""".split()


@pytest.mark.parametrize("code", PROTOCOL_CODES)
def test_protocol_codes_are_catalogued_with_cause_and_fix(code: str) -> None:
    entry = CATALOGUE[code]
    assert entry.cause and entry.fix
    assert entry.category == code.split(".")[0]


def test_every_code_in_the_seed_table_is_catalogued() -> None:
    seed = SEEDS / "000_cf4ba75719aa15af.txt"
    if not seed.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"shared/seeds must be beside the checkout in CI (looked in {SEEDS})")
        pytest.skip(f"!!! shared/seeds not beside the checkout ({SEEDS})")
    # The seed's list of retried codes runs them together ("connection.timeoutconnection…").
    categories = "(?:config|connection|transport|server|session|protocol)"
    codes = set(
        re.findall(rf"{categories}\.[a-z_]+?(?={categories}\.|[^a-z_]|$)", seed.read_text())
    )
    assert codes, "the seed should name codes"
    assert codes <= set(CATALOGUE), sorted(codes - set(CATALOGUE))


def test_config_errors_are_configuration_stage_and_not_recoverable() -> None:
    for code, entry in CATALOGUE.items():
        if code.startswith("config."):
            assert entry.stage is ErrorStage.CONFIGURATION
            assert entry.recoverable is False


def test_unknown_codes_get_a_generic_entry() -> None:
    entry = lookup("made.up")
    assert entry.category == "made" and not entry.recoverable and entry.source == "unknown"


def test_make_error_takes_stage_and_recoverable_from_the_table() -> None:
    err = make_error("connection.connect_concurrency_limit_reached", "x", http_status=429)
    assert err.recoverable and err.stage is ErrorStage.CONNECT_API and err.http_status == 429
    assert err.to_json()["category"] == "connection"


def test_error_docs_are_generated_from_the_catalogue() -> None:
    gen = load_script("gen_error_docs")
    assert (_REPO / "docs" / "ERRORS.md").read_text() == gen.render(), (
        "docs/ERRORS.md is stale: run .venv/bin/python scripts/gen_error_docs.py"
    )
