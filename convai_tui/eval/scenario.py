"""The scenario file (TOML): what to say, in which order, and what the character should do.

A bad file gives one `ScenarioError` naming the line and the field, before anything connects.
tomllib keeps no positions, so `_KeyLines` finds each key's line in the text itself.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convai_tui.audio.dsp.framing import Int16Array
from convai_tui.audio.dsp.wav import load_wav
from convai_tui.config import ConfigError, parse_setting, setting_flags
from convai_tui.core.rtvi import controls
from convai_tui.core.rtvi.controls import ControlRequest

SLA_TEXT_MS = 1200.0
SLA_VOICE_MS = 3000.0
EXPECTS = ("respond", "respond_with_audio", "abstain", "no_response")
INPUTS = ("say", "audio", "trigger", "context")
_TOP_KEYS = {"name", "character_id", "characters", "sla_text_ms", "sla_voice_ms", "connect"}
_TURN_KEYS = {*INPUTS, "expect", "contains"}
_CONNECT_KEYS = frozenset(name for name, flag in setting_flags() if flag.section == "connect")


class ScenarioError(ValueError):
    """A scenario that cannot run; the message is `FILE:LINE: FIELD: what is wrong`."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One scripted input and what the character should do about it."""

    index: int
    kind: str
    """say | audio | trigger | context: the key that gave the input."""
    text: str
    """The typed text, the WAV's path as written, the trigger or the context spec."""
    expect: str
    contains: tuple[str, ...] = ()
    control: ControlRequest | None = None
    pcm: Int16Array | None = field(default=None, compare=False, repr=False)
    """Voice turns: the clip, mono at 48 kHz."""

    @property
    def voice(self) -> bool:
        return self.kind == "audio"


@dataclass(frozen=True, slots=True)
class Scenario:
    path: Path
    name: str
    turns: tuple[Turn, ...]
    character_id: str | None = None
    characters: tuple[str, ...] = ()
    sla_text_ms: float = SLA_TEXT_MS
    sla_voice_ms: float = SLA_VOICE_MS
    connect: dict[str, Any] = field(default_factory=dict)
    """Connect options by setting name, already converted to the setting's type."""

    @property
    def has_voice(self) -> bool:
        return any(turn.voice for turn in self.turns)

    def sla_ms(self, turn: Turn) -> float:
        return self.sla_voice_ms if turn.voice else self.sla_text_ms


class _KeyLines:
    """Where each key of the file is written: (table, turn index, key) → 1-based line."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, int, str], int] = {}
        self.headers: dict[tuple[str, int], int] = {}
        table, turn = "", -1
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header is not None:
                table = header.group(2).strip("\"'")
                if table == "turns" and header.group(1) == "[[":
                    turn += 1
                self.headers.setdefault((table, turn if table == "turns" else -1), number)
                continue
            key = self._KEY.match(line)
            if key is not None:
                place = (table, turn if table == "turns" else -1, key.group(1).strip('"'))
                self.lines.setdefault(place, number)

    def of(self, key: str, *, table: str = "", turn: int = -1) -> int:
        line = self.lines.get((table, turn, key))
        if line is None:
            line = self.headers.get((table or key, turn), 1)
        return line


def load_scenario(path: Path) -> Scenario:
    """Read and check the whole file (WAVs included); ScenarioError on the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    return _Parser(path, _KeyLines(text)).scenario(data)


class _Parser:
    def __init__(self, path: Path, lines: _KeyLines) -> None:
        self.path = path
        self.lines = lines

    def fail(self, line: int, name: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.path}:{line}: {name}: {message}")

    def top(self, data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
        value = data.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise self.fail(self.lines.of(key), key, f"expected {_kind_name(kind)}")
        return value

    def scenario(self, data: dict[str, Any]) -> Scenario:
        for key in data:
            if key not in _TOP_KEYS and key != "turns":
                raise self.fail(self.lines.of(key), key, f"unknown key; known: {_known(_TOP_KEYS)}")
        name = self.top(data, "name", str) or self.path.stem
        character_id = self.top(data, "character_id", str)
        characters = self.top(data, "characters", list) or []
        if not all(isinstance(c, str) and c for c in characters):
            raise self.fail(self.lines.of("characters"), "characters", "expected character ids")
        slas = {}
        for key, default in (("sla_text_ms", SLA_TEXT_MS), ("sla_voice_ms", SLA_VOICE_MS)):
            value = self.top(data, key, (int, float))
            if value is not None and value <= 0:
                raise self.fail(self.lines.of(key), key, "expected a positive number of ms")
            slas[key] = float(value) if value is not None else default
        turns_data = data.get("turns")
        if not isinstance(turns_data, list) or not turns_data:
            raise self.fail(self.lines.of("turns"), "turns", "expected at least one [[turns]]")
        turns = tuple(self.turn(i, t) for i, t in enumerate(turns_data))
        return Scenario(
            path=self.path,
            name=name,
            turns=turns,
            character_id=character_id,
            characters=tuple(characters),
            sla_text_ms=slas["sla_text_ms"],
            sla_voice_ms=slas["sla_voice_ms"],
            connect=self.connect(data.get("connect")),
        )

    def connect(self, table: Any) -> dict[str, Any]:
        if table is None:
            return {}
        if not isinstance(table, dict):
            raise self.fail(self.lines.of("connect"), "connect", "expected a [connect] table")
        options = {}
        for key, value in table.items():
            line = self.lines.of(key, table="connect")
            if key not in _CONNECT_KEYS:
                known = _known(_CONNECT_KEYS)
                raise self.fail(line, f"connect.{key}", f"unknown connect option; known: {known}")
            try:
                options[key] = parse_setting(key, value, "scenario")
            except ConfigError as exc:
                reason = str(exc).removeprefix("scenario: ")
                raise self.fail(line, f"connect.{key}", reason) from None
        return options

    def turn(self, index: int, data: Any) -> Turn:
        where = f"turns[{index + 1}]"
        header = self.lines.headers.get(("turns", index), 1)
        if not isinstance(data, dict):
            raise self.fail(header, where, "expected a table")

        def line(key: str) -> int:
            return self.lines.lines.get(("turns", index, key), header)

        for key in data:
            if key not in _TURN_KEYS:
                raise self.fail(
                    line(key), f"{where}.{key}", f"unknown key; known: {_known(_TURN_KEYS)}"
                )
        inputs = [key for key in INPUTS if key in data]
        if len(inputs) != 1:
            given = ", ".join(inputs) or "none"
            raise self.fail(
                header, where, f"needs exactly one of say, audio, trigger, context (got {given})"
            )
        kind = inputs[0]
        text = data[kind]
        if not isinstance(text, str) or not text.strip():
            raise self.fail(line(kind), f"{where}.{kind}", "expected a non-empty string")
        expect = data.get("expect", "respond")
        if expect not in EXPECTS:
            raise self.fail(
                line("expect"), f"{where}.expect", f"expected one of {', '.join(EXPECTS)}"
            )
        contains = data.get("contains", [])
        if not isinstance(contains, list) or not all(isinstance(w, str) for w in contains):
            raise self.fail(line("contains"), f"{where}.contains", "expected a list of strings")
        control: ControlRequest | None = None
        pcm: Int16Array | None = None
        try:
            if kind == "trigger":
                control = controls.parse_trigger(text)
            elif kind == "context":
                control = controls.parse_context(text)
        except ValueError as exc:
            raise self.fail(line(kind), f"{where}.{kind}", str(exc)) from None
        if kind == "audio":
            pcm = self.wav(text, line(kind), f"{where}.audio")
        return Turn(index, kind, text, expect, tuple(contains), control, pcm)

    def wav(self, name: str, line: int, where: str) -> Int16Array:
        clip = Path(name).expanduser()
        if not clip.is_absolute():
            clip = self.path.parent / clip
        if not clip.is_file():
            raise self.fail(line, where, f"no such WAV file: {clip}")
        try:
            pcm = load_wav(clip)
        except Exception as exc:  # wave.Error, EOFError, ValueError, OSError: one answer
            raise self.fail(line, where, f"cannot read {clip} as PCM WAV: {exc}") from None
        if not pcm.size:
            raise self.fail(line, where, f"{clip} holds no audio")
        return pcm


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", list: "a list", int: "a number", float: "a number", dict: "a table"}
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def _known(keys: set[str] | frozenset[str]) -> str:
    return ", ".join(sorted(keys))
