"""Each demo character's own line, so the replies in a room of them say who answered; any
other character gets the plain stand-in line. The ids are `demo --characters N`'s cast
(cli/room_flags.py)."""

from __future__ import annotations

DEFAULT_PERSONA = "I'm the local stand-in character, happy to help."

DEMO_PERSONAS = {
    "demo-character": "I'm Ada, the demo's mathematician: I count every word twice.",
    "demo-bo": "Bo here, the ship's cook: I'd answer that with soup.",
    "demo-cy": "Cy speaking, the lighthouse keeper: I'll keep the light on for you.",
    "demo-di": "Di, the gardener: give it a season and it grows.",
    "demo-ed": "Ed, the clockmaker: right on time, as always.",
}

DEMO_ACTIONS = ("Wave", "Nod", "Bow")
"""The actions the demo asks for on /connect (its action_config); say "wave" and it waves."""


def persona_line(character_id: str, default: str = DEFAULT_PERSONA) -> str:
    return DEMO_PERSONAS.get(character_id, default)


def requested_action(text: str, actions: list[object]) -> object | None:
    """The configured action the user's words name ("please wave" → Wave), if any."""
    said = " " + " ".join(w.strip(".,!?;:\"'") for w in text.lower().split()) + " "
    for action in actions:
        name = action.get("value") if isinstance(action, dict) else action
        if isinstance(name, str) and name.strip() and f" {name.strip().lower()} " in said:
            return action
    return None
