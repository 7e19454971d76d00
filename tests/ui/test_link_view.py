"""The Link view: what the model folds in, what the strip and figures say, and that it paints
only while its tab is visible (the frame budget: nothing per event while hidden)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Sparkline

from convai_tui.core.api.events import ErrorRaised, LinkStatsSampled, SessionStateChanged, TurnTimed
from convai_tui.core.api.states import SessionState as S
from convai_tui.core.errors.error import make_error
from convai_tui.sessionlog.replay import ReplaySession, load_log
from convai_tui.ui.app import ConvaiApp
from convai_tui.ui.model.link import LinkModel
from convai_tui.ui.model.reducer import MonitorModel, Part
from convai_tui.ui.widgets.link import LinkView, figures_text, timeline_text
from tests.ui.fake_core import FakeClock, FakeSession
from tests.ui.scenarios import connect_events, link_samples, settle, t


def test_model_folds_link_events_into_the_link_part() -> None:
    model = MonitorModel()
    assert Part.LINK in model.apply(LinkStatsSampled(rtt_ms=40.0, candidate="host/udp", at=t(1)))
    assert Part.LINK in model.apply(TurnTimed(1, 300.0, 500.0, None, at=t(2)))
    changed = model.apply(SessionStateChanged(S.CONNECTED, S.RECONNECTING, at=t(3)))
    assert {Part.LINK, Part.STATE} <= changed  # the state handler still runs
    model.apply(ErrorRaised(make_error("transport.link_degraded", at=t(3.5)), at=t(3.5)))
    assert model.link.history.series("rtt_ms") == [40.0]
    assert model.link.turn_series() == [300.0]
    assert list(model.link.reconnects) == [t(3)]
    assert model.link.errors[-1][1] == "transport.link_degraded"


def test_timeline_marks_states_errors_and_reconnects() -> None:
    link = LinkModel()
    for event in [
        SessionStateChanged(S.DISCONNECTED, S.CONNECTING, at=t(0)),
        SessionStateChanged(S.CONNECTING, S.CONNECTED, at=t(1)),
        ErrorRaised(make_error("transport.link_degraded", at=t(5)), at=t(5)),
        SessionStateChanged(S.CONNECTED, S.RECONNECTING, at=t(8)),
        SessionStateChanged(S.RECONNECTING, S.CONNECTED, at=t(9)),
    ]:
        link.apply(event)
    strip = timeline_text(link, 10, t(10))
    assert len(strip.plain) == 10
    assert strip.plain[5] == "✕" and strip.plain[8] == "↻"
    styles = [str(span.style) for span in strip.spans]
    assert any("yellow" in s for s in styles) and any("green" in s for s in styles)
    assert timeline_text(LinkModel(), 10, t(0)).plain == "no session yet"


def test_the_timeline_reads_without_colour() -> None:
    link = LinkModel()
    for event in [
        SessionStateChanged(S.DISCONNECTED, S.CONNECTING, at=t(0)),
        SessionStateChanged(S.CONNECTING, S.CONNECTED, at=t(2)),
        SessionStateChanged(S.CONNECTED, S.RECONNECTING, at=t(5)),
        SessionStateChanged(S.RECONNECTING, S.ERROR, at=t(7)),
    ]:
        link.apply(event)
    strip = timeline_text(link, 10, t(10)).plain
    assert strip == "··━━━↻~!!!"  # connecting, up, the reconnect's mark, reconnecting, error


def test_figures_show_current_and_percentiles() -> None:
    text = figures_text(455.0, [40.0, 42.0, 44.0, 400.0, 455.0], "ms")
    assert text.split() == ["455ms", "p50", "44", "p95", "444"]
    assert len(text) <= 28
    assert figures_text(None, [], "%").split() == ["—%", "p50", "—", "p95", "—"]


async def test_paints_only_while_the_link_tab_is_shown() -> None:
    clock = FakeClock(t(30))
    session = FakeSession(clock=clock)
    app = ConvaiApp(session, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        session.publish(*connect_events(), *link_samples(2, 20))
        await settle(pilot)
        view = app.monitor.query_one(LinkView)
        assert view.paints == 0  # 20 samples arrived while the Session tab was shown
        app.action_show_tab("link")
        await pilot.pause()
        assert view.paints == 1
        session.publish(*link_samples(22, 3))
        await settle(pilot)
        assert view.paints >= 2
        assert app.model.link.history.samples_seen == 23


RECORDED = Path(__file__).resolve().parent.parent / "fixtures" / "session_standin_link.jsonl"
RECORDED_LOG = load_log(RECORDED)


async def test_replay_draws_the_link_plots_from_a_recorded_log() -> None:
    session = ReplaySession(RECORDED_LOG, speed=0)
    app = ConvaiApp(session, read_only=True, clock=session.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_show_tab("link")
        for _ in range(300):
            await pilot.pause()
            if session.finished.is_set() and app.model.events_applied >= session.published:
                break
        await pilot.pause()
        view = app.monitor.query_one(LinkView)
        assert app.model.link.history.samples_seen == 13 and len(app.model.link.turns) == 3
        # at most once per batch of events holding a sample or a state change, never per event
        assert 1 <= view.paints <= 13 + 4 < session.published
        rtt = view.query_one("#link-row-rtt-ms").query_one(Sparkline)
        assert rtt.data is not None  # Sparkline.data is Optional
        assert len(rtt.data) == 14  # the floor point, then every sample's RTT
    await session.close()


async def test_the_plots_grow_with_the_screen_height() -> None:
    heights: dict[int, list[int]] = {}
    for rows in (24, 40):
        clock = FakeClock(t(30))
        session = FakeSession(clock=clock)
        app = ConvaiApp(session, clock=clock)
        async with app.run_test(size=(120, rows)) as pilot:
            session.publish(*connect_events(), *link_samples(2, 20))
            await settle(pilot)
            app.action_show_tab("link")
            await pilot.pause()
            view = app.monitor.query_one(LinkView)
            heights[rows] = [spark.size.height for spark in view.query(Sparkline)]
            assert view.max_scroll_y == 0  # everything fits, nothing to scroll to
    assert min(heights[24]) >= 1
    assert min(heights[40]) >= 3 and sum(heights[40]) > sum(heights[24])
