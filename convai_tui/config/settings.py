"""`Settings`: every user-facing setting, each declared once with its type, default, flags and
env var (fields.setting), and how they become the core's SessionSettings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convai_tui.config.fields import Flag, setting
from convai_tui.core.rtvi import controls
from convai_tui.core.rtvi.controls import ControlRequest
from convai_tui.core.settings.connect_options import ConnectOptions
from convai_tui.core.settings.retry import RetryPolicy
from convai_tui.core.settings.session_settings import LinkThresholds, SessionSettings

DEFAULT_CONNECT_URL = "https://live.convai.com"


@dataclass
class Settings:
    """Every user-facing setting, with the env var and TOML key named after the field; fields
    with in_file=False are flags only (no env var, no config key, not in `config show`)."""

    api_key: str = setting("", flags=Flag("--api-key", "Convai API key (env CONVAI_API_KEY)"))
    """Convai API key (sent as X-API-Key). Env CONVAI_API_KEY."""
    character_id: str = setting(
        "", flags=Flag("--character-id", "character to talk to (env CONVAI_CHARACTER_ID)")
    )
    """The character to talk to. Env CONVAI_CHARACTER_ID."""
    connect_url: str = setting(
        DEFAULT_CONNECT_URL,
        flags=Flag("--connect-url", "connect API base URL (env CONVAI_CONNECT_URL)", first=True),
    )
    """Base URL of the realtime connect API (POST {connect_url}/connect)."""
    connection_timeout: float = setting(
        30.0,
        flags=Flag(
            "--connection-timeout",
            "seconds for /connect and the room join (default 30, max 120)",
            metavar="S",
        ),
    )
    """Seconds to wait for /connect and the room join (Unity: default 30, max 120)."""
    waiting_room: bool = setting(
        True,
        flags=Flag(
            "--no-waiting-room", "fail at once when the concurrency limit is reached", const=False
        ),
    )
    """Keep retrying while the plan's concurrency limit is reached ("Please wait…")."""
    waiting_room_max_wait: float | None = setting(
        None,
        flags=Flag(
            "--waiting-room-max-wait",
            "give up waiting for a session slot after S seconds",
            metavar="S",
        ),
    )
    """Give up waiting for a slot after this many seconds (None: until cancelled)."""
    max_reconnect_attempts: int = setting(3, flags=Flag("--max-reconnect-attempts", metavar="N"))
    """Reconnects after an unexpected drop before the session ends in Error."""
    characters: list[str] = setting(
        factory=list,
        flags=Flag(
            "--character",
            "a character instance (repeatable; the same ID twice is a clone; the "
            "first is the initial target); one = --character-id",
            metavar="ID[:CHARACTER_SESSION_ID]",
            repeat=True,
            section="rooms",
        ),
    )
    """Multi-character room: character ids (`ID` or `ID:CHARACTER_SESSION_ID`), initial first;
    two or more create one room with all of them (`--character`, repeatable)."""
    character_session_id: str | None = setting(
        None, flags=Flag("--character-session-id", "resume this conversation")
    )
    """Resume this conversation (kept across reconnects automatically)."""
    resume: bool = setting(
        False,
        flags=Flag(
            "--resume",
            "continue the last conversation with this character (its character session id "
            "is kept in the state dir)",
            const=True,
        ),
    )
    """Start with the character session id the last conversation with this character had
    (remembered per character id in the state dir); off: a fresh conversation."""
    end_user_id: str | None = setting(
        None, flags=Flag("--end-user-id", "end-user id for long-term memory")
    )
    """Identifies the end user for long-term memory."""
    rest_url: str | None = setting(
        None,
        flags=Flag(
            "--rest-url",
            "REST host asked for the character's name (default: api.convai.com for Convai's "
            "cloud, else the connect URL)",
            metavar="URL",
        ),
    )
    """The REST host asked for the character's name (POST /character/get). None: the one that
    belongs to the connect URL (core.connect.rest_api.rest_url_for), so the key never goes to a
    host the user did not name."""
    insecure_http: bool = setting(
        False,
        flags=Flag(
            "--insecure-http", "allow plain http:// to hosts other than this machine", const=True
        ),
    )
    """Allow plain http:// connect URLs to hosts other than this machine."""
    log_level: str = setting(
        "warning",
        flags=Flag(
            "--log-level",
            "debug|info|warning|error, or per category: transport=debug,...",
            metavar="LEVEL",
            section="logging",
        ),
    )
    """Log level, or per category: 'debug' or 'transport=debug,connection=info'."""
    session_log_dir: str | None = None
    """Where session JSONL logs go (default: the XDG state dir)."""
    audio: bool = setting(
        True,
        flags=(
            Flag(
                "--audio",
                "microphone and speaker on (the default in the TUI; off when headless)",
                const=True,
                section="audio",
            ),
            Flag(
                "--no-audio", "text only: no microphone, no speaker", const=False, section="audio"
            ),
        ),
    )
    """Microphone and speaker (the headless runner turns them off unless --audio)."""
    input_device: str | None = setting(
        None,
        flags=Flag(
            "--input-device", "microphone: index or name substring", metavar="DEV", section="audio"
        ),
    )
    """Microphone: device index or name substring."""
    output_device: str | None = setting(
        None,
        flags=Flag(
            "--output-device", "speaker: index or name substring", metavar="DEV", section="audio"
        ),
    )
    """Speaker: device index or name substring."""
    aec: bool = setting(
        True,
        flags=Flag(
            "--no-aec",
            "no echo cancellation / noise suppression on the microphone",
            const=False,
            section="audio",
        ),
    )
    """Echo cancellation / noise suppression on the microphone."""
    keymap: dict[str, str] = setting(factory=dict, env=False)
    """TUI key remapping: binding id → keys, e.g. {"retry.now": "f5"}."""
    link_rtt_ms: float = 300.0
    """transport.link_degraded when the selected candidate pair's round-trip time exceeds this."""
    link_jitter_ms: float = 30.0
    """... when inbound audio jitter exceeds this."""
    link_loss_pct: float = 2.0
    """... when inbound audio packet loss over the last 10 s exceeds this percentage."""
    link_warn_relay: bool = True
    """... when media only flows through a TURN relay."""
    sla_voice_ms: int = 3000
    """Latency target of a voice turn (end of speech → first sound heard), as Convai's own
    evaluation tooling uses; turn_timing's over_sla and the Turns view mark turns above it."""
    sla_text_ms: int = 1200
    """Latency target of a typed or trigger turn (sent → first sound heard)."""
    # /connect options a user of Convai's SDKs can set (core/settings/connect_options.py). Objects are
    # TOML tables in the file and JSON text in flags and env vars.
    emotion: bool = setting(
        True,
        flags=Flag(
            "--emotion",
            "ask for bot-emotion (emotion_config; default on)",
            toggle=True,
            section="connect",
        ),
    )
    """Ask for bot-emotion (emotion_config), on by default as in the web SDK."""
    action_config: dict[str, Any] | None = setting(
        None,
        flags=Flag(
            "--action-config",
            '{"actions": [...], "objects": [{"name","description"}], ...}',
            metavar="JSON",
            section="connect",
        ),
    )
    """{actions, objects, characters, current_attention_object}."""
    scene_description: list[dict[str, Any]] | None = setting(
        None,
        flags=Flag(
            "--scene-description",
            '[{"name","description"}, ...]',
            metavar="JSON",
            section="connect",
        ),
    )
    """[{name, description}, ...]."""
    narrative_template_keys: dict[str, Any] | None = setting(
        None,
        flags=Flag(
            "--narrative-template-keys", '{"key": "value", ...}', metavar="JSON", section="connect"
        ),
    )
    dynamic_info: str | None = setting(
        None,
        flags=Flag(
            "--dynamic-info",
            "dynamic info text for the character",
            metavar="TEXT",
            section="connect",
        ),
    )
    """Dynamic info text for the character (dynamic_info.text)."""
    end_user_metadata: dict[str, Any] | None = setting(
        None,
        flags=Flag(
            "--end-user-metadata", 'e.g. {"name": "Sam"}', metavar="JSON", section="connect"
        ),
    )
    vad_params: dict[str, Any] | None = setting(
        None,
        flags=Flag(
            "--vad-params",
            '{"confidence", "start_secs", "stop_secs", "min_volume"}',
            metavar="JSON",
            section="connect",
        ),
    )
    """{confidence, start_secs, stop_secs, min_volume}."""
    turn_detection_config: dict[str, Any] | None = setting(
        None,
        flags=Flag(
            "--turn-detection-config",
            '{"type": "smart_turn" | "not_provided", "params": {...}}',
            metavar="JSON",
            section="connect",
        ),
    )
    llm_provider: str = setting(
        "dynamic",
        flags=Flag(
            "--llm-provider",
            "dynamic (default), gemini-live, gemini-live-beta or gemini-baml",
            metavar="NAME",
            section="connect",
        ),
    )
    thinking_mode: bool | None = setting(
        None, flags=Flag("--thinking-mode", toggle=True, section="connect")
    )
    server_debug: bool = setting(
        False,
        flags=Flag(
            "--server-debug",
            "ask for the server's debug streams (metrics in Diagnostics)",
            const=True,
            section="connect",
        ),
    )
    """Ask the server for its debug streams (metrics, turn-trace, server-log)."""
    # Flags only: what one run asks of a multi-character room.
    shared_session_key: str | None = setting(
        None,
        in_file=False,
        flags=Flag(
            "--shared-session-key",
            "a room locator of your choosing that others can join with --join-key",
            metavar="KEY",
            section="rooms",
        ),
    )
    max_participants: int | None = setting(
        None,
        in_file=False,
        flags=Flag(
            "--max-participants",
            "most humans the created room admits",
            metavar="N",
            section="rooms",
        ),
    )
    join: str | None = setting(
        None,
        in_file=False,
        flags=Flag(
            "--join",
            "join an existing multi-character room by its room session id",
            metavar="ROOM_SESSION_ID",
            section="rooms",
        ),
    )
    join_key: str | None = setting(
        None,
        in_file=False,
        flags=Flag(
            "--join-key",
            "join an existing multi-character room by its shared session key",
            metavar="SHARED_SESSION_KEY",
            section="rooms",
        ),
    )
    target: str | None = setting(
        None,
        in_file=False,
        flags=Flag(
            "--target",
            "headless: switch the interaction target to this membership id or "
            "1-based roster position once ready, before --say",
            metavar="MEMBERSHIP_OR_INDEX",
            section="rooms",
        ),
    )
    """The interaction target the headless runner switches to once ready."""
    # Flags only: the controls a headless run sends once the character is ready.
    trigger: list[ControlRequest] = setting(
        factory=list,
        in_file=False,
        flags=Flag(
            "--trigger",
            "send a trigger-message by name, with an optional message",
            metavar="NAME[:MESSAGE]",
            repeat=True,
            parse=controls.parse_trigger,
            section="controls",
        ),
    )
    context: list[ControlRequest] = setting(
        factory=list,
        in_file=False,
        flags=Flag(
            "--context",
            "send a context-update; a final :append, :replace or :reset is the "
            "mode (default append)",
            metavar="TEXT[:MODE]",
            repeat=True,
            parse=controls.parse_context,
            section="controls",
        ),
    )
    template_keys: list[tuple[str, str]] = setting(
        factory=list,
        in_file=False,
        flags=Flag(
            "--template-key",
            "set a template key (repeatable; sent together as one update)",
            metavar="K=V",
            repeat=True,
            parse=controls.parse_template_key,
            section="controls",
        ),
    )
    tts: str | None = setting(
        None,
        in_file=False,
        flags=Flag(
            "--tts",
            "turn the character's voice on or off",
            choices=("on", "off"),
            section="controls",
        ),
    )
    stt: str | None = setting(
        None,
        in_file=False,
        flags=Flag(
            "--stt",
            "off: the character ignores the microphone (typed text still goes)",
            choices=("on", "off"),
            section="controls",
        ),
    )

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
            sla_voice_ms=self.sla_voice_ms,
            sla_text_ms=self.sla_text_ms,
            link=LinkThresholds(
                rtt_ms=self.link_rtt_ms,
                jitter_ms=self.link_jitter_ms,
                loss_pct=self.link_loss_pct,
                relay_is_degraded=self.link_warn_relay,
            ),
        )
