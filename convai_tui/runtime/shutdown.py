"""Ending the process once LiveKit's native runtime has run in it."""

from __future__ import annotations

import atexit
import os
import sys
from typing import NoReturn


def exit_process(code: int) -> NoReturn:
    """Leave with `code` once every command has finished its own clean-up.

    livekit.rtc disposes its native runtime from an exit handler, and that teardown now and
    then aborts the process (SIGABRT, "panic in a function that cannot unwind") after all
    work is done and all output written — about 1 run in 40 of `doctor`, turning a clean run
    into exit code -6. Skipping only the dispose is worse: interpreter finalization with the
    runtime's threads still calling back into Python aborts almost every time. So once that
    runtime has started, every other exit handler runs (temp directories, PortAudio, logging,
    pytest's own), output is flushed, and the process ends without finalizing the interpreter.
    """
    if not livekit_runtime_started():
        sys.exit(code)
    _skip_livekit_dispose()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def livekit_runtime_started() -> bool:
    ffi = sys.modules.get("livekit.rtc._ffi_client")
    return getattr(getattr(ffi, "FfiClient", None), "_instance", None) is not None


def _skip_livekit_dispose() -> None:
    # The flag livekit.rtc (pinned in pyproject.toml) checks before disposing or dropping a
    # handle; with it set, its exit handler and handle finalizers do nothing.
    ffi = sys.modules.get("livekit.rtc._ffi_client")
    client = getattr(ffi, "FfiClient", None)
    if client is not None:
        client._ffi_disposed = True
