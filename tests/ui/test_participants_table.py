"""The Participants table: every row's cells line up under the header, joined/left/updated
highlights included, in the terminal and in SVG screenshots."""

from __future__ import annotations

import re
from html import unescape

from rich.segment import Segment

from convai_tui.ui.widgets.participants import COLUMNS, ParticipantsTable
from tests.ui.scenarios import SCENARIOS


def cells(table: ParticipantsTable, y: int) -> list[list[Segment]]:
    """The segments of table line `y` (0 is the header), cut at the column edges."""
    segments = [s for s in table.render_line(y) if s.text]
    out: list[list[Segment]] = []
    for column in table.ordered_columns:
        width = column.get_render_width(table)
        cell: list[Segment] = []
        while width > 0 and segments:
            segment = segments.pop(0)
            if len(segment.text) > width:
                head, tail = segment.split_cells(width)
                segments.insert(0, tail)
                segment = head
            cell.append(segment)
            width -= len(segment.text)
        out.append(cell)
    return out


async def test_every_row_lines_up_under_the_header_and_starts_each_cell_in_one_run() -> None:
    scenario = SCENARIOS["participants"]()
    app, _session, _clock = scenario.build()
    async with app.run_test(size=scenario.size) as pilot:
        await scenario.run_before(pilot)
        table = app.query_one(ParticipantsTable)
        flashes = [flash for _identity, flash in table.rows_shown]
        assert {"joined", "left", "updated", ""} <= set(flashes)
        header = ["".join(s.text for s in cell) for cell in cells(table, 0)]
        assert [text.strip() for text in header] == list(COLUMNS)
        starts = [len(text) - len(text.lstrip()) for text in header]
        assert set(starts) == {1}
        expected = {
            "user-7f3a": ["user-7f3a", "You", "local player", "muted", "", "excellent", "mic"],
            "char-demo-001": [
                "char-demo-001",
                "Ava",
                "character",
                "",
                "● speaking",
                "poor",
                "audio",
            ],
            "observer-1": ["observer-1", "Observer", "remote player", "", "", "—", "—"],
            "user-guest-22": ["user-guest-22", "Guest", "remote player", "", "", "—", "mic"],
        }
        for y, (identity, flash) in enumerate(table.rows_shown, start=1):
            row = cells(table, y)
            texts = ["".join(s.text for s in cell) for cell in row]
            assert [t.strip() for t in texts[:-1]] == expected[identity]
            assert texts[-1].strip().startswith(flash)
            # "since" is whole, its time included, even for a row changed after the table was
            # built (a new user saw this column cut with room to spare).
            assert re.fullmatch(r"((joined|left|updated) )?\d\d:\d\d:\d\d", texts[-1].strip())
            for text in texts:
                if text.strip():
                    assert len(text) - len(text.lstrip()) == 1, (identity, texts)
            # A cell's leading margin shares its text's style, so an SVG screenshot starts
            # the cell's run at the column edge and every viewer places it under its header.
            for cell in row:
                if "".join(s.text for s in cell).strip():
                    assert cell[0].text.strip(), (identity, cell)


async def test_svg_screenshot_starts_every_cell_of_a_column_at_the_header_x() -> None:
    scenario = SCENARIOS["participants"]()
    app, _session, _clock = scenario.build()
    async with app.run_test(size=scenario.size) as pilot:
        await scenario.run_before(pilot)
        svg = app.export_screenshot()
    runs: dict[float, list[tuple[float, str]]] = {}
    for x, y, text in re.findall(r'<text [^>]*x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>', svg):
        runs.setdefault(float(y), []).append((float(x), unescape(text)))
    lines = sorted(runs)
    header_y = next(y for y in lines if any(t.strip() == "identity" for _x, t in runs[y]))
    header_x = {t.strip(): x for x, t in runs[header_y] if t.strip()}
    assert list(header_x) == list(COLUMNS)
    rows = lines[lines.index(header_y) + 1 : lines.index(header_y) + 5]
    for y in rows:
        placed = {x for x, t in runs[y] if t.strip()}
        assert placed <= set(header_x.values()), (y, runs[y])
