"""``local-server --help`` documents every option and ends with the fault table."""

from __future__ import annotations

import argparse
import re

from convai_tui.cli.parser import build_parser
from convai_tui.local.args import FAULT_TABLE, add_local_server_arguments


def _local_server_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="local-server")
    add_local_server_arguments(parser)
    return parser


def test_every_option_has_help_text() -> None:
    parser = _local_server_parser()
    undocumented = [
        action.option_strings[0]
        for action in parser._actions
        if action.option_strings and action.dest != "help" and not action.help
    ]
    assert undocumented == []


def test_the_seven_fault_flags_are_described_in_help() -> None:
    parser = _local_server_parser()
    helps = {s: a.help or "" for a in parser._actions for s in a.option_strings}
    for flag, words in {
        "--idle-warning-after": "idle-warning",
        "--idle-timeout-after": "idle_timeout",
        "--usage-limit-after-turns": "usage-limit-reached",
        "--quota-type": "quota_type",
        "--server-error-after-turns": "RTVI error",
        "--server-error-fatal": "fatal",
        "--tts": "espeak-ng",
    }.items():
        assert words in helps[flag], flag
    text = parser.format_help()
    assert "send idle-warning after S seconds" in " ".join(text.split())


def test_help_ends_with_the_fault_table_and_its_flags_exist() -> None:
    parser = _local_server_parser()
    text = parser.format_help()
    assert text.rstrip().endswith(FAULT_TABLE.splitlines()[-1])
    assert "server.usage_limit_reached" in text and "session.idle_timeout" in text
    known = {s for a in parser._actions for s in a.option_strings}
    named = set(re.findall(r"--[a-z][a-z-]+", FAULT_TABLE))
    assert named and named <= known


def test_the_cli_subcommand_shows_the_table_too() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    help_text = sub.choices["local-server"].format_help()
    assert "server.fatal_error" in help_text
    assert "--server-error-after-turns N --server-error-fatal" in help_text
