"""`convai-tui config init | set | unset`: write the config file for the user.

The file is edited with tomlkit, so comments and settings the user wrote by hand survive a
`set`. It is always written 0600 (it holds the API key), every value is checked the way
`load_settings` and the session check them before it is written, and an existing file is only
changed by `init` after the user says yes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit
from tomlkit.exceptions import TOMLKitError

from convai_tui.config import (
    DEFAULT_CONNECT_URL,
    ConfigError,
    Settings,
    config_path,
    parse_setting,
    setting_names,
    write_private_file,
)
from convai_tui.core.settings.session_settings import validate_settings

EXIT_REFUSED = 2
"""A value or an answer that was refused: nothing was written."""
EXIT_CHECK_FAILED = 1


@dataclasses.dataclass(frozen=True)
class Prompts:
    """How `config init` asks; tests pass their own."""

    ask: Callable[[str], str]
    ask_secret: Callable[[str], str]


def terminal_prompts() -> Prompts:
    """input() for visible answers; getpass (no echo) for the key on a terminal. Without a
    terminal (a pipe) the key is read as a plain line: there is no echo to hide."""

    def read_line(prompt: str) -> str:
        print(prompt, end="", flush=True)
        return sys.stdin.readline().rstrip("\n")

    interactive = sys.stdin.isatty()
    return Prompts(
        ask=input if interactive else read_line,
        ask_secret=getpass.getpass if interactive else read_line,
    )


def add_config_parsers(cfg_sub: Any) -> None:
    init = cfg_sub.add_parser(
        "init",
        help="ask for the API key and character id, check them, write the config file",
        description="Asks for the API key (hidden) and the character id, checks them with one "
        "real /connect + /disconnect, and writes the config file (mode 0600).",
    )
    init.add_argument(
        "--no-check", action="store_true", help="write without the /connect + /disconnect check"
    )
    init.add_argument(
        "--connect-url",
        metavar="URL",
        help=f"connect API base URL to check against and store (default {DEFAULT_CONNECT_URL})",
    )
    init.add_argument(
        "--insecure-http",
        action="store_true",
        help="allow (and store) a plain http:// connect URL to another host",
    )
    set_ = cfg_sub.add_parser("set", help="set one setting in the config file")
    set_.add_argument("key", help="a setting name, as `config show` prints them")
    set_.add_argument("value")
    unset = cfg_sub.add_parser("unset", help="remove one setting from the config file")
    unset.add_argument("key")


def run_config_command(args: argparse.Namespace, prompts: Prompts | None = None) -> int:
    try:
        if args.config_command == "init":
            return _init(args, prompts or terminal_prompts())
        if args.config_command == "set":
            return _set(args.key, args.value)
        return _unset(args.key)
    except ConfigError as exc:
        _refuse(str(exc))
        return EXIT_REFUSED
    except (EOFError, KeyboardInterrupt):
        _refuse("cancelled; nothing was written")
        return EXIT_REFUSED


def _refuse(reason: str) -> None:
    print(f"convai-tui config: {reason}", file=sys.stderr)


# --- reading, checking and writing the file -----------------------------------------------------


def _read(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, TOMLKitError) as exc:
        raise ConfigError(f"{path}: {exc}; fix or remove it first") from None


_SET_INSECURE_HTTP = "run `convai-tui config set insecure_http true` first"


def _checked(
    path: Path, doc: tomlkit.TOMLDocument, insecure_fix: str = _SET_INSECURE_HTTP
) -> Settings:
    """The settings the file would give, or ConfigError: each value's type, then what the
    session itself refuses before connecting (URL scheme, plain http, the timeout range).
    ``insecure_fix`` is how *this* command allows plain http: the session's own advice names
    the run flag, which ``config set`` does not have."""
    values = {key: parse_setting(key, value, str(path)) for key, value in doc.unwrap().items()}
    settings = Settings(**values)
    # The key and character id may come from the environment; only judge the rest here.
    session = dataclasses.replace(
        settings.session_settings(),
        api_key=settings.api_key or "-",
        character_id=settings.character_id or "-",
    )
    error = validate_settings(session)
    if error is not None and error.code == "config.insecure_url":
        host = urlsplit(session.connect_url).hostname
        raise ConfigError(
            f"{error.code}: Refusing to send the API key over plain http to {host}; "
            f"use https or {insecure_fix}."
        )
    if error is not None:
        raise ConfigError(f"{error.code}: {error.message}")
    return settings


def _write(path: Path, doc: tomlkit.TOMLDocument) -> None:
    try:
        write_private_file(path, tomlkit.dumps(doc))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


# --- set / unset --------------------------------------------------------------------------------


def _set(key: str, raw: str) -> int:
    path = config_path()
    value = parse_setting(key, raw, f"config set {key}")
    if isinstance(value, dict):
        raise ConfigError(f"{key} is a table of several values; edit {path} to change it")
    if value is None:
        raise ConfigError(f"an empty value for {key}; to remove it use `config unset {key}`")
    doc = _read(path)
    doc[key] = value
    _checked(path, doc)
    _write(path, doc)
    shown = "[redacted]" if key == "api_key" else repr(value)
    print(f"{key} = {shown} in {path}")
    return 0


def _unset(key: str) -> int:
    path = config_path()
    if key not in setting_names():
        raise ConfigError(
            f"config unset {key}: unknown setting {key!r}; known: {', '.join(setting_names())}"
        )
    doc = _read(path)
    if key not in doc:
        print(f"{key} was not set in {path}")
        return 0
    del doc[key]
    _checked(path, doc)
    _write(path, doc)
    print(f"removed {key} from {path}")
    return 0


# --- init ---------------------------------------------------------------------------------------


def _init(args: argparse.Namespace, prompts: Prompts) -> int:
    path = config_path()
    doc = _read(path)
    if path.exists():
        answer = prompts.ask(
            f"{path} exists. Replace its api_key and character_id (other settings are kept)? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            _refuse(f"left {path} unchanged")
            return EXIT_REFUSED
    api_key = prompts.ask_secret("Convai API key (input hidden): ").strip()
    if not api_key:
        raise ConfigError(
            "config.api_key_missing: the API key is empty; copy it from your Convai dashboard"
        )
    character_id = prompts.ask("Character id: ").strip()
    if not character_id:
        raise ConfigError("config.character_id_missing: the character id is empty")
    doc["api_key"] = api_key
    doc["character_id"] = character_id
    if args.connect_url:
        doc["connect_url"] = args.connect_url
    if args.insecure_http:
        doc["insecure_http"] = True
    settings = _checked(path, doc, insecure_fix="add --insecure-http to `config init`")
    if not args.no_check:
        ok, detail = asyncio.run(_check_connect(settings))
        print(detail, file=sys.stderr if not ok else sys.stdout)
        if not ok:
            _refuse(f"nothing was written to {path} (use --no-check to write it anyway)")
            return EXIT_CHECK_FAILED
    _write(path, doc)
    print(f"wrote {path} (mode 0600)")
    return 0


async def _check_connect(settings: Settings) -> tuple[bool, str]:
    """One real /connect and /disconnect (the doctor's probe), as a line for the user."""
    from convai_tui.doctor.checks import probe_connect, release_session
    from convai_tui.doctor.report import DoctorOptions

    options = DoctorOptions(
        connect_url=settings.connect_url,
        api_key=settings.api_key,
        character_id=settings.character_id,
        insecure_http=settings.insecure_http,
        timeout_s=15.0,
    )
    check, response, client = await probe_connect(options)
    if response is None or client is None:
        return False, f"check failed: {check.detail}" + (f"\nfix: {check.fix}" if check.fix else "")
    released = await release_session(client, response.session_id)
    return True, f"checked: /connect answered for character {settings.character_id}. {released}"
