"""The key footer rebuilds only when the keys it shows change, and frees the keys it replaces."""

from __future__ import annotations

import gc
import weakref

from textual.widgets._footer import FooterKey

from convai_tui.core.api.events import BotActivityChanged
from convai_tui.ui.app import ConvaiApp
from convai_tui.ui.widgets.footer import KeysFooter
from tests.ui.fake_core import FakeClock, FakeSession, Step
from tests.ui.scenarios import connect_events, settle, t


def _keys(app: ConvaiApp) -> list[FooterKey]:
    return list(app.screen.query_one(KeysFooter).query(FooterKey))


async def test_asking_to_refresh_unchanged_bindings_keeps_the_footer_as_it_is() -> None:
    session = FakeSession(script=[Step(e) for e in connect_events()], clock=FakeClock(t(10)))
    app = ConvaiApp(session, clock=FakeClock(t(10)))
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        before = _keys(app)
        assert before
        for _ in range(5):
            app.refresh_bindings()
            await pilot.pause()
        await settle(pilot)
        assert all(a is b for a, b in zip(_keys(app), before, strict=True))


async def test_a_rebuilt_footer_shows_the_new_keys_and_frees_the_old_ones() -> None:
    session = FakeSession(script=[Step(e) for e in connect_events()], clock=FakeClock(t(10)))
    app = ConvaiApp(session, clock=FakeClock(t(10)))
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        session.publish(BotActivityChanged("speaking", at=t(11)))
        await settle(pilot)
        replying = _keys(app)
        assert "interrupt" in {key.action for key in replying}
        replaced = [weakref.ref(key) for key in replying]
        del replying
        session.publish(BotActivityChanged("listening", at=t(12)))
        await settle(pilot)
        assert "interrupt" not in {key.action for key in _keys(app)}
        gc.collect()
        assert [ref for ref in replaced if ref() is not None] == []
