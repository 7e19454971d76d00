"""How the process ends: buffered output and exit handlers kept; once LiveKit's runtime has
started, its dispose and the interpreter's finalization skipped."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import atexit, sys
{imports}

class Sentinel:
    def __del__(self):
        sys.stderr.write("finalized\\n")

def at_exit():
    ffi = sys.modules.get("livekit.rtc._ffi_client")
    disposed = getattr(getattr(ffi, "FfiClient", None), "_ffi_disposed", None)
    sys.stderr.write(f"atexit ran, livekit dispose skipped: {{disposed}}\\n")

keep = Sentinel()
atexit.register(at_exit)
sys.stdout.write("unflushed output")
{exit}
"""
RUNTIME = "from livekit.rtc._ffi_client import FfiClient; FfiClient.instance"
EXIT = "from convai_tui.runtime.shutdown import exit_process; exit_process(3)"


def _run(imports: str, exit: str = EXIT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM.format(imports=imports, exit=exit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_with_the_livekit_runtime_exit_handlers_run_but_not_its_dispose() -> None:
    result = _run(RUNTIME)
    assert result.returncode == 3
    assert result.stdout == "unflushed output"
    assert "atexit ran, livekit dispose skipped: True" in result.stderr
    assert "finalized" not in result.stderr  # the interpreter was not finalized


def test_without_the_livekit_runtime_the_normal_exit_runs() -> None:
    result = _run("import livekit.rtc")
    assert result.returncode == 3
    assert result.stdout == "unflushed output"
    assert "atexit ran" in result.stderr
    assert "finalized" in result.stderr


def test_python_m_convai_tui_leaves_through_exit_process() -> None:
    run_main = (
        'sys.argv = ["convai-tui", "config", "path"]; import runpy; '
        'runpy.run_module("convai_tui", run_name="__main__")'
    )
    result = _run(RUNTIME, exit=run_main)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("unflushed output") and result.stdout.strip().endswith(".toml")
    assert "livekit dispose skipped: True" in result.stderr
    assert "finalized" not in result.stderr


def test_livekit_still_honours_the_dispose_flag() -> None:
    # exit_process relies on this private flag of the pinned livekit.rtc; an upgrade that drops
    # it would bring the exit-time abort back, so prove the dispose really is skipped.
    program = """
import os, types
from livekit.rtc._ffi_client import FfiClient
client = FfiClient.instance
calls = []
client._ffi_lib = types.SimpleNamespace(livekit_ffi_dispose=lambda: calls.append("dispose"))
FfiClient._ffi_disposed = True
client._dispose()
print(calls)
FfiClient._ffi_disposed = False
client._dispose()
print(calls, flush=True)
os._exit(0)  # the real runtime is still up: leave without its teardown
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "['dispose']"], result.stderr
