"""Settings from one place: command-line flags > environment (CONVAI_*) > TOML file > defaults.

The TOML file lives in the XDG config dir (`convai-tui config path` prints it); the env var
CONVAI_CONFIG points at another file (tests use it to isolate themselves).

Here: the loaders and the flag/env/file metadata queries; `settings` declares the fields,
`fields` how a field is declared and converted from its type hint. May import core.settings and
core.rtvi.controls (plain data), never the network, LiveKit, audio or a front end.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
import tomllib
import typing
from pathlib import Path
from typing import Any

import platformdirs

from convai_tui.config.fields import Flag, SettingSpec, convert
from convai_tui.config.settings import DEFAULT_CONNECT_URL as DEFAULT_CONNECT_URL
from convai_tui.config.settings import Settings as Settings

log = logging.getLogger("convai_tui.config")

APP_NAME = "convai-tui"


class ConfigError(ValueError):
    """A setting that cannot be read; the message names the source and the field."""


def config_path() -> Path:
    override = os.environ.get("CONVAI_CONFIG")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME))


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_HINTS = typing.get_type_hints(Settings)
_NO_SPEC = SettingSpec()


def spec_of(name: str) -> SettingSpec:
    spec = _FIELDS[name].metadata.get("spec", _NO_SPEC)
    assert isinstance(spec, SettingSpec)
    return spec


_FILE_KEYS = [name for name in _FIELDS if spec_of(name).in_file]


def env_name(name: str) -> str:
    return f"CONVAI_{name.upper()}"


def setting_flags() -> list[tuple[str, Flag]]:
    """Every setting's flags as (field name, flag), in the order --help lists them."""
    pairs = [(name, flag) for name in _FIELDS for flag in spec_of(name).flags]
    return sorted(pairs, key=lambda pair: not pair[1].first)


def flag_scalar(name: str) -> type | None:
    """int or float when the setting (or each of its items) is one, for argparse to check."""
    hint = _HINTS[name]
    for arg in (hint, *typing.get_args(hint)):
        if arg in (int, float):
            return arg  # type: ignore[no-any-return]
    return None


def shown_settings(settings: Settings) -> dict[str, Any]:
    """The settings a config file may hold, by key (what `config show` prints)."""
    return {name: getattr(settings, name) for name in _FILE_KEYS}


def _coerce(name: str, value: Any, source: str) -> Any:
    try:
        return convert(_HINTS[name], value)
    except (TypeError, ValueError):
        # The declared annotation names the type as the user reads it ("float | None").
        kind = _FIELDS[name].type
        raise ConfigError(f"{source}: {name} = {value!r} is not a valid {kind}") from None


def warn_if_loose(path: Path) -> str | None:
    """A warning when a config file holding a key can be read by other users."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return (
            f"{path} holds an API key and is readable by other users "
            f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
        )
    return None


def load_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - set(_FILE_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    if data.get("api_key"):
        warning = warn_if_loose(path)
        if warning:
            log.warning(warning)
    return {k: _coerce(k, v, str(path)) for k, v in data.items()}


def load_env(environ: dict[str, str] | os._Environ[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _FIELDS:
        if not spec_of(name).env:
            continue
        value = environ.get(env_name(name))
        if value is not None:
            out[name] = _coerce(name, value, env_name(name))
    return out


def load_settings(
    cli: dict[str, Any] | None = None,
    environ: dict[str, str] | os._Environ[str] | None = None,
    path: Path | None = None,
) -> Settings:
    """Merge the sources; CLI values of None mean "not given"."""
    merged: dict[str, Any] = {}
    merged.update(load_file(path or config_path()))
    merged.update(load_env(os.environ if environ is None else environ))
    for key, value in (cli or {}).items():
        if value is not None and key in _FIELDS:
            merged[key] = _coerce(key, value, f"--{key.replace('_', '-')}")
    return Settings(**merged)


def write_private_file(path: Path, text: str) -> None:
    """Create or replace a file readable only by its owner (it may hold a key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def setting_names() -> list[str]:
    """Every setting a config file may hold (the TOML keys)."""
    return list(_FILE_KEYS)


def parse_setting(name: str, value: Any, source: str) -> Any:
    """``value`` (e.g. a command-line string) as the setting's type; ConfigError naming the
    setting and the reason when the name is unknown or the value does not fit."""
    if name not in _FILE_KEYS:
        raise ConfigError(f"{source}: unknown setting {name!r}; known: {', '.join(_FILE_KEYS)}")
    return _coerce(name, value, source)
