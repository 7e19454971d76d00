"""`convai-tui eval`: the settings, the scenario and a factory of sessions for the eval runner.

Sessions are SessionCores in this process, built as `run` builds one (Settings →
session_settings → room arguments), each with one connect attempt; a voice scenario's sessions
get a file-fed microphone instead of a sound card.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from typing import Any

from convai_tui.cli.log_setup import LogLevelError, configure_logging
from convai_tui.cli.parser import setting_values
from convai_tui.config import ConfigError, Settings, load_settings, state_dir
from convai_tui.core.api.port import SessionPort
from convai_tui.eval.command import EvalOutputs, check_options, one_attempt, run_eval_command
from convai_tui.eval.runner import EvalOptions
from convai_tui.eval.scenario import Scenario, ScenarioError, load_scenario


def cmd_eval(args: argparse.Namespace) -> int:
    options = EvalOptions(
        concurrency=args.concurrency, stagger_ms=args.stagger_ms, repeat=args.repeat
    )
    problem = check_options(options)
    if problem is not None:
        print(f"convai-tui: {problem}", file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(args.scenario)
        settings = _scenario_settings(load_settings(setting_values(args)), scenario)
        configure_logging(settings.log_level)
    except (ScenarioError, ConfigError, LogLevelError) as exc:
        print(f"convai-tui: {exc}", file=sys.stderr)
        return 2
    from convai_tui.cli.room_flags import apply_room_arguments
    from convai_tui.core.errors.error import ConvaiError

    try:
        session_settings = one_attempt(
            apply_room_arguments(settings.session_settings(), settings, state_dir())
        )
    except ConvaiError as exc:
        print(f"convai-tui: {exc.error.code}: {exc.error.message}", file=sys.stderr)
        return 2

    def make_session(mic: Any) -> SessionPort:
        from convai_tui.core.session import SessionCore

        session = SessionCore(session_settings)
        if mic is not None:
            session.attach_media(mic)
        return session

    def make_mic() -> Any:
        from convai_tui.audio.file_mic import FileMicrophone

        return FileMicrophone()

    outputs = EvalOutputs(args.json_out, args.junit, args.compare)
    return asyncio.run(
        run_eval_command(scenario, options, outputs, make_session, make_mic=make_mic)
    )


def _scenario_settings(settings: Settings, scenario: Scenario) -> Settings:
    """The scenario's character(s) and connect options over the flags' and config's."""
    changes: dict[str, Any] = dict(scenario.connect)
    if scenario.character_id:
        changes["character_id"] = scenario.character_id
    if scenario.characters:
        changes["characters"] = list(scenario.characters)
    return dataclasses.replace(settings, **changes)
