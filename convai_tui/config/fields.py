"""How a setting is declared: its flags, its env var, whether the config file holds it, and
how a value from any source becomes its type (read from the field's type hint)."""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Flag:
    """One command-line flag of a setting (`run` and `demo`); its value lands in the field."""

    option: str
    help: str | None = None
    metavar: str | None = None
    const: bool | None = None
    """A flag without a value that stores this (e.g. `--no-aec` stores False)."""
    toggle: bool = False
    """`--x` / `--no-x` (argparse.BooleanOptionalAction)."""
    repeat: bool = False
    """Repeatable; each use appends its value."""
    section: str = "session"
    """Where --help lists it: session, connect, logging (session, after the connect options),
    audio or rooms (cli/parser.py's _SECTIONS)."""
    first: bool = False
    """Listed before its section's other flags."""
    parse: Callable[[str], Any] | None = None
    """Reads the flag's text (a ValueError's message is the usage error); None: the type hint."""
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SettingSpec:
    """How a field is given: its flags, whether env var CONVAI_<NAME> sets it, whether the
    config file may hold it (False: a flag only, not shown by `config show`)."""

    flags: tuple[Flag, ...] = ()
    env: bool = True
    in_file: bool = True


def setting(
    default: Any = dataclasses.MISSING,
    *,
    factory: Any = dataclasses.MISSING,
    flags: tuple[Flag, ...] | Flag = (),
    env: bool = True,
    in_file: bool = True,
) -> Any:
    """A Settings field: env var CONVAI_<NAME> unless env=False; flag-only when in_file=False."""
    spec = SettingSpec(flags if isinstance(flags, tuple) else (flags,), env and in_file, in_file)
    meta = {"spec": spec}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def convert(hint: Any, value: Any) -> Any:
    """``value`` (a TOML value, or the text of a flag or env var) as the type ``hint``; for an
    optional type, None and "" are None."""
    args = typing.get_args(hint)
    if type(None) in args:
        if value in (None, ""):
            return None
        (hint,) = [arg for arg in args if arg is not type(None)]
        args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if hint is bool:
        return coerce_bool(value)
    if hint in (int, float, str):
        return hint(value)
    if origin is list and args == (str,):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ValueError(value)
        return [str(item).strip() for item in items if str(item).strip()]
    if origin is dict and args == (str, str):
        if not isinstance(value, dict):
            raise ValueError(value)
        return {str(k): str(v) for k, v in value.items()}
    if origin is list and typing.get_origin(args[0]) is not dict:
        # Items of a type the flag parses itself (Flag.parse), e.g. a control request.
        if not isinstance(value, list):
            raise ValueError(value)
        return list(value)
    if origin in (list, dict):
        return coerce_json(value, origin)
    raise TypeError(hint)


def coerce_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def coerce_json(value: Any, kind: type) -> Any:
    """A TOML table/array as it is, or JSON text (flags, env) parsed; None stays None."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, kind):
        raise ValueError(value)
    if isinstance(value, list) and not all(isinstance(item, dict) for item in value):
        raise ValueError(value)
    return value
