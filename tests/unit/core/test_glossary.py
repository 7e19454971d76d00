"""The whole message list of Convai's Live API glossary (and the RTVI messages around it)
parses: one example of each type, in the documented shapes (tests/data/glossary_messages.jsonl,
our own values). Every server message is handled -- none is an error, none is "unknown" --
and every client message is one the session can build and send."""

from __future__ import annotations

import json
from typing import Any

from convai_tui.core.api import events as ev
from convai_tui.core.rtvi import protocol
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import CONTROL_TYPES
from tests.paths import TESTS
from tests.unit.core.test_session_core import closer, connected, make
from tests.unit.fakes import drain, ok_response

__all__ = ["closer"]

LINES = [
    json.loads(line)
    for line in (TESTS / "data" / "glossary_messages.jsonl").read_text().splitlines()
    if line.strip()
]


def _of(direction: str) -> list[dict[str, Any]]:
    return [line["message"] for line in LINES if line["direction"] == direction]


def test_every_client_type_of_the_glossary_is_sendable() -> None:
    messages = _of("client")
    assert {m["type"] for m in messages} == CONTROL_TYPES
    for message in messages:
        built = json.loads(protocol.build_message(message["type"], message.get("data")).payload)
        # An empty data is left out ("Omit for messages with no payload").
        assert built["type"] == message["type"]
        assert built.get("data") == (message.get("data") or None)


async def test_every_server_type_parses_and_is_handled(closer: list[SessionCore]) -> None:
    core, _ = make([ok_response()])
    sub, transport = await connected(core, closer)
    drain(sub)
    usage_limit = _of("server")[-1]
    for message in _of("server")[:-1]:  # usage-limit-reached ends the session: last
        transport.deliver(message)
    transport.deliver(usage_limit)
    seen = drain(sub)
    codes = [e.error.code for e in seen if isinstance(e, ev.ErrorRaised)]
    # Only what the examples mean: the non-fatal `error`, session-ending after idling, and the
    # usage limit.
    assert codes == ["server.error", "session.idle_timeout", "server.usage_limit_reached"]
    assert not [e for e in seen if isinstance(e, ev.ServerNotice) and not e.known]
    kinds = {type(e) for e in seen}
    for expected in (
        ev.ModerationResult,
        ev.TurnCompleted,
        ev.LlmNoResponse,
        ev.IdleWarningReceived,
        ev.ServerMetricsReceived,
        ev.ServerNotice,
        ev.EmotionReceived,
        ev.ActionsReceived,
        ev.SessionEnding,
        ev.UsageLimitReached,
    ):
        assert expected in kinds, expected
    assert "unknown_message_types" not in core.diagnostics()
    assert core.diagnostics()["server_metrics"] == {"processing TTSService#0": 0.2}


async def test_unknown_types_are_counted_and_shown_once_noisy_ones_too(
    closer: list[SessionCore],
) -> None:
    core, _ = make([ok_response()])
    sub, transport = await connected(core, closer)
    drain(sub)
    for _ in range(50):
        transport.deliver({"type": "server-message", "data": {"type": "brand-new-thing"}})
        transport.deliver({"type": "bot-tts-text", "data": {"text": "word"}})
    seen = drain(sub)
    notices = [e for e in seen if isinstance(e, ev.ServerNotice)]
    assert [(n.message_type, n.known) for n in notices] == [
        ("brand-new-thing", False),
        ("bot-tts-text", True),
    ]
    assert not [e for e in seen if isinstance(e, ev.ErrorRaised)]
    assert core.diagnostics()["unknown_message_types"] == {"brand-new-thing": 50}
