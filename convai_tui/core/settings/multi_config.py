"""Multi-character settings before any request: `--character` specs, client-side checks, and
the default end-user id.

The checks are the ones Convai's Unity SDK runs locally before a multi-character `/connect`
(docs/multi-character.md §1-2; Convai's connection-api-reference "Connect-time roster
validation"), each raised as a named `config.*` catalogue error. Nothing here does I/O except
`default_end_user_id`, whose file path is injected.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from convai_tui.core.errors.error import ConvaiError, make_error

MAX_ROOM_CHARACTERS = 50
END_USER_ID_FILE = "end_user_id"


@dataclass(frozen=True, slots=True)
class CharacterSpec:
    """One requested character instance; a repeated `character_id` is a separate clone."""

    character_id: str
    character_session_id: str | None = None

    def body(self) -> dict[str, str]:
        out = {"character_id": self.character_id}
        if self.character_session_id:
            out["character_session_id"] = self.character_session_id
        return out


@dataclass(frozen=True, slots=True)
class JoinSettings:
    """`--join ROOM_SESSION_ID` / `--join-key SHARED_SESSION_KEY`: exactly one must be set."""

    room_session_id: str | None = None
    shared_session_key: str | None = None


def _fail(code: str, message: str) -> ConvaiError:
    return ConvaiError(make_error(code, message))


def parse_character_spec(spec: str) -> CharacterSpec:
    """`ID` or `ID:CHARACTER_SESSION_ID` (split at the first colon; ids never hold one)."""
    character_id, sep, session = spec.partition(":")
    character_id = character_id.strip()
    session = session.strip()
    if not character_id:
        raise _fail(
            "config.character_id_empty",
            f"--character {spec!r} has no character id before the session id.",
        )
    if sep and not session:
        raise _fail(
            "config.invalid", f"--character {spec!r} ends in ':' but names no character session id."
        )
    return CharacterSpec(character_id, session or None)


def parse_character_specs(specs: Sequence[str]) -> tuple[CharacterSpec, ...]:
    return tuple(parse_character_spec(spec) for spec in specs)


def validate_characters(characters: Sequence[CharacterSpec]) -> None:
    """The Unity SDK's connect-time roster checks, in its order: count, empty id, session ids.

    Repeated character ids are clones and are allowed (Live API docs); the Unity SDK's own
    duplicate-Character-ID refusal is about two scene components, not the wire protocol.
    """
    if len(characters) > MAX_ROOM_CHARACTERS:
        raise _fail(
            "config.too_many_characters",
            f"A Convai room supports at most {MAX_ROOM_CHARACTERS} characters, and "
            f"this one asks for {len(characters)}.",
        )
    for index, spec in enumerate(characters, start=1):
        if not spec.character_id.strip():
            raise _fail(
                "config.character_id_empty",
                f"Character {index} of {len(characters)} has an empty character id.",
            )
    seen: dict[str, int] = {}
    for index, spec in enumerate(characters, start=1):
        session = (spec.character_session_id or "").strip().lower()
        if not session:
            continue
        if session in seen:
            raise _fail(
                "config.duplicate_character_session_id",
                f"Characters {seen[session]} and {index} both use character session "
                f"id {spec.character_session_id}; session ids must be unique in a room.",
            )
        seen[session] = index


def validate_join(join: JoinSettings, characters: Sequence[CharacterSpec] = ()) -> None:
    """A join names exactly one locator and never sends characters."""
    has_room = bool((join.room_session_id or "").strip())
    has_key = bool((join.shared_session_key or "").strip())
    if has_room == has_key:
        which = "both --join and --join-key" if has_room else "neither --join nor --join-key"
        raise _fail(
            "config.join_locator_invalid",
            f"Joining a room needs exactly one locator; {which} was given.",
        )
    if characters:
        raise _fail(
            "config.join_with_characters",
            "Joining an existing room sends no characters; drop --character.",
        )


def validate_end_user_id(end_user_id: str | None) -> str:
    """The end-user id a multi-character room needs, stripped; empty is a config error."""
    value = (end_user_id or "").strip()
    if not value:
        raise _fail(
            "config.end_user_id_missing", "A multi-character room needs a non-empty end_user_id."
        )
    return value


def default_end_user_id(state_dir: Path, *, machine_id_file: Path | None = None) -> str:
    """One id per machine, not per run: read from `state_dir/end_user_id`, created once.

    The first value hashes /etc/machine-id when there is one (so a wiped state dir on the
    same machine gets the same id back), else it is random. The hash keeps the machine id
    itself out of requests and logs.
    """
    path = state_dir / END_USER_ID_FILE
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except OSError:
        existing = ""
    if existing:
        return existing
    value = _fresh_end_user_id(machine_id_file or Path("/etc/machine-id"))
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL: if another process won the race, keep its id instead of ours.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip() or value
    except OSError:
        return value  # an unwritable state dir still gets the machine-derived id
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value


def _fresh_end_user_id(machine_id_file: Path) -> str:
    try:
        machine_id = machine_id_file.read_text(encoding="utf-8").strip()
    except OSError:
        machine_id = ""
    if machine_id:
        digest = hashlib.sha256(b"convai-tui end user\0" + machine_id.encode()).hexdigest()
        return f"convai-tui-{digest[:32]}"
    return f"convai-tui-{uuid.uuid4().hex}"
