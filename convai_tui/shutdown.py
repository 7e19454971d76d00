"""Ending the process once LiveKit's native runtime has run in it."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def exit_process(code: int) -> NoReturn:
    """Leave with `code` once every command has finished its own clean-up.

    livekit.rtc disposes its native runtime at interpreter exit, and that teardown now and
    then aborts the process (SIGABRT, "panic in a function that cannot unwind") after all
    work is done and all output written, turning a clean run into exit code -6. Rooms are
    left and files closed by then, so once that runtime has started the process flushes
    what is buffered and ends without the teardown.
    """
    if not livekit_runtime_started():
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(code)


def livekit_runtime_started() -> bool:
    ffi = sys.modules.get("livekit.rtc._ffi_client")
    return getattr(getattr(ffi, "FfiClient", None), "_instance", None) is not None
