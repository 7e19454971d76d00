"""The real monitor on the real session core against the local stand-in: connect, type, see
the character's reply quoting the message, quit cleanly."""

from __future__ import annotations

import asyncio

import pytest

from convai_tui.core.api.states import SessionState
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.ui.app import ConvaiApp
from tests.integration.standin_client import StandInFactory, standin_factory

__all__ = ["standin_factory"]
pytestmark = pytest.mark.integration


async def test_type_a_message_and_see_the_reply(standin_factory: StandInFactory) -> None:
    standin = await standin_factory()
    session = SessionCore(
        SessionSettings(
            connect_url=standin.connect_url,
            api_key=standin.api_key,
            character_id=standin.character_id,
        )
    )
    app = ConvaiApp(session)
    try:
        async with app.run_test(size=(140, 45)) as pilot:
            for _ in range(300):
                if app.model.bot_ready:
                    break
                await asyncio.sleep(0.1)
            assert app.model.state is SessionState.CONNECTED and app.model.bot_ready
            assert app.focused is not None and app.focused.id == "message-input"
            await pilot.press(*"the lighthouse", "enter")
            reply = ""
            for _ in range(200):
                replies = [line.text for line in app.model.transcript if line.role == "character"]
                if replies:
                    reply = replies[-1]
                    break
                await asyncio.sleep(0.1)
            assert '"the lighthouse"' in reply
            users = [line.text for line in app.model.transcript if line.role == "user"]
            assert users == ["the lighthouse"]
            await pilot.press("ctrl+q")
    finally:
        await session.close()
    assert session.state is SessionState.DISCONNECTED
