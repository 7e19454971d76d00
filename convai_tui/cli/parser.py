"""The `convai-tui` command line: its subcommands and their flags.

Only the argument definitions; `convai_tui.cli.main` parses with them and runs the command. Each
subcommand module that owns a command (the stand-in, report, setup, config, completion,
headless controls, rooms) adds its own flags through the hook imported below.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from convai_tui import __version__

CONNECT_OPTION_FLAGS = (
    "emotion",
    "action_config",
    "scene_description",
    "narrative_template_keys",
    "dynamic_info",
    "end_user_metadata",
    "vad_params",
    "turn_detection_config",
    "llm_provider",
    "thinking_mode",
    "server_debug",
)


def _session_flags(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("session")
    g.add_argument("--connect-url", help="connect API base URL (env CONVAI_CONNECT_URL)")
    g.add_argument("--api-key", help="Convai API key (env CONVAI_API_KEY)")
    g.add_argument("--character-id", help="character to talk to (env CONVAI_CHARACTER_ID)")
    g.add_argument(
        "--connection-timeout",
        type=float,
        metavar="S",
        help="seconds for /connect and the room join (default 30, max 120)",
    )
    g.add_argument(
        "--no-waiting-room",
        dest="waiting_room",
        action="store_const",
        const=False,
        default=None,
        help="fail at once when the concurrency limit is reached",
    )
    g.add_argument(
        "--waiting-room-max-wait",
        type=float,
        metavar="S",
        help="give up waiting for a session slot after S seconds",
    )
    g.add_argument("--max-reconnect-attempts", type=int, metavar="N")
    g.add_argument("--character-session-id", help="resume this conversation")
    g.add_argument("--end-user-id", help="end-user id for long-term memory")
    g.add_argument(
        "--insecure-http",
        action="store_const",
        const=True,
        default=None,
        help="allow plain http:// to hosts other than this machine",
    )
    c = parser.add_argument_group("connect options (objects as JSON; also in the config file)")
    c.add_argument(
        "--emotion",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="ask for bot-emotion (emotion_config; default on)",
    )
    c.add_argument(
        "--action-config",
        metavar="JSON",
        help='{"actions": [...], "objects": [{"name","description"}], ...}',
    )
    c.add_argument("--scene-description", metavar="JSON", help='[{"name","description"}, ...]')
    c.add_argument("--narrative-template-keys", metavar="JSON", help='{"key": "value", ...}')
    c.add_argument("--dynamic-info", metavar="TEXT", help="dynamic info text for the character")
    c.add_argument("--end-user-metadata", metavar="JSON", help='e.g. {"name": "Sam"}')
    c.add_argument(
        "--vad-params",
        metavar="JSON",
        help='{"confidence", "start_secs", "stop_secs", "min_volume"}',
    )
    c.add_argument(
        "--turn-detection-config",
        metavar="JSON",
        help='{"type": "smart_turn" | "not_provided", "params": {...}}',
    )
    c.add_argument(
        "--llm-provider",
        metavar="NAME",
        help="dynamic (default), gemini-live, gemini-live-beta or gemini-baml",
    )
    c.add_argument("--thinking-mode", action=argparse.BooleanOptionalAction, default=None)
    c.add_argument(
        "--server-debug",
        action="store_const",
        const=True,
        default=None,
        help="ask for the server's debug streams (metrics in Diagnostics)",
    )
    g.add_argument(
        "--log-level",
        metavar="LEVEL",
        help="debug|info|warning|error, or per category: transport=debug,...",
    )
    g.add_argument(
        "--session-log",
        metavar="FILE",
        type=Path,
        help="write the session's JSONL event log here (default: XDG state dir)",
    )


def _run_flags(parser: argparse.ArgumentParser) -> None:
    _session_flags(parser)
    g = parser.add_argument_group("run")
    g.add_argument("--headless", action="store_true", help="no TUI; JSON lines on stdout")
    g.add_argument(
        "--json",
        action="store_true",
        help="JSON-lines output (the only headless format; accepted for clarity)",
    )
    g.add_argument(
        "--say",
        action="append",
        metavar="TEXT",
        default=[],
        help="send TEXT once the character is ready (repeatable)",
    )
    g.add_argument(
        "--exit-after-reply",
        action="store_true",
        help="disconnect once the reply to the last --say (or first voice turn) ends",
    )
    g.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="stay connected S seconds, then disconnect cleanly",
    )
    g.add_argument(
        "--snapshot",
        metavar="FILE",
        type=Path,
        help="write a diagnostics snapshot (JSON, no secrets) here when the session ends",
    )
    a = parser.add_argument_group("audio")
    a.add_argument(
        "--audio",
        dest="audio",
        action="store_const",
        const=True,
        default=None,
        help="microphone and speaker on (the default in the TUI; off when headless)",
    )
    a.add_argument(
        "--no-audio",
        dest="audio",
        action="store_const",
        const=False,
        help="text only: no microphone, no speaker",
    )
    a.add_argument("--input-device", metavar="DEV", help="microphone: index or name substring")
    a.add_argument("--output-device", metavar="DEV", help="speaker: index or name substring")
    a.add_argument(
        "--no-aec",
        dest="aec",
        action="store_const",
        const=False,
        default=None,
        help="no echo cancellation / noise suppression on the microphone",
    )
    from convai_tui.cli.room_flags import add_room_arguments
    from convai_tui.headless.runner import add_control_arguments

    add_control_arguments(parser)
    add_room_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convai-tui", description="Talk to a Convai character and watch the live session."
    )
    parser.add_argument("--version", action="version", version=f"convai-tui {__version__}")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="open a session (the TUI, or --headless)")
    _run_flags(run)

    demo = sub.add_parser("demo", help="start the local stand-in and open the monitor on it")
    _run_flags(demo)
    demo.add_argument(
        "--characters",
        type=int,
        default=1,
        metavar="N",
        dest="demo_cast",
        help="a multi-character room with N demo characters (2-5)",
    )

    from convai_tui.local.args import add_local_server_arguments

    local = sub.add_parser(
        "local-server", help="run the offline stand-in of Convai's realtime service"
    )
    add_local_server_arguments(local)

    _doctor_and_replay_parsers(sub)
    from convai_tui.sessionlog.report import add_report_parser

    add_report_parser(sub)

    from convai_tui.cli.setup import add_setup_parser

    add_setup_parser(sub)

    devices = sub.add_parser("devices", help="list audio input and output devices")
    devices.add_argument("--json", action="store_true", help="one JSON array on stdout")

    cfg = sub.add_parser("config", help="configuration file helpers")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    cfg_sub.add_parser("path", help="print where the config file is read from")
    cfg_sub.add_parser("show", help="print the effective settings (API key redacted)")
    from convai_tui.cli.completion import add_completion_parser
    from convai_tui.cli.config_commands import add_config_parsers

    add_config_parsers(cfg_sub)
    add_completion_parser(sub)
    return parser


# --- doctor and replay ------------------------------------------------------------------------------


def _doctor_and_replay_parsers(sub: Any) -> None:
    doctor = sub.add_parser("doctor", help="check network, Convai, LiveKit and audio access")
    doctor.add_argument(
        "--json",
        action="store_true",
        help='one JSON object on stdout: {"checks": [{name, ok, detail, fix}]}',
    )
    doctor.add_argument("--connect-url", help="connect API base URL (env CONVAI_CONNECT_URL)")
    doctor.add_argument("--api-key", help="Convai API key (env CONVAI_API_KEY)")
    doctor.add_argument("--character-id", help="character to probe (env CONVAI_CHARACTER_ID)")
    doctor.add_argument(
        "--rest-url",
        metavar="URL",
        help="REST host to check (default https://api.convai.com when the "
        "connect URL is Convai's cloud)",
    )
    doctor.add_argument(
        "--livekit-url",
        metavar="URL",
        help="run only the LiveKit connection test against this room_url",
    )
    doctor.add_argument("--token", metavar="T", help="the room token for --livekit-url")
    doctor.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds each network check may take (default 5)",
    )
    doctor.add_argument(
        "--require-audio",
        action="store_true",
        help="fail when no microphone or speaker is found (default: advisory)",
    )
    doctor.add_argument(
        "--insecure-http",
        action="store_const",
        const=True,
        default=None,
        help="allow plain http:// to hosts other than this machine",
    )
    doctor.add_argument("--log-level", metavar="LEVEL", help="as for run")

    replay = sub.add_parser("replay", help="watch a recorded session log (JSONL) in the TUI")
    replay.add_argument("file", type=Path, help="a session log (XDG state dir sessions/*.jsonl)")
    replay.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="playback speed (default 1; 0 = as fast as possible)",
    )
