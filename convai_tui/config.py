"""Settings from one place: command-line flags > environment (CONVAI_*) > TOML file > defaults.

The TOML file lives in the XDG config dir (`convai-tui config path` prints it); the env var
CONVAI_CONFIG points at another file (tests use it to isolate themselves).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from convai_tui.core.settings.connect_options import ConnectOptions
from convai_tui.core.settings.retry import RetryPolicy
from convai_tui.core.settings.session_settings import LinkThresholds, SessionSettings

log = logging.getLogger("convai_tui.config")

APP_NAME = "convai-tui"
DEFAULT_CONNECT_URL = "https://live.convai.com"


@dataclass
class Settings:
    """Every user-facing setting, with the env var and TOML key named after the field."""

    api_key: str = ""
    """Convai API key (sent as X-API-Key). Env CONVAI_API_KEY."""
    character_id: str = ""
    """The character to talk to. Env CONVAI_CHARACTER_ID."""
    connect_url: str = DEFAULT_CONNECT_URL
    """Base URL of the realtime connect API (POST {connect_url}/connect)."""
    connection_timeout: float = 30.0
    """Seconds to wait for /connect and the room join (Unity: default 30, max 120)."""
    waiting_room: bool = True
    """Keep retrying while the plan's concurrency limit is reached ("Please wait…")."""
    waiting_room_max_wait: float | None = None
    """Give up waiting for a slot after this many seconds (None: until cancelled)."""
    max_reconnect_attempts: int = 3
    """Reconnects after an unexpected drop before the session ends in Error."""
    characters: list[str] = field(default_factory=list)
    """Multi-character room: character ids (`ID` or `ID:CHARACTER_SESSION_ID`), initial first;
    two or more create one room with all of them (`--character`, repeatable)."""
    character_session_id: str | None = None
    """Resume this conversation (kept across reconnects automatically)."""
    end_user_id: str | None = None
    """Identifies the end user for long-term memory."""
    rest_url: str = "https://api.convai.com"
    """Convai's REST gateway, asked for the character's name (POST /character/get)."""
    insecure_http: bool = False
    """Allow plain http:// connect URLs to hosts other than this machine."""
    log_level: str = "warning"
    """Log level, or per category: 'debug' or 'transport=debug,connection=info'."""
    session_log_dir: str | None = None
    """Where session JSONL logs go (default: the XDG state dir)."""
    audio: bool = True
    """Microphone and speaker (the headless runner turns them off unless --audio)."""
    input_device: str | None = None
    """Microphone: device index or name substring."""
    output_device: str | None = None
    """Speaker: device index or name substring."""
    aec: bool = True
    """Echo cancellation / noise suppression on the microphone."""
    keymap: dict[str, str] = field(default_factory=dict)
    """TUI key remapping: binding id → keys, e.g. {"retry.now": "f5"}."""
    link_rtt_ms: float = 300.0
    """transport.link_degraded when the selected candidate pair's round-trip time exceeds this."""
    link_jitter_ms: float = 30.0
    """... when inbound audio jitter exceeds this."""
    link_loss_pct: float = 2.0
    """... when inbound audio packet loss over the last 10 s exceeds this percentage."""
    link_warn_relay: bool = True
    """... when media only flows through a TURN relay."""
    # /connect options a user of Convai's SDKs can set (core/settings/connect_options.py). Objects are
    # TOML tables in the file and JSON text in flags and env vars.
    emotion: bool = True
    """Ask for bot-emotion (emotion_config), on by default as in the web SDK."""
    action_config: dict[str, Any] | None = None
    """{actions, objects, characters, current_attention_object}."""
    scene_description: list[dict[str, Any]] | None = None
    """[{name, description}, ...]."""
    narrative_template_keys: dict[str, Any] | None = None
    dynamic_info: str | None = None
    """Dynamic info text for the character (dynamic_info.text)."""
    end_user_metadata: dict[str, Any] | None = None
    vad_params: dict[str, Any] | None = None
    """{confidence, start_secs, stop_secs, min_volume}."""
    turn_detection_config: dict[str, Any] | None = None
    llm_provider: str = "dynamic"
    thinking_mode: bool | None = None
    server_debug: bool = False
    """Ask the server for its debug streams (metrics, turn-trace, server-log)."""

    def session_settings(self, *, character_name: str | None = None) -> SessionSettings:
        return SessionSettings(
            connect_url=self.connect_url,
            api_key=self.api_key,
            character_id=self.character_id,
            connection_timeout_s=self.connection_timeout,
            retry=RetryPolicy(
                waiting_room=self.waiting_room,
                waiting_room_max_wait_s=self.waiting_room_max_wait,
                max_reconnect_attempts=self.max_reconnect_attempts,
            ),
            character_session_id=self.character_session_id,
            end_user_id=self.end_user_id,
            insecure_http=self.insecure_http,
            character_name=character_name,
            connect_options=ConnectOptions(
                emotion=self.emotion,
                action_config=self.action_config,
                scene_description=self.scene_description,
                narrative_template_keys=(
                    {k: str(v) for k, v in self.narrative_template_keys.items()}
                    if self.narrative_template_keys is not None
                    else None
                ),
                dynamic_info={"text": self.dynamic_info} if self.dynamic_info else None,
                end_user_metadata=self.end_user_metadata,
                vad_params=self.vad_params,
                turn_detection_config=self.turn_detection_config,
                llm_provider=self.llm_provider,
                thinking_mode=self.thinking_mode,
                debug=self.server_debug,
            ),
            link=LinkThresholds(
                rtt_ms=self.link_rtt_ms,
                jitter_ms=self.link_jitter_ms,
                loss_pct=self.link_loss_pct,
                relay_is_degraded=self.link_warn_relay,
            ),
        )


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


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = _FIELDS[name].type
    try:
        if kind == "bool":
            return _coerce_bool(value)
        if kind == "bool | None":
            return None if value in (None, "") else _coerce_bool(value)
        if kind.startswith(("dict[str, Any]", "list[dict")):
            return _coerce_json(value, list if kind.startswith("list") else dict)
        if kind == "float":
            return float(value)
        if kind == "float | None":
            return None if value in (None, "") else float(value)
        if kind == "int":
            return int(value)
        if kind == "dict[str, str]":
            if not isinstance(value, dict):
                raise ValueError(value)
            return {str(k): str(v) for k, v in value.items()}
        if kind == "list[str]":
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list):
                raise ValueError(value)
            return [str(item).strip() for item in items if str(item).strip()]
        if kind == "str | None":
            return None if value in (None, "") else str(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {name} = {value!r} is not a valid {kind}") from None


def _coerce_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def _coerce_json(value: Any, kind: type) -> Any:
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
    unknown = sorted(set(data) - set(_FIELDS))
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
        if name == "keymap":
            continue
        value = environ.get(f"CONVAI_{name.upper()}")
        if value is not None:
            out[name] = _coerce(name, value, f"CONVAI_{name.upper()}")
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
    return list(_FIELDS)


def parse_setting(name: str, value: Any, source: str) -> Any:
    """``value`` (e.g. a command-line string) as the setting's type; ConfigError naming the
    setting and the reason when the name is unknown or the value does not fit."""
    if name not in _FIELDS:
        raise ConfigError(f"{source}: unknown setting {name!r}; known: {', '.join(_FIELDS)}")
    return _coerce(name, value, source)
