"""The Textual session monitor: `ConvaiApp` and `run_tui`.

One worker drains the session's event subscription in batches and posts them to the App; the App
folds them into `MonitorModel` and tells the screen which parts changed. A 10 Hz timer drives
every countdown, duration and level meter from the injected clock.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar

from textual import events, on, work
from textual.app import App
from textual.binding import BindingType
from textual.widgets import Input

from convai_tui.core.api.bus import Subscription
from convai_tui.core.api.port import ControlResult, SessionPort
from convai_tui.core.api.states import SessionState
from convai_tui.core.rtvi import controls
from convai_tui.core.rtvi.controls import ControlRequest
from convai_tui.ui.commands import ConvaiCommands
from convai_tui.ui.heap import SettledHeap
from convai_tui.ui.messages import SessionEventsReceived, SessionStreamEnded
from convai_tui.ui.model.reducer import MonitorModel, Part, ui_error
from convai_tui.ui.model.replay import ReplayProgress
from convai_tui.ui.registry import (
    APP_BINDINGS,
    DIAGNOSTICS_TAB,
    DOCTOR_TAB,
    ERRORS_TAB,
    ESC_DIGIT_BY_KEY,
    key_hint,
)
from convai_tui.ui.safety import guarded
from convai_tui.ui.screens.controls import ConfirmScreen, ControlForm
from convai_tui.ui.screens.help import HelpScreen
from convai_tui.ui.screens.monitor import MonitorScreen
from convai_tui.ui.widgets.doctor import CheckRow

MAX_BATCH = 2000
"""Most events folded per message, so one frame never holds more than a few milliseconds."""

BATCH_INTERVAL_S = 1 / 60
"""Events that arrive within a frame of the last batch wait for the next one (coalescing)."""

TICK_S = 0.1
"""Countdowns, level meters and durations repaint at 10 Hz."""

DIAGNOSTICS_EVERY_TICKS = 10
"""diagnostics() is polled once a second."""

IDLE_RESET_RESEND_S = 2.0


class ConvaiApp(App[int]):
    """The session monitor for one SessionPort."""

    CSS_PATH = "app.tcss"
    TITLE = "convai-tui"
    COMMANDS: ClassVar = App.COMMANDS | {ConvaiCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS

    def __init__(
        self,
        session: SessionPort,
        *,
        keymap: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        read_only: bool = False,
        title: str | None = None,
        run_checks: Callable[[], Awaitable[Sequence[CheckRow]]] | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.run_checks = run_checks
        self.clock = clock
        self.read_only = read_only
        progress = getattr(session, "progress", None) if read_only else None
        self.replay_progress: ReplayProgress | None = progress if callable(progress) else None
        self.keymap = dict(keymap or {})
        info = session.info
        self.model = MonitorModel(
            character_id=info.character_id, character_name=info.character_name
        )
        self.title = title or f"convai-tui · {self.model.display_name}"
        self.ui_errors: list[str] = []
        self._subscription: Subscription | None = None
        self._ticks = 0
        self._last_idle_reset: float | None = None
        self._closed = False
        self.heap = SettledHeap()
        self.slowest_batch_ms = 0.0
        """The longest time one batch of events took to fold in and repaint (benchmarks)."""
        self.model.connect_key = key_hint(self.keymap, "session.connect")
        if self.keymap:
            self.set_keymap(self.keymap)

    # --- lifecycle -----------------------------------------------------------------------------

    def get_default_screen(self) -> MonitorScreen:
        return MonitorScreen(self.model, read_only=self.read_only)

    @property
    def monitor(self) -> MonitorScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MonitorScreen)
        return screen

    async def on_mount(self) -> None:
        if self.is_headless:
            self.animation_level = "none"
        self._subscription = self.session.subscribe()
        self._pump_events(self._subscription)
        self.set_interval(TICK_S, self._tick, name="monitor-tick")
        self.call_after_refresh(self._freeze_startup_heap)
        if not self.read_only:
            self._start_session()

    def _freeze_startup_heap(self) -> None:
        """Move everything alive once the screen is up (Textual, Rich, the widget tree: ~85k
        objects) out of the garbage collector's reach, and later what the session has settled
        into (`ui/heap.py`): a full collection scanned all of it and stalled the event loop
        40-80 ms, over and over, while events streamed in. Undone on unmount."""
        self.heap.settle()

    @work(exclusive=True, group="session-events", exit_on_error=False)
    async def _pump_events(self, subscription: Subscription) -> None:
        """Drain the subscription: wait for one event, take what else is queued, post a batch."""
        loop = asyncio.get_running_loop()
        posted_at = -BATCH_INTERVAL_S
        try:
            async for first in subscription:
                # A burst becomes one batch per frame: after a quiet spell the first event goes
                # at once; within a frame of the last batch the rest of the frame is waited out
                # (events queue up meanwhile, none is dropped), so the monitor repaints at most
                # ~60 times a second however fast events come, never once per event.
                wait = posted_at + BATCH_INTERVAL_S - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                batch = [first]
                while len(batch) < MAX_BATCH:
                    following = subscription.get_nowait()
                    if following is None:
                        break
                    batch.append(following)
                self.post_message(SessionEventsReceived(tuple(batch)))
                posted_at = loop.time()
            self.post_message(SessionStreamEnded())
        finally:
            subscription.close()

    @work(group="session-commands", exit_on_error=False)
    async def _start_session(self) -> None:
        try:
            await self.session.start()
        except Exception as exc:
            self.report_ui_error("starting the session", exc)

    async def on_unmount(self) -> None:
        await self._close_session()
        self.heap.release()

    async def _close_session(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.wait_for(self.session.close(), timeout=5.0)
        except Exception as exc:  # the terminal must still be restored
            self.log.error(f"session.close failed: {exc!r}")

    # --- events --------------------------------------------------------------------------------

    @guarded("handling session events")
    def on_session_events_received(self, message: SessionEventsReceived) -> None:
        started = time.perf_counter()
        replying = self.model.character_replying
        parts = self.model.apply_all(message.events)
        if parts:
            self.monitor.refresh_parts(parts, self.clock())
        if (
            Part.RETRY in parts
            or Part.BLOCKING in parts
            or Part.STATE in parts
            or Part.ERRORS in parts
            or replying != self.model.character_replying
        ):
            self.refresh_bindings()
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.slowest_batch_ms = max(self.slowest_batch_ms, elapsed_ms)

    def on_session_stream_ended(self, message: SessionStreamEnded) -> None:
        self.model.note_system(self.clock(), "the session's event stream closed")
        self.monitor.refresh_parts({Part.TRANSCRIPT}, self.clock())

    @guarded("updating the clock")
    def _tick(self) -> None:
        now = self.clock()
        self._ticks += 1
        self.monitor.tick(now)
        if self._ticks % DIAGNOSTICS_EVERY_TICKS == 1:
            self._poll_diagnostics(now)

    def refresh_now(self) -> None:
        """Run one tick and one diagnostics poll at once (tests and screenshots)."""
        now = self.clock()
        self.monitor.tick(now)
        self._poll_diagnostics(now)

    def _poll_diagnostics(self, now: float) -> None:
        try:
            data = self.session.diagnostics()
        except Exception as exc:
            data = {"diagnostics_error": f"{type(exc).__name__}: {exc}"}
        self.monitor.diagnostics_source = dict(data) if isinstance(data, dict) else {}
        if self.monitor.active_tab == DIAGNOSTICS_TAB.id:
            self.monitor.show_diagnostics(now)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and self.model.idle is not None:
            self._note_activity()
        if isinstance(event, events.Key) and self._esc_digit_targets(event.key):
            return
        await super().on_event(event)

    def _esc_digit_targets(self, key: str) -> bool:
        """alt+digit as tmux and xterm send it (ESC digit, which Textual names ¡ ™ £ …) picks a
        room target on the monitor; elsewhere, and in a single-character room, it stays text."""
        number = ESC_DIGIT_BY_KEY.get(key)
        if number is None or self.screen is not self.monitor or not self.model.room.active:
            return False
        if number:
            self.monitor.action_room_target(number)
        else:
            self.monitor.action_room_clear_target()
        return True

    def _note_activity(self) -> None:
        """Any key or typed text answers an idle warning (at most every couple of seconds)."""
        if self.read_only or self.model.idle is None:
            return
        now = self.clock()
        if self._last_idle_reset is not None and now - self._last_idle_reset < IDLE_RESET_RESEND_S:
            return
        self._last_idle_reset = now
        self.model.request_idle_reset()
        self.monitor.refresh_parts({Part.IDLE}, now)
        self._reset_idle()

    @work(group="session-commands", exit_on_error=False)
    async def _reset_idle(self) -> None:
        try:
            await self.session.reset_idle_timer()
        except Exception as exc:
            self.report_ui_error("resetting the idle timer", exc)

    @on(Input.Submitted, "#message-input")
    @guarded("sending a message")
    def _on_submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text or self.read_only:
            return
        reason = self.model.input_block_reason()
        if reason is not None:
            self.monitor.flash_input_hint(f"Not sent: {reason}")
            return
        self._send(text)

    @work(group="session-commands", exit_on_error=False)
    async def _send(self, text: str) -> None:
        try:
            outcome = await self.session.send_text(text)
        except Exception as exc:
            self.report_ui_error("sending a message", exc)
            return
        screen = self.monitor
        field = screen.query_one("#message-input", Input)
        accepted = outcome.status in ("sent", "queued")
        if accepted:
            if field.value.strip() == text:
                field.value = ""
            screen.refresh_parts({Part.TRANSCRIPT, Part.STATE}, self.clock())
        else:
            screen.flash_input_hint(f"Not sent: {outcome.reason or 'refused by the session'}")

    # --- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        on_monitor = self.screen is self.monitor
        if action in ("retry_now", "cancel_retry"):
            return on_monitor and self.model.retry is not None and not self.read_only
        if action == "connect":
            return on_monitor and not self.read_only and self.model.can_connect_again
        if action == "dismiss_blocking":
            return (
                on_monitor and self.model.blocking is not None and not self.model.blocking_dismissed
            )
        if action == "toggle_token":
            return on_monitor and self.monitor.active_tab == DIAGNOSTICS_TAB.id
        if action == "show_tab":
            return on_monitor
        if action in ("toggle_mute", "push_to_talk"):
            return (
                on_monitor
                and not self.read_only
                and self.model.audio is not None
                and not self.model.mic_missing
            )
        if action == "interrupt":
            return on_monitor and not self.read_only and self.model.character_replying
        return True

    @guarded("showing a tab")
    def action_show_tab(self, tab: str) -> None:
        self.monitor.show_tab(tab)

    def action_doctor(self) -> None:
        self.monitor.show_tab(DOCTOR_TAB.id)

    @guarded("writing a diagnostics snapshot")
    def action_write_snapshot(self) -> None:
        from convai_tui.core.api.snapshot import default_snapshot_path, write_snapshot

        now = self.clock()
        path = write_snapshot(default_snapshot_path(now), self.session.diagnostics(), now=now)
        self.notify(str(path), title="Diagnostics snapshot written", timeout=8)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.keymap))

    @guarded("retrying now")
    def action_retry_now(self) -> None:
        self.session.retry_now()

    @guarded("cancelling the retry")
    def action_cancel_retry(self) -> None:
        self.session.cancel_retry()

    @guarded("muting the microphone")
    def action_toggle_mute(self) -> None:
        muted = self.session.toggle_mute()
        self.notify("Microphone muted" if muted else "Microphone on", timeout=2)

    @guarded("push-to-talk")
    def action_push_to_talk(self) -> None:
        talking = self.session.toggle_push_to_talk()
        end_key = key_hint(self.keymap, "audio.push-to-talk")
        self.notify(
            f"Talk now ({end_key} ends your turn)" if talking else "Microphone closed", timeout=2
        )

    def action_dismiss_blocking(self) -> None:
        self.model.dismiss_blocking()
        self.monitor.refresh_parts({Part.BLOCKING}, self.clock())
        self.refresh_bindings()

    @guarded("revealing the token")
    def action_toggle_token(self) -> None:
        screen = self.monitor
        screen.token_revealed = not screen.token_revealed
        screen.show_diagnostics(self.clock())

    def action_filter_errors(self, category: str | None) -> None:
        from convai_tui.ui.widgets.errors import ErrorList

        self.monitor.show_tab(ERRORS_TAB.id)
        self.monitor.query_one(ErrorList).set_filter(category)

    @work(group="session-commands", exit_on_error=False)
    async def action_disconnect(self) -> None:
        try:
            await self.session.disconnect()
        except Exception as exc:
            self.report_ui_error("disconnecting", exc)

    @work(group="session-commands", exit_on_error=False)
    async def action_connect(self) -> None:
        try:
            if self.session.state is SessionState.ERROR:
                await self.session.disconnect()
            await self.session.start()
        except Exception as exc:
            self.report_ui_error("connecting", exc)
        self.refresh_bindings()

    async def action_quit(self) -> None:
        await self._close_session()
        self.exit(0)

    # --- session controls ----------------------------------------------------------------------

    def action_control_form(self, kind: str) -> None:
        """Ask for a control's text in a small form, then send it."""
        if self.read_only:
            return

        def send(request: ControlRequest | None) -> None:
            if request is not None:
                self.send_control(request)

        self.push_screen(ControlForm(kind), send)

    def action_interrupt(self) -> None:
        self.send_control(controls.interrupt())

    def action_toggle_tts(self) -> None:
        self.send_control(controls.tts(not self.model.tts_enabled))

    def action_toggle_stt(self) -> None:
        self.send_control(controls.stt(not self.model.stt_muted))

    def action_kill_pipeline(self) -> None:
        def answer(yes: bool | None) -> None:
            if yes:
                self.send_control(controls.kill_pipeline())

        self.push_screen(
            ConfirmScreen("Kill the pipeline? The server ends this session.", "Kill pipeline"),
            answer,
        )

    def send_control(self, request: ControlRequest) -> None:
        """Send a control in the background; its row appears on the Requests tab."""
        if not self.read_only:
            self._send_control(request)

    @work(group="session-commands", exit_on_error=False)
    async def _send_control(self, request: ControlRequest) -> None:
        if request.type == "trigger-message":
            # a trigger makes the character answer: say what it answers before its reply
            self.model.note_system(self.clock(), f"trigger sent: {request.summary}")
            self.monitor.refresh_parts({Part.TRANSCRIPT}, self.clock())
        try:
            result = await self.session.send_control(request.type, request.data)
        except Exception as exc:
            self.report_ui_error(f"sending {request.type}", exc)
            return
        now = self.clock()
        parts = self.model.note_control_result(now, request, result)
        if parts:
            self.monitor.refresh_parts(parts, now)
        self._notify_control(request, result)

    def _notify_control(self, request: ControlRequest, result: ControlResult) -> None:
        detail = result.message or ""
        budget = self.model.context_budget
        if request.type == "context-update" and result.status == "success" and budget:
            detail = (
                f"{budget.token_count}/{budget.max_tokens} tokens, "
                f"{budget.remaining_tokens} remaining"
            )
        ok = result.status in ("success", "processing", "pending")
        low = budget is not None and budget.low and request.type == "context-update"
        self.notify(
            detail or result.status,
            title=f"{request.type}: {result.status}",
            severity="warning" if ok and low else ("information" if ok else "error"),
            timeout=4 if ok else 8,
        )

    # --- failures ------------------------------------------------------------------------------

    def report_ui_error(self, what: str, exc: BaseException) -> None:
        """Show a failure as an error row and a notification; never let a traceback escape."""
        detail = "".join(traceback.format_exception(exc))
        self.log.error(detail)
        message = f"{what} failed: {type(exc).__name__}: {exc}"
        self.ui_errors.append(message)
        try:
            self.model.note_ui_error(ui_error("ui.handler_failed", message, self.clock()))
            self.monitor.refresh_parts({Part.ERRORS}, self.clock())
            self.notify(message, title="Something went wrong", severity="error", timeout=8)
        except Exception:
            self.log.error("could not report a UI error")


def run_tui(session: SessionPort, *, keymap: dict[str, str] | None = None) -> int:
    """Run the monitor until the user quits; returns the process exit code (0 on a user quit)."""
    app = ConvaiApp(session, keymap=keymap)
    result = app.run()
    if app.return_code not in (None, 0):
        return int(app.return_code or 1)
    return int(result or 0)


__all__ = ["ConvaiApp", "run_tui"]
