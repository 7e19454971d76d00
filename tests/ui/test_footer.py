"""The key footer rebuilds only when the keys it shows change, and frees the keys it replaces."""

from __future__ import annotations

import gc

from textual.widgets._footer import FooterKey

from convai_tui.core.api.events import BotActivityChanged
from convai_tui.ui.app import ConvaiApp
from convai_tui.ui.widgets.footer import KeyFooter
from tests.ui.fake_core import FakeClock, FakeSession, Step
from tests.ui.scenarios import connect_events, settle, t


def _keys(app: ConvaiApp) -> list[FooterKey]:
    return list(app.screen.query_one(KeyFooter).query(FooterKey))


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


async def test_keys_the_footer_drops_do_not_stay_alive() -> None:
    # Each key of a full rebuild data-binds `compact` to the footer; Textual keeps that watcher,
    # and the key with it, until `compact` changes. Rebuilds and keys coming and going must not
    # accumulate keys (a stale cache of the last children is allowed).
    session = FakeSession(script=[Step(e) for e in connect_events()], clock=FakeClock(t(10)))
    app = ConvaiApp(session, clock=FakeClock(t(10)))
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(KeyFooter)
        at = 11.0
        for _ in range(10):
            footer._composed = None  # the next refresh rebuilds every key
            app.refresh_bindings()
            await settle(pilot)
            for activity in ("speaking", "listening"):
                session.publish(BotActivityChanged(activity, at=t(at)))
                at += 1
                await settle(pilot)
        shown = len(_keys(app))
        gc.collect()
        alive = sum(isinstance(o, FooterKey) for o in gc.get_objects())
        assert shown and alive <= 2 * shown + 1, (alive, shown)
