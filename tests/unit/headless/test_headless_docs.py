"""The README's table of headless JSON line types is generated from the event registry."""

from __future__ import annotations

from types import ModuleType

from convai_tui.core.api.events import EVENT_CLASSES
from tests.paths import REPO, load_script


def _generator() -> ModuleType:
    return load_script("gen_headless_docs")


def test_the_readme_table_is_what_the_script_generates() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme == _generator().render(readme), (
        "README.md's headless table is stale: run .venv/bin/python scripts/gen_headless_docs.py"
    )


def test_the_table_has_one_row_per_line_type_a_session_can_emit() -> None:
    table = _generator().render_table()
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(EVENT_CLASSES)
    assert {"state_changed", "session_ended", "error", "log", "roster", "link_stats"} <= set(
        EVENT_CLASSES
    )
