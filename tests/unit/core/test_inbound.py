"""The session's one routing table: every owned server message type has exactly one handler,
and a type nobody owns reaches the notices' fallback."""

from __future__ import annotations

import dataclasses

import pytest

from convai_tui.core.api.events import Event, ServerNotice
from convai_tui.core.api.metrics import SessionMetrics
from convai_tui.core.conversation.conversation import Conversation
from convai_tui.core.conversation.server_notices import NOTICE_TYPES
from convai_tui.core.inbound import Inbound
from convai_tui.core.rtvi.protocol import InboundMessage
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings
from tests.unit.fakes import FakeApi, FakeTransport


def inbound() -> tuple[SessionCore, Inbound]:
    settings = SessionSettings(
        connect_url="http://127.0.0.1:9", api_key="sk-test-key-123", character_id="char-1"
    )
    core = SessionCore(settings, api_client=FakeApi([]), transport_factory=FakeTransport)  # type: ignore[arg-type]
    return core, core._inbound


def test_one_table_holds_every_owners_types() -> None:
    core, table = inbound()
    for owner in (core._server, core._conversation, core._server.notices):
        for message_type, handler in owner.routes.items():
            assert table.routes[message_type] == handler
    assert "bot-ready" in table.routes
    assert {"server-response", "bot-llm-text", "metrics"} | NOTICE_TYPES <= set(table.routes)


def test_a_type_with_two_owners_is_refused_at_construction() -> None:
    _core, table = inbound()
    twice = Conversation(lambda _e: None, SessionMetrics())
    twice.routes = {**twice.routes, "server-response": lambda _m: None}
    with pytest.raises(ValueError, match="'server-response' has two owners"):
        dataclasses.replace(table, conversation=twice)


def test_a_type_nobody_owns_goes_to_the_notices_and_is_announced_once() -> None:
    core, table = inbound()
    notices = core._server.notices
    announced: list[Event] = []
    notices._publish = announced.append
    for _ in range(2):
        table.dispatch(InboundMessage("brand-new-type", {}, wrapped=False))
    assert notices.unknown["brand-new-type"] == 2
    assert notices.counts["brand-new-type"] == 2
    assert announced == [
        ServerNotice(message_type="brand-new-type", known=False, at=announced[0].at)
    ]
