"""How the process ends: buffered output kept, the LiveKit runtime's exit-time teardown skipped."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import atexit, sys
{imports}
from convai_tui.shutdown import exit_process
atexit.register(lambda: print("atexit ran", file=sys.stderr))
sys.stdout.write("unflushed output")
exit_process(3)
"""


def _run(imports: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROGRAM.format(imports=imports)],
                          capture_output=True, text=True, timeout=60, check=False)


def test_with_livekit_loaded_output_is_kept_and_native_teardown_skipped() -> None:
    result = _run("from livekit.rtc._ffi_client import FfiClient; FfiClient.instance")
    assert result.returncode == 3
    assert result.stdout == "unflushed output"
    assert "atexit ran" not in result.stderr


def test_without_the_livekit_runtime_the_normal_exit_runs() -> None:
    result = _run("import livekit.rtc")
    assert result.returncode == 3
    assert result.stdout == "unflushed output"
    assert "atexit ran" in result.stderr


def test_python_m_uses_the_same_exit() -> None:
    result = subprocess.run([sys.executable, "-m", "convai_tui", "config", "path"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0
    assert result.stdout.strip().endswith(".toml")
