"""The pinned ``livekit-server`` binary: where we look for it and how ``convai-tui setup``
builds it.

One way to get it, used by ``convai-tui setup`` and ``scripts/setup.sh`` alike: the per-user
cache (``~/.cache/convai-tui/livekit-server/<version>/server`` via platformdirs, so XDG_CACHE_HOME
moves it), filled by ``go install github.com/livekit/livekit-server/cmd/server@<version>``.
This module prints nothing; the caller shows progress from the ``on_output`` lines.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import platformdirs

import convai_tui

LIVEKIT_SERVER_VERSION = "v1.13.5"
"""The pinned livekit-server release (``go install ...@v1.13.5``)."""

LIVEKIT_SERVER_MODULE = "github.com/livekit/livekit-server/cmd/server"

EXTERNAL_LIVEKIT_VARS = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")


class LiveKitServerNotFound(RuntimeError):
    """No livekit-server binary in any of the places we look."""


class LiveKitBuildError(RuntimeError):
    """``go install`` is not possible here (no Go) or failed; the message says what to do."""


def livekit_server_cache_path() -> Path:
    """Where ``convai-tui setup`` puts the pinned binary: the per-user cache of convai-tui."""
    return (
        Path(platformdirs.user_cache_dir("convai-tui"))
        / "livekit-server"
        / LIVEKIT_SERVER_VERSION
        / "server"
    )


def running_from_checkout() -> bool:
    """True when this package is the source tree of a git checkout (an editable install or
    ``python -m`` in the repo), where ``make setup`` exists; False for an installed wheel."""
    root = Path(convai_tui.__file__).resolve().parent.parent
    return (root / "scripts" / "setup.sh").is_file() and (root / "Makefile").is_file()


def setup_hint() -> str:
    """The one command that fixes a missing livekit-server, for messages."""
    hint = f"run `convai-tui setup` to build livekit-server {LIVEKIT_SERVER_VERSION} (needs Go)"
    if running_from_checkout():
        hint += " -- in this checkout `make setup` does the same"
    return hint


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_livekit_server() -> Path:
    """Return the livekit-server binary: $LIVEKIT_SERVER_BIN, then the cache, then PATH."""
    env_value = os.environ.get("LIVEKIT_SERVER_BIN")
    if env_value:
        env_path = Path(env_value)
        if _executable(env_path):
            return env_path
        raise LiveKitServerNotFound(
            f"LIVEKIT_SERVER_BIN={env_value} is not an executable file; fix it, or unset it "
            f"and {setup_hint()}"
        )
    cached = livekit_server_cache_path()
    if _executable(cached):
        return cached
    on_path = shutil.which("livekit-server")
    if on_path:
        return Path(on_path)
    raise LiveKitServerNotFound(
        "livekit-server not found. Looked at: $LIVEKIT_SERVER_BIN (unset), "
        f"{cached} (missing), and 'livekit-server' on PATH (missing). "
        f"To fix: {setup_hint()}; or set LIVEKIT_SERVER_BIN to a livekit-server binary; "
        "or set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET to use an external LiveKit."
    )


def external_livekit_configured() -> bool:
    return all(os.environ.get(name) for name in EXTERNAL_LIVEKIT_VARS)


def go_missing_message() -> str:
    return (
        f"Go is not installed (no `go` on PATH), so livekit-server {LIVEKIT_SERVER_VERSION} "
        "cannot be built. The local stand-in needs one of:\n"
        "  1. Go (https://go.dev/dl/), then run `convai-tui setup` again;\n"
        "  2. LIVEKIT_SERVER_BIN=/path/to/livekit-server (a binary you already have, e.g. from "
        "https://github.com/livekit/livekit/releases);\n"
        "  3. an external LiveKit: LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET."
    )


@contextlib.contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """One build at a time per cache dir: a second `convai-tui setup` waits, then finds the
    binary the first one built."""
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_livekit_server(on_output: Callable[[str], None] | None = None) -> Path:
    """``go install`` the pinned release into the cache; return the binary. Idempotent: a
    binary already in the cache is returned at once. The binary appears atomically (built in a
    staging dir, then renamed), so an interrupted build never leaves a broken one behind."""
    target = livekit_server_cache_path()
    if _executable(target):
        return target
    go = shutil.which("go")
    if go is None:
        raise LiveKitBuildError(go_missing_message())
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(target.parent):
        if _executable(target):
            return target
        staging = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
        try:
            _go_install(go, staging, on_output)
            os.replace(staging / "server", target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _go_install(go: str, gobin: Path, on_output: Callable[[str], None] | None) -> None:
    # -mod=mod and an empty working dir: no go.mod around us can change what gets built.
    env = {**os.environ, "GOBIN": str(gobin), "GOFLAGS": "-mod=mod"}
    command = [go, "install", f"{LIVEKIT_SERVER_MODULE}@{LIVEKIT_SERVER_VERSION}"]
    tail: deque[str] = deque(maxlen=20)
    with subprocess.Popen(
        command,
        cwd=gobin,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            tail.append(line)
            if on_output is not None:
                on_output(line)
    if process.returncode != 0 or not _executable(gobin / "server"):
        output = "\n".join(tail) or "(no output)"
        raise LiveKitBuildError(
            f"`{' '.join(command)}` failed (exit {process.returncode}):\n{output}"
        )


def binary_version(binary: Path) -> str | None:
    """``livekit-server --version`` (e.g. "1.13.5"), or None if it does not answer."""
    try:
        result = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=15, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = result.stdout.split()
    return words[-1] if result.returncode == 0 and words else None
