"""`convai-tui demo --characters 3` as the monitor sees it: the demo cast on the stand-in, the
real core and the real monitor; a number key switches the target and the next reply comes
from that character (issue 12, done-when)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from convai_tui.cli.room_flags import (
    DEMO_CAST,
    apply_room_arguments,
    demo_cast,
    with_character_names,
)
from convai_tui.config import Settings
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.local.character.client_messages import CharacterProfile
from convai_tui.local.faults import Faults
from convai_tui.local.server import LocalStandIn
from convai_tui.local.sfu.server import LiveKitServer
from convai_tui.ui.app import ConvaiApp
from tests.integration.standin_client import require_livekit_server

pytestmark = pytest.mark.integration


async def test_demo_with_three_characters_switches_by_number_key(tmp_path: Path) -> None:
    require_livekit_server()
    cast = demo_cast(3)
    assert cast.characters == [cid for cid, _ in DEMO_CAST[:3]]
    standin = LocalStandIn(
        faults=Faults(tts="none"),
        livekit=LiveKitServer(),
        owns_livekit=True,
        character_name=DEMO_CAST[0][1],
        cast=[CharacterProfile(cid, name) for cid, name in DEMO_CAST[1:3]],
    )
    await standin.start()
    settings = apply_room_arguments(
        SessionSettings(
            connect_url=standin.connect_url,
            api_key=standin.api_key,
            character_id=standin.character_id,
        ),
        Settings(characters=cast.characters),
        tmp_path,
    )
    session = SessionCore(await with_character_names(settings, None))
    app = ConvaiApp(session)
    try:
        async with app.run_test(size=(140, 45)) as pilot:
            for _ in range(300):
                if app.model.bot_ready and len(app.model.room.members) == 3:
                    break
                await asyncio.sleep(0.1)
            names = [m.display_name for m in app.model.room.members]
            assert names == ["Ada", "Bo", "Cy"]
            await pilot.press("f4", "2")
            for _ in range(100):
                if app.model.room.target == app.model.room.members[1].membership_id:
                    break
                await asyncio.sleep(0.1)
            assert "Bo [2]" in app.model.room.target_text()
            await pilot.press("f2", *"which way", "enter")
            lines: list[tuple[str | None, str]] = []
            for _ in range(200):
                lines = [
                    (line.speaker, line.text)
                    for line in app.model.transcript
                    if line.role == "character"
                ]
                if lines:
                    break
                await asyncio.sleep(0.1)
            assert lines and lines[-1][0] == "Bo" and '"which way"' in lines[-1][1]
            assert "the ship's cook" in lines[-1][1]  # Bo's own line: who answered shows
            await pilot.press("ctrl+q")
    finally:
        await session.close()
        await standin.stop()
