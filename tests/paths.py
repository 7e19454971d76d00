"""Where the tests' files are, for tests at any depth of the tree."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
