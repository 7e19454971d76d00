"""Write docs/ERRORS.md from the error catalogue (tests check it is up to date)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from convai_tui.core.errors.error import CATALOGUE_ENTRIES  # noqa: E402

OUT = ROOT / "docs" / "ERRORS.md"


def render() -> str:
    lines = [
        "# Error codes",
        "",
        "Generated from `convai_tui/core/errors/catalogue/` by `scripts/gen_error_docs.py`; do not edit.",
        "Codes marked *convai-tui* are ours; the rest are Convai's (Unity SDK `SessionErrorCodes`).",
        "",
    ]
    category = None
    for entry in CATALOGUE_ENTRIES:
        if entry.category != category:
            category = entry.category
            lines += ["", f"## {category}.*", "",
                      "| code | stage | retried | cause | fix | how to verify |",
                      "|---|---|---|---|---|---|"]
        mark = " *(convai-tui)*" if entry.source == "convai-tui" else ""
        cells = [f"`{entry.code}`{mark}", entry.stage.value,
                 "yes" if entry.recoverable else "no", entry.cause, entry.fix, entry.verify]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
