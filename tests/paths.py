"""Where the tests' files are, for tests at any depth of the tree, and the repo's scripts as
modules (the doc generators are scripts, not a package)."""

import importlib.util
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def load_script(name: str) -> ModuleType:
    """`scripts/<name>.py`, loaded as a module."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
