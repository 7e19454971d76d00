"""A multi-character room stands in for the session manager towards its bots: it must answer
every request a bot makes (a missing one surfaced as an AttributeError when a bot ended its
session with kill-pipeline)."""

from __future__ import annotations

import inspect

from convai_tui.local.character.bot import CharacterEvents
from convai_tui.local.rooms.bots import MultiRoom
from convai_tui.local.rooms.sessions import SessionManager


def requests() -> list[str]:
    return [
        name
        for name, member in inspect.getmembers(CharacterEvents)
        if not name.startswith("_") and callable(member)
    ]


def test_a_multi_character_room_answers_every_request_of_its_bots() -> None:
    assert "release_slots" in requests()
    missing = [name for name in requests() if not callable(getattr(MultiRoom, name, None))]
    assert missing == []


def test_the_session_manager_answers_every_request_of_its_bots() -> None:
    missing = [name for name in requests() if not callable(getattr(SessionManager, name, None))]
    assert missing == []
