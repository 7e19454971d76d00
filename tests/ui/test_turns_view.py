"""The Turns view: rows, bars, slowest part, SLA verdicts, percentiles, and Enter's detail."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from convai_tui.core.api.events import TurnTimed
from convai_tui.ui.app import ConvaiApp
from convai_tui.ui.model.turns import part_stats, slowest_part, verdict
from convai_tui.ui.widgets.turns import BAR_WIDTH, SLA_MARK, bar_text
from tests.ui.fake_core import FakeClock, FakeSession
from tests.ui.scenarios import connect_events, settle, t, turns_events


def test_folds_name_the_slowest_part_and_skip_cut_short_turns_in_percentiles() -> None:
    turns = turns_events()
    slow = slowest_part(turns[2])
    assert slow is not None and (slow["name"], slow["ms"]) == ("llm", 950.0)
    assert [verdict(x) for x in turns] == ["ok", "ok", "over", "interrupted", "ok"]
    stats = {s.name: s for s in part_stats(turns)}
    assert stats["llm"].count == 4  # the interrupted turn is not a sample of slowness
    assert stats["llm"].p50 == 410.0
    assert stats["total"].count == 4


def test_bar_is_proportional_and_marks_the_sla() -> None:
    turn = turns_events()[0]  # 862 ms, SLA 1200
    bar = bar_text(turn, scale_ms=2400.0)
    assert len(bar.plain) == BAR_WIDTH
    assert bar.plain.index(SLA_MARK) == BAR_WIDTH // 2
    assert bar.plain[: round(862 / 2400 * BAR_WIDTH)].strip("█") == ""


async def test_turns_tab_lists_turns_and_enter_shows_the_detail() -> None:
    clock = FakeClock(t(30))
    session = FakeSession(clock=clock)
    app = ConvaiApp(session, clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        session.publish(*connect_events(), *turns_events())
        await settle(pilot)
        app.action_show_tab("turns")
        await pilot.pause()
        table = app.monitor.query_one("#turns-table", DataTable)
        assert table.row_count == 5
        assert app.focused is table
        await pilot.press("up", "up", "enter")
        await pilot.pause()
        detail = str(app.monitor.query_one("#turns-detail", Static).render())
        assert "turn 3" in detail and "over" in detail and "server trace as sent" in detail
        assert "llm" in detail and "950.0 ms" in detail
        session.publish(TurnTimed(6, None, None, None, at=t(31)))
        await settle(pilot)
        assert table.row_count == 6  # a new turn appears while the tab is shown
