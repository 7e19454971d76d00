"""A fix that promises an automatic retry is not shown once the client has stopped retrying."""

from __future__ import annotations

import pytest

from convai_tui.core.errors.error import make_error
from convai_tui.core.errors.fix_text import GAVE_UP_REASONS, STOPPED_RETRYING, fix_text


def test_while_retrying_the_catalogue_fix_stands() -> None:
    error = make_error("connection.service_unavailable", "HTTP 503")
    assert fix_text(error) == "Wait and retry; the client backs off automatically."
    assert fix_text(error, "reconnecting") == error.entry.fix


@pytest.mark.parametrize("reason", sorted(GAVE_UP_REASONS))
def test_after_the_retries_are_used_up_no_automatic_retry_is_promised(reason: str) -> None:
    error = make_error("connection.service_unavailable", "HTTP 503")
    assert fix_text(error, reason) == STOPPED_RETRYING


def test_the_rest_of_the_advice_is_kept() -> None:
    stalled = make_error("transport.signal_disconnected", "no packets")
    assert fix_text(stalled, "reconnects_exhausted") == (
        f"{STOPPED_RETRYING} Persistent failures mean an unstable network."
    )
    bot = make_error("connection.connect_bot_start_failed", "HTTP 500")
    assert fix_text(bot, "retries_exhausted") == (
        f"{STOPPED_RETRYING} If it persists, contact Convai support."
    )
    timeout = make_error("connection.timeout", "no answer")
    assert "Raise --connection-timeout" in fix_text(timeout, "reconnects_exhausted")
