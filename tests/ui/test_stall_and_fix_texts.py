"""Pilot tests: a stall-triggered reconnect is counted down and answers ctrl+r / esc, and every
fix text, hint and countdown agrees with what the session is actually doing."""

from __future__ import annotations

from textual.widgets import Static

from convai_tui.core.api.events import (
    ErrorRaised,
    IdleWarningReceived,
    RetryScheduled,
    SessionEnded,
    SessionStateChanged,
    UsageLimitReached,
)
from convai_tui.core.api.states import SessionState as S
from convai_tui.core.errors.error import make_error
from convai_tui.ui.widgets.banners import EndedBanner, IdleBanner
from convai_tui.ui.widgets.overlays import RetryOverlay
from convai_tui.ui.widgets.status import StateBadge
from tests.ui.fake_core import T0
from tests.ui.scenarios import connect_events, settle, t
from tests.ui.test_app_flows import SIZE, make, plain, push

STALLED = make_error(
    "transport.signal_disconnected",
    "No packets from the LiveKit server for 5 s; waiting for the link to come back.",
)


def _stall_events() -> list[object]:
    """What the core publishes when the link watchdog declares the link stalled."""
    return [
        ErrorRaised(STALLED, at=t(5)),
        SessionStateChanged(
            S.CONNECTED, S.RECONNECTING, error=STALLED, reason="link_stalled", at=t(5)
        ),
        RetryScheduled(1, 3, 10.0, t(15), "reconnect", STALLED, at=t(5)),
    ]


def _status(app: object) -> str:
    return str(app.query_one("#retry-status", Static).render())  # type: ignore[attr-defined]


async def test_a_stalled_link_counts_down_to_attempt_1_and_ctrl_r_retries_now() -> None:
    app, session, clock = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        clock.set(t(5))
        await push(pilot, session, *_stall_events())  # type: ignore[arg-type]
        overlay = app.query_one(RetryOverlay)
        assert overlay.display and app.query_one(StateBadge).state is S.RECONNECTING
        assert _status(app) == "Attempt 1 of 3 in 10.0 s"
        assert "transport.signal_disconnected" in str(
            app.query_one("#retry-cause", Static).render()
        )
        clock.advance(4)
        app.refresh_now()
        assert _status(app) == "Attempt 1 of 3 in 6.0 s"
        await pilot.press("ctrl+r")
        assert session.called("retry_now") == [()]


async def test_esc_cancels_a_stall_triggered_reconnect() -> None:
    app, session, clock = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        clock.set(t(5))
        await push(pilot, session, *_stall_events())  # type: ignore[arg-type]
        await pilot.press("escape")
        await settle(pilot)
        assert session.called("cancel_retry") == [()]
        assert not app.query_one(RetryOverlay).display
        assert app.query_one(StateBadge).state is S.DISCONNECTED


async def test_the_last_attempt_does_not_read_as_if_another_came() -> None:
    err = make_error("connection.timeout")
    app, session, _clock = make([RetryScheduled(4, 4, 3.9, T0 + 3.9, "connect", err, at=T0)])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        status = _status(app)
        assert status == "Attempt 4 of 4 (the last) in 3.9 s"
        assert "next attempt" not in status
        await push(pilot, session, RetryScheduled(2, 4, 1.0, T0 + 1.0, "connect", err, at=T0))
        assert _status(app) == "Attempt 2 of 4 in 1.0 s"


async def test_after_the_reconnects_are_used_up_the_fix_promises_no_automatic_retry() -> None:
    app, session, _ = make(connect_events())
    final = make_error(
        "connection.service_unavailable", "Gave up after 3 reconnect attempts: HTTP 503"
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await push(
            pilot,
            session,
            SessionStateChanged(S.CONNECTED, S.RECONNECTING, at=t(5)),
            SessionStateChanged(S.RECONNECTING, S.ERROR, error=final, at=t(20)),
            SessionEnded("reconnects_exhausted", error=final, at=t(20)),
        )
        text = str(app.query_one("#ended-banner", EndedBanner).render())
        assert "backs off automatically" not in text
        assert "stopped retrying" in text and "connect again" in text


async def test_usage_limit_banner_and_input_hint_agree_that_connecting_again_fails() -> None:
    app, session, _ = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await push(
            pilot,
            session,
            UsageLimitReached("monthly_minutes", "All minutes used.", at=t(9)),
            SessionStateChanged(S.CONNECTED, S.DISCONNECTING, at=t(9)),
            SessionStateChanged(S.DISCONNECTING, S.DISCONNECTED, at=t(9)),
            SessionEnded("usage limit reached", at=t(9)),
        )
        keys = plain(app.query_one("#blocking-keys", Static))
        hint = str(app.query_one("#input-hint", Static).render())
        assert "No automatic reconnect" in keys
        for text in (keys, hint):
            assert "until the quota resets" in text, text
            assert "Connect again to continue" not in text, text


async def test_the_idle_banner_shows_one_countdown() -> None:
    app, session, clock = make(connect_events())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        clock.set(T0 + 60)
        warning = "You've been idle. You will be disconnected in 15 seconds."
        await push(pilot, session, IdleWarningReceived(15, warning, T0 + 75, at=T0 + 60))
        clock.advance(10)
        app.refresh_now()
        text = str(app.query_one("#idle-banner", IdleBanner).render())
        assert "Closing in 5s" in text
        assert "15 seconds" not in text and "You will be disconnected." in text
