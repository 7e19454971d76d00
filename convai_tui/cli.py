"""`convai-tui`: the entry point and the one composition root.

It reads settings, builds the SessionCore and hands it to the TUI or the headless runner; the
front ends never construct core objects themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from convai_tui import __version__
from convai_tui.config import ConfigError, Settings, config_path, load_settings, state_dir
from convai_tui.demo_standin import start_standin_process, stop_standin_process
from convai_tui.logsetup import LogLevelError, configure_logging
from convai_tui.shutdown import exit_process

log = logging.getLogger("convai_tui.cli")

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
    from convai_tui.headless import add_control_arguments
    from convai_tui.room_cli import add_room_arguments

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

    from convai_tui.local.server_args import add_local_server_arguments

    local = sub.add_parser(
        "local-server", help="run the offline stand-in of Convai's realtime service"
    )
    add_local_server_arguments(local)

    _doctor_and_replay_parsers(sub)
    from convai_tui.report import add_report_parser

    add_report_parser(sub)

    from convai_tui.setup_command import add_setup_parser

    add_setup_parser(sub)

    devices = sub.add_parser("devices", help="list audio input and output devices")
    devices.add_argument("--json", action="store_true", help="one JSON array on stdout")

    cfg = sub.add_parser("config", help="configuration file helpers")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    cfg_sub.add_parser("path", help="print where the config file is read from")
    cfg_sub.add_parser("show", help="print the effective settings (API key redacted)")
    from convai_tui.completion import add_completion_parser
    from convai_tui.config_commands import add_config_parsers

    add_config_parsers(cfg_sub)
    add_completion_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["run", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in ("run", "demo"):
            return _cmd_run(args, demo=args.command == "demo")
        if args.command == "local-server":
            from convai_tui.local.server import run_local_server

            return run_local_server(args)
        if args.command == "config":
            return _cmd_config(args)
        if args.command == "devices":
            return _cmd_devices(args)
        if args.command == "doctor":
            return _cmd_doctor(args)
        if args.command == "replay":
            return _cmd_replay(args)
        if args.command == "setup":
            from convai_tui.setup_command import run_setup

            return run_setup(args)
        if args.command == "completion":
            from convai_tui.completion import print_completion

            return print_completion(parser, args.shell)
        if args.command == "report":
            from convai_tui.report import cmd_report

            return cmd_report(args)
    except KeyboardInterrupt:
        return 130
    parser.print_help()
    return 2


def _settings_from(args: argparse.Namespace) -> Settings:
    cli: dict[str, Any] = {
        "connect_url": args.connect_url,
        "api_key": args.api_key,
        "character_id": args.character_id,
        "characters": getattr(args, "characters", None),
        "connection_timeout": args.connection_timeout,
        "waiting_room": args.waiting_room,
        "waiting_room_max_wait": args.waiting_room_max_wait,
        "max_reconnect_attempts": args.max_reconnect_attempts,
        "character_session_id": args.character_session_id,
        "end_user_id": args.end_user_id,
        "insecure_http": args.insecure_http,
        **{name: getattr(args, name, None) for name in CONNECT_OPTION_FLAGS},
        "log_level": args.log_level,
        "input_device": args.input_device,
        "output_device": args.output_device,
        "aec": args.aec,
    }
    return load_settings(cli)


def _cmd_config(args: argparse.Namespace) -> int:
    if args.config_command in ("init", "set", "unset"):
        from convai_tui.config_commands import run_config_command

        return run_config_command(args)
    if args.config_command == "path":
        print(config_path())
        return 0
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"convai-tui: {exc}", file=sys.stderr)
        return 2
    shown = dict(vars(settings))
    if shown.get("api_key"):
        shown["api_key"] = "[redacted]"
    print(json.dumps(shown, indent=2, default=str))
    return 0


def _cmd_devices(args: argparse.Namespace) -> int:
    from convai_tui.audio import AudioError, list_devices

    try:
        devices = list_devices()
    except AudioError as exc:
        print(f"convai-tui: {exc.code}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([d.to_json() for d in devices]))
        return 0
    for d in devices:
        marks = ("in " if d.is_default_input else "") + ("out" if d.is_default_output else "")
        print(
            f"{d.index:>3}  {d.name:<40} {d.host_api:<12} in:{d.max_input_channels} "
            f"out:{d.max_output_channels} {('default ' + marks) if marks.strip() else ''}"
        )
    if not devices:
        print("no audio devices found")
    return 0


def _cmd_run(args: argparse.Namespace, *, demo: bool) -> int:
    from convai_tui.headless import control_requests

    if control_requests(args) and not args.headless:
        print(
            "convai-tui: --trigger, --context, --template-key, --tts and --stt need --headless "
            "(in the TUI use ctrl+p → control: …)",
            file=sys.stderr,
        )
        return 2
    standin: subprocess.Popen[str] | None = None
    try:
        if demo:
            from convai_tui.room_cli import demo_cast

            cast = demo_cast(args)  # `demo --characters N`: the stand-in knows N characters
            standin, details = start_standin_process(cast.standin_args)
            args.connect_url = details["connect_url"]
            args.demo_rest_url = details["connect_url"]  # the stand-in serves /character/get
            args.api_key = details["api_key"]
            args.character_id = details["character_id"]
            args.characters = cast.characters or args.characters
        try:
            settings = _settings_from(args)
            log_file = None if args.headless else state_dir() / "convai-tui.log"
            configure_logging(settings.log_level, file=log_file)
        except (ConfigError, LogLevelError) as exc:
            print(f"convai-tui: {exc}", file=sys.stderr)
            return 2
        return asyncio.run(_run_session(settings, args))
    finally:
        if standin is not None:
            stop_standin_process(standin)


async def _run_session(settings: Settings, args: argparse.Namespace) -> int:
    from convai_tui.core.session import SessionCore
    from convai_tui.sessionlog import SessionLog, new_log_path

    character_name = None
    if not args.headless and settings.api_key and settings.character_id:
        from convai_tui.core.rest_api import fetch_character_name

        rest_url = getattr(args, "demo_rest_url", None) or settings.rest_url
        character_name = await fetch_character_name(
            rest_url, settings.api_key, settings.character_id, timeout_s=2.0
        )
    from convai_tui.core.errors import ConvaiError
    from convai_tui.room_cli import apply_room_arguments

    try:
        session_settings = apply_room_arguments(
            settings.session_settings(character_name=character_name),
            settings.characters,
            args,
            state_dir(),
        )
    except ConvaiError as exc:
        print(f"convai-tui: {exc.error.code}: {exc.error.message}", file=sys.stderr)
        return 2
    session = SessionCore(session_settings)
    if session_settings.room is not None and not args.headless:
        from convai_tui.room_cli import character_names

        session.room.names.update(
            await character_names(
                session_settings, getattr(args, "demo_rest_url", None) or settings.rest_url
            )
        )
    audio_on = args.audio if args.audio is not None else (settings.audio and not args.headless)
    if audio_on:
        from convai_tui.audio import AudioSettings
        from convai_tui.audio.session_media import SessionAudio

        session.attach_media(
            SessionAudio(
                AudioSettings(
                    input_device=_device(settings.input_device),
                    output_device=_device(settings.output_device),
                    aec=settings.aec,
                ),
                emit=session.emit,
                report=session.report_problem,
            )
        )
    log_path = args.session_log or new_log_path(Path(settings.session_log_dir or state_dir()))
    session_log = SessionLog(log_path, session.subscribe())
    session_log.start()
    try:
        if args.headless:
            from convai_tui.headless import HeadlessRunner, control_requests

            runner = HeadlessRunner(
                session,
                say=args.say,
                exit_after_reply=args.exit_after_reply,
                duration_s=args.duration,
                controls=control_requests(args),
                target=args.target,
            )
            return await runner.run()
        from convai_tui.ui.app import ConvaiApp

        app = ConvaiApp(
            session, keymap=settings.keymap or None, run_checks=_doctor_runner(settings)
        )
        result = await app.run_async()
        return int(app.return_code or result or 0)
    finally:
        if args.snapshot is not None:
            _write_snapshot(args.snapshot, session.diagnostics())
        await session.close()
        await session_log.stop()


def _device(spec: str | None) -> int | str | None:
    return int(spec) if spec is not None and spec.isdigit() else spec


# --- doctor, replay and snapshots ------------------------------------------------------------------


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


def _doctor_options(settings: Settings, **extra: Any) -> Any:
    from convai_tui.doctor_report import DoctorOptions

    return DoctorOptions(
        connect_url=settings.connect_url,
        api_key=settings.api_key,
        character_id=settings.character_id,
        insecure_http=settings.insecure_http,
        **extra,
    )


def _doctor_runner(settings: Settings) -> Any:
    from convai_tui.doctor import checks_runner

    return checks_runner(_doctor_options(settings))


def _cmd_doctor(args: argparse.Namespace) -> int:
    from convai_tui.doctor import format_report, run_doctor

    if bool(args.livekit_url) != bool(args.token):
        print("convai-tui: --livekit-url and --token go together", file=sys.stderr)
        return 2
    try:
        settings = load_settings(
            {
                "connect_url": args.connect_url,
                "api_key": args.api_key,
                "character_id": args.character_id,
                "insecure_http": args.insecure_http,
                "log_level": args.log_level,
            }
        )
        configure_logging(settings.log_level)
    except (ConfigError, LogLevelError) as exc:
        print(f"convai-tui: {exc}", file=sys.stderr)
        return 2
    options = _doctor_options(
        settings,
        rest_url=args.rest_url,
        livekit_url=args.livekit_url,
        token=args.token,
        timeout_s=args.timeout,
        require_audio=args.require_audio,
    )
    report = asyncio.run(run_doctor(options))
    print(json.dumps(report.to_json()) if args.json else format_report(report))
    return 0 if report.ok else 1


def _cmd_replay(args: argparse.Namespace) -> int:
    from convai_tui.replay import load_log

    if args.speed < 0:
        print("convai-tui: --speed must be 0 or more", file=sys.stderr)
        return 2
    try:
        log_file = load_log(args.file)
    except OSError as exc:
        print(f"convai-tui: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return asyncio.run(_replay(log_file, args.speed))


async def _replay(log_file: Any, speed: float) -> int:
    from convai_tui.replay import ReplaySession
    from convai_tui.ui.app import ConvaiApp

    session = ReplaySession(log_file, speed=speed)
    title = (
        f"convai-tui · REPLAY of {log_file.path.name} ({log_file.summary()}"
        f"{'' if speed == 1 else f', speed {speed:g}'})"
    )
    app = ConvaiApp(session, read_only=True, clock=session.clock, title=title)
    try:
        result = await app.run_async()
        return int(app.return_code or result or 0)
    finally:
        await session.close()


def _write_snapshot(path: Path, diagnostics: dict[str, Any]) -> None:
    from convai_tui.core.snapshot import write_snapshot

    try:
        write_snapshot(path, diagnostics)
    except OSError as exc:
        print(f"convai-tui: cannot write the snapshot {path}: {exc}", file=sys.stderr)


def entry() -> NoReturn:
    """The `convai-tui` console script and `python -m convai_tui`."""
    exit_process(main())


if __name__ == "__main__":
    entry()
