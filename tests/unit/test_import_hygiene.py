"""The core and the audio library never pull in the UI toolkit, and configuration never pulls
in the WebRTC stack.

Rich itself can appear: httpx imports its optional CLI (which uses Rich) whenever Rich is
installed. Our own modules' direct imports are checked by import-linter (pyproject.toml).
"""

import json
import subprocess
import sys

import pytest


def _loaded_after_import(module: str, check: str) -> subprocess.CompletedProcess[str]:
    """Import `module` in a fresh interpreter; exit 1 (printing them) if `check` lists any of
    the loaded module names."""
    code = (
        f"import sys, {module}; bad = [m for m in sorted(sys.modules) if {check}]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "module",
    [
        "convai_tui.core.session",
        "convai_tui.core.api.events",
        "convai_tui.headless.runner",
        "convai_tui.audio",
        "convai_tui.cli.main",
        "convai_tui.config",
    ],
)
def test_core_imports_no_textual(module: str) -> None:
    result = _loaded_after_import(
        module, "m.split('.')[0] == 'textual' or m.startswith('convai_tui.ui')"
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "module", ["convai_tui.config", "convai_tui.core.settings.session_settings"]
)
def test_configuration_never_loads_livekit(module: str) -> None:
    result = _loaded_after_import(module, "m.split('.')[0] == 'livekit'")
    assert result.returncode == 0, result.stdout + result.stderr


def loaded(module: str, packages: tuple[str, ...]) -> list[str]:
    """The modules of `packages` (or below them) that `import module` loads, in a fresh
    interpreter."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return [
        name
        for name in json.loads(result.stdout)
        if any(name == p or name.startswith(p + ".") for p in packages)
    ]


@pytest.mark.parametrize("module", ["convai_tui.cli.main", "convai_tui.config"])
def test_cli_and_config_import_no_ui(module: str) -> None:
    """The CLI imports the UI only for the commands that run it."""
    assert loaded(module, ("textual", "convai_tui.ui")) == []


@pytest.mark.parametrize(
    "module",
    ["convai_tui.headless.runner", "convai_tui.sessionlog.replay", "convai_tui.sessionlog.writer"],
)
def test_headless_replay_and_session_log_import_no_ui_and_no_transport(module: str) -> None:
    assert loaded(module, ("textual", "convai_tui.ui", "livekit", "httpx", "aiohttp")) == []


def test_config_imports_no_livekit_and_no_httpx() -> None:
    assert loaded("convai_tui.config", ("livekit", "httpx", "aiohttp")) == []
