"""scripts/setup.sh: `make demo` sets up only what the demo needs; `make test` adds the rest.

Run in plan mode (SETUP_PLAN=1) in a copy of the script, with a dpkg-query that reports nothing
installed, so every step it would take is printed and none is run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _plan(tmp_path: Path, *args: str) -> str:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {"dpkg-query": "exit 1", "apt-get": "exit 99"}.items():
        tool = bin_dir / name
        tool.write_text(f"#!/bin/sh\n{body}\n")
        tool.chmod(0o755)
    env = {**os.environ, "SETUP_PLAN": "1", "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env.pop("CI", None)
    done = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "setup.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stderr)


def test_the_demo_setup_installs_no_test_tools_and_no_browser(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    assert "espeak-ng" in plan and "libportaudio2" in plan
    assert "pip install -q -e .\n" in plan
    assert "convai-tui setup" in plan
    for test_only in ("[test]", "setup-webclient", "chromium", "npm", "nftables", "tmux"):
        assert test_only not in plan, test_only


def test_the_test_setup_adds_the_test_extra_tools_and_web_sdk_harness(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "--test")
    assert "pip install -q -e .[test]" in plan
    assert "bench/setup-webclient.sh" in plan
    assert "tmux" in plan and "nftables" in plan and "espeak-ng" in plan


def test_make_demo_uses_the_demo_setup_and_make_test_the_test_one() -> None:
    rules = dict(re.findall(r"^([a-z-]+):[ \t]*([^\n]*)$", (REPO / "Makefile").read_text(), re.M))
    assert rules["demo"] == "setup"
    assert rules["test"] == "setup-test"
    assert "make test" in (REPO / ".ci" / "run").read_text()
