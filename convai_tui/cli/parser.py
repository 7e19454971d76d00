"""The `convai-tui` command line: its subcommands and their flags.

Only the argument definitions; `convai_tui.cli.main` parses with them and runs the command. Each
subcommand module that owns a command (the stand-in, report, setup, config, completion,
headless controls, rooms) adds its own flags through the hook imported below.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convai_tui import __version__
from convai_tui.config import flag_scalar, setting_flags
from convai_tui.config.fields import Flag

_SECTIONS = (
    ("session", "session"),
    ("connect", "connect options (objects as JSON; also in the config file)"),
    ("logging", "session"),
    ("run", "run"),
    ("audio", "audio"),
    (
        "controls",
        "controls (headless; sent in this order once the character is ready, before --say)",
    ),
    ("rooms", "multi-character rooms"),
)
"""Where the flags of `run` and `demo` go, in the order they are added (the usage line's order);
each title is one --help section. A setting's Flag names its section."""


def _run_flags(parser: argparse.ArgumentParser) -> None:
    groups: dict[str, Any] = {}
    for section, title in _SECTIONS:
        group = groups.setdefault(title, parser.add_argument_group(title))
        for name, flag in setting_flags():
            if flag.section == section:
                _add_setting_flag(group, name, flag)
        _NOT_SETTINGS.get(section, lambda _group: None)(group)


def _session_log_flag(g: Any) -> None:
    g.add_argument(
        "--session-log",
        metavar="FILE",
        type=Path,
        help="write the session's JSONL event log here (default: XDG state dir)",
    )


def _run_only_flags(g: Any) -> None:
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


_NOT_SETTINGS = {"logging": _session_log_flag, "run": _run_only_flags}
"""The flags of each section that are no setting: what `run` does, not what the session is."""


def _add_setting_flag(group: Any, name: str, flag: Flag) -> None:
    """One setting's flag: its argparse type from the field's type hint; None = not given."""
    options: dict[str, Any] = {"dest": name, "default": None, "help": flag.help}
    if flag.metavar is not None:
        options["metavar"] = flag.metavar
    if flag.choices is not None:
        options["choices"] = flag.choices
    if flag.const is not None:
        options.update(action="store_const", const=flag.const)
    elif flag.toggle:
        options["action"] = argparse.BooleanOptionalAction
    else:
        if flag.repeat:
            options["action"] = "append"
        scalar = flag_scalar(name)
        if flag.parse is not None:
            options["type"] = _usage_error_on_value_error(flag.parse)
        elif scalar is not None:
            options["type"] = scalar
    group.add_argument(flag.option, **options)


def _usage_error_on_value_error(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """argparse shows an ArgumentTypeError's own message (for a ValueError, only the type's)."""

    def convert(value: str) -> Any:
        try:
            return parse(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def setting_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the flags gave, by field name (None: not given): what the cli hands on
    instead of the namespace."""
    return {name: getattr(args, name, None) for name, _ in setting_flags()}


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
    _eval_parser(sub)
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


# --- eval ------------------------------------------------------------------------------------------

_EVAL_SETTING_SECTIONS = ("session", "connect", "logging")
"""The settings `eval` takes as flags, spelt as for run (the scenario may override the
character and the connect options)."""


def _eval_parser(sub: Any) -> None:
    ev = sub.add_parser(
        "eval",
        help="play a scenario's turns on many sessions at once; classes, latency, verdict",
        description="Run K x N sessions of a scenario (N at a time) and class every turn: "
        "pass, sla_miss, timeout, connection_error, behavior_mismatch, interrupted. "
        "Exit 0 when every turn passed, 1 on failures, 2 on a bad scenario or arguments.",
    )
    ev.add_argument("scenario", type=Path, metavar="SCENARIO.toml", help="the scenario file")
    ev.add_argument(
        "--concurrency", type=int, default=1, metavar="N", help="sessions at a time (default 1)"
    )
    ev.add_argument(
        "--stagger-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="least time between two session starts (default 0)",
    )
    ev.add_argument(
        "--repeat", type=int, default=1, metavar="K", help="run N sessions K times (default 1)"
    )
    ev.add_argument(
        "--json", type=Path, metavar="OUT", dest="json_out", help="write every result here"
    )
    ev.add_argument(
        "--junit", type=Path, metavar="OUT", help="write one JUnit testcase per turn here"
    )
    ev.add_argument(
        "--compare",
        type=Path,
        metavar="BASELINE.json",
        help="fail on what got slower or started failing since this earlier --json",
    )
    for section in _EVAL_SETTING_SECTIONS:
        group = ev.add_argument_group(dict(_SECTIONS)[section])
        for name, flag in setting_flags():
            if flag.section == section:
                _add_setting_flag(group, name, flag)


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
