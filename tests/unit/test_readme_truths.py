"""What the README says about the build and the shells matches the Makefile and the program."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
import shtab

from convai_tui.cli.completion import print_completion
from convai_tui.cli.parser import build_parser

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def _make_rules() -> dict[str, str]:
    text = (REPO / "Makefile").read_text()
    return dict(re.findall(r"^([a-z-]+):[ \t]*([^\n]*)$", text, re.M))


def _recipe(target: str) -> str:
    text = (REPO / "Makefile").read_text()
    match = re.search(rf"^{target}:[^\n]*\n((?:\t[^\n]*\n)*)", text, re.M)
    assert match, target
    return match.group(1)


def test_the_make_demo_and_make_test_block_appears_once() -> None:
    assert README.count("make demo   # sets everything up") == 1
    assert README.count("make test   # sets everything up") == 1


def test_make_check_is_the_static_checks_and_make_test_adds_the_suite() -> None:
    assert set(_make_rules()["check"].split()) == {"lint", "typecheck"}
    assert "pytest" not in _recipe("lint") + _recipe("typecheck")
    assert "mypy" in _recipe("typecheck") and "mypy" in _recipe("test")
    assert "pytest" in _recipe("test")
    assert "`make check` runs only the static" in " ".join(README.split())


def test_the_readme_names_exactly_the_shells_completion_supports() -> None:
    listed = re.search(r"command-line parser \(([^)]*)\)", " ".join(README.split()))
    assert listed is not None
    named = {s.strip() for s in listed.group(1).split(",")}
    assert named == set(shtab.SUPPORTED_SHELLS)
    for shell in shtab.SUPPORTED_SHELLS:
        assert f"convai-tui completion {shell} " in README


@pytest.mark.parametrize("shell", ["fish", "powershell"])
def test_fish_and_powershell_scripts_name_the_commands(shell: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert print_completion(build_parser(), shell) == 0
    script = out.getvalue()
    for command in ("local-server", "replay", "report", "completion"):
        assert command in script, (shell, command)
