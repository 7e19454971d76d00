"""How the multi-character settings of `run` / `demo` become the session's room request.

`--character ID[:CHARACTER_SESSION_ID]` is repeatable (and `characters = [...]` in the config
file); one of them is exactly today's `--character-id` (+ `--character-session-id`), two or more
create one room with all of them, the first being the initial target. `--join` / `--join-key`
join a room another client created. Multi-character requests need an end-user id: the flag,
the config's `end_user_id`, else one stable id per machine. The monitor also shows the
characters' display names, asked only of the REST host the connect URL allows.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convai_tui.config import Settings
from convai_tui.core.settings.multi_config import (
    JoinSettings,
    default_end_user_id,
    parse_character_specs,
)
from convai_tui.core.settings.room_request import RoomRequest
from convai_tui.core.settings.session_settings import SessionSettings, validate_settings
from convai_tui.local.character.personas import DEMO_ACTIONS

if TYPE_CHECKING:
    import httpx


def apply_room_arguments(
    settings: SessionSettings, asked: Settings, state_dir: Path
) -> SessionSettings:
    """The session settings with the room `asked` for (its characters, join, join key, shared
    session key, most participants); unchanged for one character.

    Raises ConvaiError(config.*) for a bad `--character` (empty id, trailing colon)."""
    specs = parse_character_specs(asked.characters)
    joining = bool(asked.join or asked.join_key)
    if len(specs) == 1 and not joining:
        spec = specs[0]
        return dataclasses.replace(
            settings,
            character_id=spec.character_id,
            character_session_id=spec.character_session_id or settings.character_session_id,
        )
    if len(specs) < 2 and not joining:
        return settings
    room = RoomRequest(
        characters=specs,
        join=JoinSettings(asked.join, asked.join_key) if joining else None,
        shared_session_key=asked.shared_session_key,
        max_participants=asked.max_participants,
    )
    end_user_id = settings.end_user_id or default_end_user_id(state_dir)
    first = specs[0].character_id if specs else settings.character_id
    return dataclasses.replace(
        settings, room=room, end_user_id=end_user_id, character_id=first or ""
    )


DEMO_CAST = (
    ("demo-character", "Ada"),
    ("demo-bo", "Bo"),
    ("demo-cy", "Cy"),
    ("demo-di", "Di"),
    ("demo-ed", "Ed"),
)
"""`demo --characters N`: the first N of these (the first is the stand-in's default)."""


@dataclasses.dataclass(frozen=True)
class DemoCast:
    characters: list[str]
    standin_args: list[str]


DEMO_STANDIN_ARGS = ["--actions-when-asked"]
"""The demo's characters do the action the user asks for ("wave"), not one every turn."""
DEMO_ACTION_CONFIG: dict[str, Any] = {"actions": list(DEMO_ACTIONS)}
"""Asked for on /connect by `demo` unless the config has an action_config of its own."""


def demo_cast(requested: int | None) -> DemoCast:
    """The stand-in flags and `--character` ids for `demo --characters N` (N < 2: none)."""
    count = max(1, min(requested or 1, len(DEMO_CAST)))
    if count < 2:
        return DemoCast([], list(DEMO_STANDIN_ARGS))
    cast = DEMO_CAST[:count]
    return DemoCast(
        [cid for cid, _ in cast],
        [
            *DEMO_STANDIN_ARGS,
            "--characters",
            ",".join(f"{cid}={name}" for cid, name in cast),
        ],
    )


async def with_character_names(
    settings: SessionSettings,
    rest_url: str | None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SessionSettings:
    """The settings with the character's display name and, in a room, each character's (POST
    /character/get), for the monitor; an id whose name cannot be fetched in time is shown as
    its id. The REST host is the one `rest_url_for` allows for the connect URL (`rest_url`:
    the user's own, None when not given); nothing is asked when the session would be refused
    anyway (no key, plain http to another host...)."""
    from convai_tui.core.connect.rest_api import fetch_character_name, rest_url_for

    if validate_settings(settings) is not None:
        return settings
    rest = rest_url_for(settings.connect_url, rest_url)
    room = settings.room
    ids = dict.fromkeys(spec.character_id for spec in (room.characters if room else ()))
    ids.update(dict.fromkeys([settings.character_id] if settings.character_id else []))
    names = await asyncio.gather(
        *(
            fetch_character_name(rest, settings.api_key, cid, timeout_s=2.0, transport=transport)
            for cid in ids
        )
    )
    found = {cid: name for cid, name in zip(ids, names, strict=True) if name}
    return dataclasses.replace(
        settings,
        character_name=found.get(settings.character_id, settings.character_name),
        room=dataclasses.replace(room, names=found) if room else None,
    )
