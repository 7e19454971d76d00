"""The README's Keys table is generated from the binding registry."""

from __future__ import annotations

import re
from types import ModuleType

from textual.binding import Binding

from convai_tui.ui.registry import BINDING_SECTIONS
from tests.paths import REPO, load_script


def _generator() -> ModuleType:
    return load_script("gen_keys_docs")


def test_the_readme_keys_table_is_what_the_script_generates() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme == _generator().render(readme), (
        "README.md's Keys table is stale: run .venv/bin/python scripts/gen_keys_docs.py"
    )


def test_every_binding_id_has_a_row_with_its_keys() -> None:
    table = _generator().render_table()
    listed: set[str] = set()
    for row in table.splitlines():
        ids = re.findall(r"`([a-z.-]+\d?)`", row)
        if len(ids) == 2 and "…" in row:  # a run: room.target-1 … room.target-9
            stem, first, last = ids[0][:-1], int(ids[0][-1]), int(ids[1][-1])
            listed |= {f"{stem}{n}" for n in range(first, last + 1)}
        else:
            listed |= set(ids)
    every = {
        b.id
        for _where, bindings in BINDING_SECTIONS
        for b in bindings
        if isinstance(b, Binding) and b.id and not b.system
    }
    assert every <= listed, every - listed
    assert "| f8 | `audio.mute` |" in table and "| f9 | `audio.push-to-talk` |" in table
    assert "| f6 | `view.doctor` | everywhere |" in table
    assert "| ctrl+r | `session.connect` |" in table
