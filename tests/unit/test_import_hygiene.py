"""The core and the audio library never pull in the UI toolkit.

Rich itself can appear: httpx imports its optional CLI (which uses Rich) whenever Rich is
installed. Our own modules' direct imports are checked by import-linter (pyproject.toml).
"""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["convai_tui.core.session", "convai_tui.core.events",
                                    "convai_tui.headless", "convai_tui.audio"])
def test_core_imports_no_textual(module: str) -> None:
    code = (f"import sys, {module}; bad = [m for m in sys.modules if m.split('.')[0] == "
            "'textual' or m.startswith('convai_tui.ui')]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
