"""Kernel-visible names for the audio threads (``/proc/PID/task/*/comm``, top -H, py-spy).

Python 3.11 names only its own ``threading`` objects; PortAudio's callback threads and ours
all show as ``python`` to the OS, which hides where the CPU goes. Best effort: Linux only,
and a failure changes nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_PR_SET_NAME = 15
_libc: ctypes.CDLL | None = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        _libc = None


def name_this_thread(name: str) -> None:
    """Set the calling thread's OS name (at most 15 bytes are kept)."""
    if _libc is None:
        return
    try:
        _libc.prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    except Exception:  # best effort: only observability depends on it
        pass
