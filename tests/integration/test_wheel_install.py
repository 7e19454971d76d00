"""The package as a user gets it: wheel and sdist built with `python -m build`, the wheel
installed with pip into a fresh venv outside the checkout, and the installed `convai-tui` run
from a directory that is not the checkout -- the stand-in, the doctor, a headless session and a
replay in the monitor, all from the installed package.

One build and one venv for the whole module (pip installs from its cache; PyPI only for what
the cache lacks).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from convai_tui import __version__
from tests.integration.standin_client import require_livekit_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]  # the first test builds + installs
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Installed:
    bin: Path
    home: Path
    """A directory outside the checkout: the working directory and the XDG config/state."""
    wheel: Path
    sdist: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "convai-tui"), *args],
            cwd=self.home,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    assert not root.is_relative_to(REPO_ROOT)
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next(dist.glob("convai_tui-*.whl"))
    sdist = next(dist.glob("convai_tui-*.tar.gz"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )
    home = root / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONVAI_", "LIVEKIT_URL", "LIVEKIT_API_", "PYTHON", "VIRTUAL_ENV"))
    }
    # Config and state in the temp dir; the cache stays the user's (the built livekit-server).
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        PATH=f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    )
    return Installed(venv / "bin", home, wheel, sdist, env)


def test_wheel_and_sdist_carry_the_package_data(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    for needed in (
        "convai_tui/ui/app.tcss",
        "convai_tui/py.typed",
        "convai_tui/local/sfu/binary.py",
        "convai_tui/cli/main.py",
    ):
        assert needed in names, needed
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not [n for n in names if n.startswith(("tests/", "bench/", "scripts/"))]
    metadata = (
        zipfile.ZipFile(installed.wheel)
        .read(f"convai_tui-{__version__}.dist-info/METADATA")
        .decode()
    )
    for field in ("License-Expression: MIT", "Project-URL: ", "Classifier: ", "Keywords: "):
        assert field in metadata, field
    with tarfile.open(installed.sdist) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "pyproject.toml", "convai_tui/ui/app.tcss"} <= members


def test_the_installed_cli_answers_outside_the_checkout(installed: Installed) -> None:
    where = subprocess.run(
        [str(installed.bin / "python"), "-c", "import convai_tui; print(convai_tui.__file__)"],
        cwd=installed.home,
        env=installed.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed.bin.parent), where  # not the checkout

    helped = installed.run("--help")
    assert helped.returncode == 0
    for command in (
        "run",
        "demo",
        "local-server",
        "doctor",
        "replay",
        "setup",
        "config",
        "completion",
    ):
        assert command in helped.stdout
    version = installed.run("--version")
    assert version.stdout.strip() == f"convai-tui {__version__}"
    path = installed.run("config", "path")
    assert path.stdout.strip() == str(installed.home / "config" / "convai-tui" / "config.toml")
    devices = installed.run("devices", "--json")
    assert devices.returncode == 0, devices.stderr
    assert isinstance(json.loads(devices.stdout), list)
    completion = installed.run("completion", "bash")
    assert completion.returncode == 0 and "complete -o bashdefault" in completion.stdout


def test_the_installed_first_run_names_only_convai_tui_setup(
    installed: Installed, tmp_path: Path
) -> None:
    """Nothing found and no Go: the fix named is the installed command, not `make setup`."""
    env = {k: v for k, v in installed.env.items() if k != "LIVEKIT_SERVER_BIN"}
    env.update(XDG_CACHE_HOME=str(tmp_path / "empty-cache"), PATH=str(installed.bin))
    for command in (["demo"], ["setup"]):
        result = subprocess.run(
            [str(installed.bin / "convai-tui"), *command],
            cwd=installed.home,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1, (command, result.stderr)
        assert "convai-tui setup" in result.stderr, command
        assert "make setup" not in result.stderr, command
    assert "Go is not installed" in result.stderr  # setup, the last one


@dataclass
class StandIn:
    process: subprocess.Popen[str]
    details: dict[str, str]

    def flags(self) -> list[str]:
        return [
            "--connect-url",
            self.details["connect_url"],
            "--api-key",
            self.details["api_key"],
            "--character-id",
            self.details["character_id"],
        ]


@pytest.fixture(scope="module")
def standin(installed: Installed) -> Iterator[StandIn]:
    require_livekit_server()
    process = subprocess.Popen(
        [str(installed.bin / "convai-tui"), "local-server", "--port", "0", "--tts", "none"],
        cwd=installed.home,
        env=installed.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    ready, _, _ = select.select([process.stdout], [], [], 60)
    line = process.stdout.readline() if ready else ""
    if not line:
        process.kill()
        pytest.fail(f"the installed stand-in did not start: {process.stderr.read()[-2000:]}")
    try:
        yield StandIn(process, json.loads(line))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
            process.stderr.close()


def test_doctor_from_the_installed_package(installed: Installed, standin: StandIn) -> None:
    result = installed.run("doctor", "--json", *standin.flags())
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert all(c["ok"] for c in checks.values()), checks
    assert {"connect.api", "livekit.signal", "livekit.webrtc"} <= set(checks)


def test_headless_session_then_replay_in_the_monitor(
    installed: Installed, standin: StandIn
) -> None:
    log = installed.home / "session.jsonl"
    result = installed.run(
        "run",
        "--headless",
        "--json",
        "--say",
        "hi",
        "--exit-after-reply",
        "--session-log",
        str(log),
        *standin.flags(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    finals = [
        e for e in events if e["type"] == "transcript" and e["role"] == "character" and e["final"]
    ]
    assert len(finals) == 1 and '"hi"' in finals[0]["text"], finals

    # The monitor (its stylesheet comes from the wheel) replays that log, headless.
    replay = subprocess.run(
        [str(installed.bin / "python"), "-c", REPLAY_IN_THE_MONITOR, str(log)],
        cwd=installed.home,
        env=installed.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout.strip() == finals[0]["text"]


REPLAY_IN_THE_MONITOR = """
import asyncio, sys
from pathlib import Path
from convai_tui.sessionlog.replay import ReplaySession, load_log
from convai_tui.ui.app import ConvaiApp

async def main():
    session = ReplaySession(load_log(Path(sys.argv[1])), speed=0)
    app = ConvaiApp(session, read_only=True, clock=session.clock, title="replay")
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(400):
            await pilot.pause()
            if session.finished.is_set() and app.model.events_applied >= session.published:
                break
        lines = [line.text for line in app.model.transcript if line.role == "character"]
    await session.close()
    print(lines[-1])

asyncio.run(main())
"""
