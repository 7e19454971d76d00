"""Regenerate screenshots/ from the scripted scenarios the UI tests use (`make screenshots`).

Writes one SVG per scenario (stable names, deterministic content: frozen clock, UTC) and a PNG
beside it when a converter is available (rsvg-convert, or the cairosvg package).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ["TZ"] = "UTC"
time.tzset()

from tests.ui.scenarios import SCENARIOS, Scenario  # noqa: E402


async def render(scenario: Scenario) -> str:
    app, _session, _clock = scenario.build()
    async with app.run_test(size=scenario.size) as pilot:
        await scenario.run_before(pilot)
        await pilot.pause()
        return app.export_screenshot(title=f"convai-tui · {scenario.name}")


def to_png(svg_path: Path) -> Path | None:
    png_path = svg_path.with_suffix(".png")
    converter = shutil.which("rsvg-convert")
    if converter:
        subprocess.run([converter, "-w", "1600", str(svg_path), "-o", str(png_path)], check=True)
        return png_path
    try:
        import cairosvg  # type: ignore[import-not-found]
    except ImportError:
        return None
    cairosvg.svg2png(url=str(svg_path), write_to=str(png_path), output_width=1600)
    return png_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="scenarios to render (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--no-png", action="store_true", help="write SVG only")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {sorted(SCENARIOS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    png_made = False
    for name in args.names or list(SCENARIOS):
        svg = asyncio.run(render(SCENARIOS[name]()))
        svg_path = args.out / f"{name}.svg"
        svg_path.write_text(svg, encoding="utf-8")
        line = f"wrote {svg_path.relative_to(ROOT) if svg_path.is_relative_to(ROOT) else svg_path}"
        if not args.no_png and (png := to_png(svg_path)) is not None:
            png_made = True
            line += f" and {png.name}"
        print(line)
    if not args.no_png and not png_made:
        print("no SVG converter found (rsvg-convert or cairosvg): SVG only")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
