"""`convai-tui setup`: find or build the livekit-server the local stand-in runs on.

The binary's path goes to stdout (scripts/setup.sh links it into .tools/); everything meant for
a person goes to stderr: a spinner with the elapsed time on a terminal, plain timestamped lines
otherwise (CI logs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from convai_tui.local.sfu.binary import (
    LIVEKIT_SERVER_VERSION,
    LiveKitBuildError,
    LiveKitServerNotFound,
    binary_version,
    build_livekit_server,
    external_livekit_configured,
    find_livekit_server,
    go_missing_message,
)

_HEARTBEAT_S = 30.0


def add_setup_parser(sub: Any) -> None:
    sub.add_parser(
        "setup",
        help=f"find or build livekit-server {LIVEKIT_SERVER_VERSION} for the local "
        "stand-in (demo, local-server)",
        description=f"Find livekit-server ($LIVEKIT_SERVER_BIN, the per-user cache, PATH) or "
        f"build the pinned {LIVEKIT_SERVER_VERSION} into the cache with `go install` "
        "(a few minutes, once). Prints the binary's path on stdout.",
    )


def _say(text: str) -> None:
    print(f"convai-tui setup: {text}", file=sys.stderr, flush=True)


def run_setup(_args: argparse.Namespace | None = None) -> int:
    """0 with the binary's path on stdout; 1 with the reason and the fix on stderr."""
    try:
        binary = find_livekit_server()
    except LiveKitServerNotFound as exc:
        if os.environ.get("LIVEKIT_SERVER_BIN"):
            _say(str(exc))  # the user's own setting is wrong; building would hide that
            return 1
    else:
        version = binary_version(binary)
        _say(f"livekit-server {version or '(version unknown)'} at {binary}")
        if version and f"v{version}" != LIVEKIT_SERVER_VERSION:
            _say(
                f"note: the stand-in is tested with {LIVEKIT_SERVER_VERSION}; unset "
                "LIVEKIT_SERVER_BIN or take it off PATH to have this command build that one"
            )
        print(binary)
        return 0
    try:
        if shutil.which("go") is None:
            # Said before any "building ..." line: there is nothing to build with.
            raise LiveKitBuildError(go_missing_message())
        with _progress() as on_output:
            started = time.monotonic()
            binary = build_livekit_server(on_output)
    except LiveKitBuildError as exc:
        if external_livekit_configured():
            _say(
                f"{exc}\nAn external LiveKit is configured ({os.environ['LIVEKIT_URL']}); the "
                "stand-in uses it, so nothing more is needed."
            )
            return 0
        _say(str(exc))
        return 1
    _say(
        f"built livekit-server {LIVEKIT_SERVER_VERSION} in {_duration(time.monotonic() - started)}"
        f": {binary}"
    )
    print(binary)
    return 0


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


@contextmanager
def _progress() -> Iterator[Callable[[str], None]]:
    """A line sink for the build's output that shows progress while the build runs."""
    title = f"building livekit-server {LIVEKIT_SERVER_VERSION} with go install (once)"
    if sys.stderr.isatty():
        with _spinner(title) as sink:
            yield sink
    else:
        with _plain_lines(title) as sink:
            yield sink


@contextmanager
def _spinner(title: str) -> Iterator[Callable[[str], None]]:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[last]}"),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(title, total=None, last="")

        def sink(line: str) -> None:
            bar.update(task, last=line[:60])

        yield sink


@contextmanager
def _plain_lines(title: str) -> Iterator[Callable[[str], None]]:
    started = time.monotonic()

    def stamp(text: str) -> None:
        _say(f"[{time.monotonic() - started:4.0f} s] {text}")

    stamp(title)
    done = threading.Event()

    def heartbeat() -> None:  # compiling prints nothing for minutes; show it is alive
        while not done.wait(_HEARTBEAT_S):
            stamp("still building")

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    try:
        yield stamp
    finally:
        done.set()
        beat.join()
