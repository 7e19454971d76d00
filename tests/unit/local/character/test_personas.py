"""The demo characters answer in their own words and do the action they are asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from convai_tui.cli.room_flags import DEMO_ACTION_CONFIG, DEMO_CAST
from convai_tui.local.character.client_messages import compose_reply
from convai_tui.local.character.personas import DEFAULT_PERSONA, persona_line, requested_action
from convai_tui.local.character.turns import _actions_and_emotion
from convai_tui.local.faults import Faults


def test_every_demo_character_has_its_own_line() -> None:
    lines = [persona_line(cid) for cid, _ in DEMO_CAST]
    assert len(set(lines)) == len(DEMO_CAST)
    assert all(line != DEFAULT_PERSONA for line in lines)
    for (cid, name), line in zip(DEMO_CAST, lines, strict=True):
        assert name in line, cid
    assert persona_line("someone-else") == DEFAULT_PERSONA


def test_the_reply_quotes_the_user_then_says_who_answers() -> None:
    reply = compose_reply("which way", "demo-bo")
    assert reply.startswith('You said: "which way". ')
    assert reply.endswith(persona_line("demo-bo"))
    assert compose_reply("hi") == f'You said: "hi". {DEFAULT_PERSONA}'


def test_the_action_named_in_the_words_is_the_one_performed() -> None:
    actions: list[object] = ["Wave", "Nod", {"value": "Move To"}]
    assert requested_action("Could you wave, please?", actions) == "Wave"
    assert requested_action("please move to the cube", actions) == {"value": "Move To"}
    assert requested_action("hello there", actions) is None
    assert requested_action("waves", actions) is None


@dataclass
class _Bot:
    faults: Faults
    request: dict[str, Any]
    strict: bool = True
    turns_completed: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


def _actions(bot: _Bot) -> list[Any]:
    return [m["data"]["actions"] for m in bot.sent if m["data"]["type"] == "action-response"]


async def test_the_demo_waves_when_asked_and_only_then() -> None:
    bot = _Bot(Faults(actions_when_asked=True), {"action_config": DEMO_ACTION_CONFIG})
    await _actions_and_emotion(bot, "hello")  # type: ignore[arg-type]
    assert _actions(bot) == []
    await _actions_and_emotion(bot, "Ada, wave!")  # type: ignore[arg-type]
    assert _actions(bot) == [[{"name": "Wave"}]]


async def test_without_the_demo_flag_an_unasked_turn_still_does_the_first_action() -> None:
    bot = _Bot(Faults(), {"action_config": {"actions": ["Wave", "Nod"]}})
    await _actions_and_emotion(bot, "hello")  # type: ignore[arg-type]
    await _actions_and_emotion(bot, "please nod")  # type: ignore[arg-type]
    assert _actions(bot) == [[{"name": "Wave"}], [{"name": "Nod"}]]
