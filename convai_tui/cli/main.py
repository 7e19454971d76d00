"""`convai-tui`: the entry point and the one composition root.

It reads settings, builds the SessionCore and hands it to the TUI or the headless runner; the
front ends never construct core objects themselves. The subcommands and their flags are defined
in `convai_tui.cli.parser`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from convai_tui.cli.demo import start_standin_process, stop_standin_process
from convai_tui.cli.log_setup import LogLevelError, configure_logging
from convai_tui.cli.parser import build_parser, setting_values
from convai_tui.cli.resume import farewell, remember_session, resumed
from convai_tui.config import (
    ConfigError,
    Settings,
    config_path,
    load_settings,
    shown_settings,
    state_dir,
)
from convai_tui.core.rtvi.controls import ControlRequest
from convai_tui.runtime.shutdown import exit_process

log = logging.getLogger("convai_tui.cli.main")


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
        if args.command == "eval":
            from convai_tui.cli.eval_command import cmd_eval

            return cmd_eval(args)
        if args.command == "setup":
            from convai_tui.cli.setup import run_setup

            return run_setup(args)
        if args.command == "completion":
            from convai_tui.cli.completion import print_completion

            return print_completion(parser, args.shell)
        if args.command == "report":
            from convai_tui.sessionlog.report import cmd_report

            return cmd_report(args)
    except KeyboardInterrupt:
        return 130
    parser.print_help()
    return 2


def _settings_from(args: argparse.Namespace) -> Settings:
    """The flags' settings over env, file and defaults: the one thing run and demo take from
    the namespace besides what a run does (RunOptions)."""
    return load_settings(setting_values(args))


def _cmd_config(args: argparse.Namespace) -> int:
    if args.config_command in ("init", "set", "unset"):
        from convai_tui.cli.config_commands import run_config_command

        return run_config_command(args)
    if args.config_command == "path":
        print(config_path())
        return 0
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"convai-tui: {exc}", file=sys.stderr)
        return 2
    shown = shown_settings(settings)
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
    from convai_tui.headless.runner import control_requests

    try:
        settings = _settings_from(args)
    except ConfigError as exc:
        print(f"convai-tui: {exc}", file=sys.stderr)
        return 2
    controls = control_requests(settings)
    if controls and not args.headless:
        print(
            "convai-tui: --trigger, --context, --template-key, --tts and --stt need --headless "
            "(in the TUI use ctrl+p → control: …)",
            file=sys.stderr,
        )
        return 2
    run = RunOptions(
        headless=args.headless,
        say=args.say,
        exit_after_reply=args.exit_after_reply,
        duration_s=args.duration,
        snapshot=args.snapshot,
        session_log=args.session_log,
        controls=controls,
        audio=args.audio,
    )
    standin: subprocess.Popen[str] | None = None
    try:
        if demo:
            from convai_tui.cli.room_flags import DEMO_ACTION_CONFIG, demo_cast

            cast = demo_cast(args.demo_cast)  # `demo --characters N`: the stand-in knows N
            standin, details = start_standin_process(cast.standin_args)
            settings = dataclasses.replace(
                settings,
                connect_url=details["connect_url"],
                rest_url=None,  # the user's REST host belongs to their service, not the stand-in
                api_key=details["api_key"],
                character_id=details["character_id"],
                characters=cast.characters or settings.characters,
                action_config=settings.action_config or DEMO_ACTION_CONFIG,
            )
        try:
            log_file = None if run.headless else state_dir() / "convai-tui.log"
            configure_logging(settings.log_level, file=log_file)
        except LogLevelError as exc:
            print(f"convai-tui: {exc}", file=sys.stderr)
            return 2
        settings = resumed(settings, state_dir())
        return asyncio.run(_run_session(settings, run, command="demo" if demo else "run"))
    finally:
        if standin is not None:
            stop_standin_process(standin)


@dataclass(frozen=True)
class RunOptions:
    """What `run` does with the session beyond its settings (the run and control flags)."""

    headless: bool
    say: list[str]
    exit_after_reply: bool
    duration_s: float | None
    snapshot: Path | None
    session_log: Path | None
    controls: list[ControlRequest]
    audio: bool | None
    """--audio / --no-audio as given (None: on in the TUI, off headless, unless the settings
    turn it off)."""


async def _run_session(settings: Settings, run: RunOptions, *, command: str = "run") -> int:
    from convai_tui.cli.room_flags import apply_room_arguments, with_character_names
    from convai_tui.core.errors.error import ConvaiError
    from convai_tui.core.session import SessionCore
    from convai_tui.sessionlog.writer import SessionLog, new_log_path

    try:
        session_settings = apply_room_arguments(settings.session_settings(), settings, state_dir())
    except ConvaiError as exc:
        print(f"convai-tui: {exc.error.code}: {exc.error.message}", file=sys.stderr)
        return 2
    if not run.headless:
        session_settings = await with_character_names(session_settings, settings.rest_url)
    session = SessionCore(session_settings)
    audio_on = run.audio if run.audio is not None else (settings.audio and not run.headless)
    if audio_on:
        from convai_tui.audio import AudioSettings
        from convai_tui.audio.session_media import SessionAudio

        session.attach_media(
            SessionAudio(
                AudioSettings(
                    input_device=_device(settings.input_device),
                    output_device=_device(settings.output_device),
                    aec=settings.aec,
                    room=session_settings.room is not None,
                ),
                emit=session.emit,
                report=session.report_problem,
            )
        )
    log_path = run.session_log or new_log_path(Path(settings.session_log_dir or state_dir()))
    session_log = SessionLog(log_path, session.subscribe(), session.info)
    session_log.start()
    try:
        if run.headless:
            from convai_tui.headless.runner import HeadlessRunner

            runner = HeadlessRunner(
                session,
                say=run.say,
                exit_after_reply=run.exit_after_reply,
                duration_s=run.duration_s,
                controls=run.controls,
                target=settings.target,
                audio=audio_on,
            )
            return await runner.run()
        from convai_tui.runtime import native_stderr
        from convai_tui.ui.app import ConvaiApp

        with native_stderr.to_log():  # C libraries' messages to the log, not over the screen
            app = ConvaiApp(
                session, keymap=settings.keymap or None, run_checks=_doctor_runner(settings)
            )
            result = await app.run_async()
        character_session_id = app.model.character_session_id
        if character_session_id:
            remember_session(state_dir(), settings.character_id, character_session_id)
        print(farewell(log_path, settings.character_id, character_session_id, command))
        return int(app.return_code or result or 0)
    finally:
        if run.snapshot is not None:
            _write_snapshot(run.snapshot, session.diagnostics())
        await session.close()
        await session_log.stop()


def _device(spec: str | None) -> int | str | None:
    return int(spec) if spec is not None and spec.isdigit() else spec


# --- doctor, replay and snapshots ------------------------------------------------------------------


def _doctor_options(settings: Settings, **extra: Any) -> Any:
    from convai_tui.doctor.report import DoctorOptions

    return DoctorOptions(
        connect_url=settings.connect_url,
        api_key=settings.api_key,
        character_id=settings.character_id,
        rest_url=settings.rest_url,
        insecure_http=settings.insecure_http,
        **extra,
    )


def _doctor_runner(settings: Settings) -> Any:
    from convai_tui.doctor.checks import checks_runner

    return checks_runner(_doctor_options(settings))


def _cmd_doctor(args: argparse.Namespace) -> int:
    from convai_tui.doctor.checks import format_report, run_doctor

    if bool(args.livekit_url) != bool(args.token):
        print("convai-tui: --livekit-url and --token go together", file=sys.stderr)
        return 2
    try:
        settings = load_settings(
            {
                "connect_url": args.connect_url,
                "api_key": args.api_key,
                "character_id": args.character_id,
                "rest_url": args.rest_url,
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
        livekit_url=args.livekit_url,
        token=args.token,
        timeout_s=args.timeout,
        require_audio=args.require_audio,
    )
    report = asyncio.run(run_doctor(options))
    print(json.dumps(report.to_json()) if args.json else format_report(report))
    return 0 if report.ok else 1


def _cmd_replay(args: argparse.Namespace) -> int:
    from convai_tui.sessionlog.replay import load_log

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
    from convai_tui.runtime import native_stderr
    from convai_tui.sessionlog.replay import ReplaySession
    from convai_tui.ui.app import ConvaiApp

    session = ReplaySession(log_file, speed=speed)
    title = (
        f"convai-tui · REPLAY of {log_file.path.name} ({log_file.summary()}"
        f"{'' if speed == 1 else f', speed {speed:g}'})"
    )
    try:
        with native_stderr.to_log():
            app = ConvaiApp(session, read_only=True, clock=session.clock, title=title)
            result = await app.run_async()
        return int(app.return_code or result or 0)
    finally:
        await session.close()


def _write_snapshot(path: Path, diagnostics: dict[str, Any]) -> None:
    from convai_tui.core.api.snapshot import write_snapshot

    try:
        write_snapshot(path, diagnostics)
    except OSError as exc:
        print(f"convai-tui: cannot write the snapshot {path}: {exc}", file=sys.stderr)


def entry() -> NoReturn:
    """The `convai-tui` console script and `python -m convai_tui`."""
    exit_process(main())


if __name__ == "__main__":
    entry()
