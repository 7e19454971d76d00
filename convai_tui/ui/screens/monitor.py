"""The monitor: a status bar, banners, the tabs of `registry.TABS` and an overlay layer for the
retry countdown and the blocking banner."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, Static, TabbedContent, TabPane

from convai_tui.ui.model.reducer import MonitorModel, Part
from convai_tui.ui.model.replay import READ_ONLY_PLACEHOLDER, replay_hint
from convai_tui.ui.registry import (
    DIAGNOSTICS_TAB,
    DOCTOR_TAB,
    ERRORS_TAB,
    LINK_TAB,
    PARTICIPANTS_TAB,
    REQUESTS_TAB,
    SESSION_TAB,
    TABS,
    TABS_BY_ID,
    TURNS_TAB,
    key_hint,
)
from convai_tui.ui.screens.room_actions import RoomActions
from convai_tui.ui.widgets.banners import ActivityLine, EndedBanner, IdleBanner, PinnedError
from convai_tui.ui.widgets.diagnostics import DiagnosticsPanel, merged
from convai_tui.ui.widgets.doctor import DoctorPanel
from convai_tui.ui.widgets.errors import (
    ErrorDetail,
    ErrorList,
    detail_text,
    filter_text,
    header_text,
)
from convai_tui.ui.widgets.footer import KeyFooter
from convai_tui.ui.widgets.link import LinkView
from convai_tui.ui.widgets.message_input import MessageInput
from convai_tui.ui.widgets.overlays import (
    BlockingBanner,
    RetryOverlay,
    blocking_keys_hint,
    retry_keys_hint,
)
from convai_tui.ui.widgets.participants import ParticipantsTable
from convai_tui.ui.widgets.requests import RequestsPanel
from convai_tui.ui.widgets.room import RoomTable
from convai_tui.ui.widgets.status import AudioMeters, StatusBar, ids_text
from convai_tui.ui.widgets.text_line import TextLine
from convai_tui.ui.widgets.transcript import TranscriptView
from convai_tui.ui.widgets.turns import TurnsView


class MonitorScreen(RoomActions):
    """Renders `MonitorModel`; the App owns the model and tells this screen what changed."""

    def __init__(self, model: MonitorModel, *, read_only: bool = False) -> None:
        super().__init__(id="monitor")
        self.model = model
        self.read_only = read_only
        self.token_revealed = False
        self.diagnostics_source: dict[str, Any] = {}
        self.ready = False

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        yield IdleBanner(id="idle-banner")
        yield EndedBanner(id="ended-banner")
        panes = self.pane_contents()
        with TabbedContent(id="tabs", initial=TABS[0].id):
            for tab in TABS:
                with TabPane(tab.title, id=tab.id):
                    yield from panes[tab.id]()
        yield RetryOverlay(id="retry-overlay")
        yield BlockingBanner(id="blocking-banner")
        yield KeyFooter(id="footer", compact=True)

    def pane_contents(self) -> dict[str, Callable[[], Iterable[Widget]]]:
        """What each tab of `registry.TABS` holds, by tab id."""
        return {
            SESSION_TAB.id: self._session_pane,
            ERRORS_TAB.id: self._errors_pane,
            PARTICIPANTS_TAB.id: lambda: [
                ParticipantsTable(id="participants-table"),
                RoomTable(id="room-table"),  # a multi-character room
            ],
            DIAGNOSTICS_TAB.id: lambda: [
                VerticalScroll(DiagnosticsPanel(id="diagnostics-panel"), id="diagnostics-scroll")
            ],
            DOCTOR_TAB.id: lambda: [DoctorPanel(id="doctor-panel")],
            REQUESTS_TAB.id: lambda: [RequestsPanel(id="requests-panel")],
            LINK_TAB.id: lambda: [LinkView(id="link-view")],
            TURNS_TAB.id: lambda: [TurnsView(id="turns-view")],
        }

    def _session_pane(self) -> Iterable[Widget]:
        yield TextLine(ids_text(self.model), id="session-ids")
        yield PinnedError(id="pinned-error")
        yield TranscriptView(character_label=self.model.display_name, id="transcript")
        yield ActivityLine("", id="activity")
        yield MessageInput(
            placeholder=READ_ONLY_PLACEHOLDER if self.read_only else "Type a message · Enter sends",
            id="message-input",
            disabled=self.read_only,
        )
        yield TextLine("", id="input-hint")

    def _errors_pane(self) -> Iterable[Widget]:
        yield Static("", id="error-filter")
        yield Static("", id="error-header")
        yield ErrorList(id="error-list")
        yield ErrorDetail(detail_text(None), id="error-detail")

    def on_mount(self) -> None:
        keymap: dict[str, str] = getattr(self.app, "keymap", {})
        self.query_one(RetryOverlay).keys_hint = retry_keys_hint(keymap)
        self.query_one(BlockingBanner).keys_hint = blocking_keys_hint(keymap)
        self.query_one(DoctorPanel).run_key = key_hint(keymap, "doctor.rerun")
        self.query_one(EndedBanner).connect_key = key_hint(keymap, "session.connect")
        self.query_one(DiagnosticsPanel).reveal_key = key_hint(keymap, "diagnostics.reveal-token")
        self.ready = True
        if self.app.is_headless:
            self.query_one("#message-input", Input).cursor_blink = False
        self.refresh_parts(set(Part), self.app_now())
        if not self.read_only:
            self.query_one("#message-input", Input).focus()

    def app_now(self) -> float:
        clock = getattr(self.app, "clock", None)
        return float(clock()) if callable(clock) else 0.0

    # --- rendering -----------------------------------------------------------------------------

    def refresh_parts(self, parts: set[Part], now: float) -> None:
        """Repaint the widgets that show `parts` of the model (all of them once mounted)."""
        if not self.ready:
            return
        m = self.model
        if Part.STATE in parts or Part.ENDED in parts or Part.BLOCKING in parts:
            self.query_one(StatusBar).show(m, now)
            self.query_one("#session-ids", TextLine).show(ids_text(m))
            self._show_input_hint()
        if Part.TRANSCRIPT in parts:
            self.query_one(TranscriptView).sync(m.transcript)
        if Part.ACTIVITY in parts:
            self.query_one(ActivityLine).show(m)
        if Part.ERRORS in parts:
            self.query_one(ErrorList).sync(m.errors)
            self.query_one(PinnedError).show(m.last_error)
            self._show_filter()
        if Part.IDLE in parts:
            self.query_one(IdleBanner).show(m.idle, now)
        if Part.ENDED in parts:
            self.query_one(EndedBanner).show(m.ended)
        if Part.RETRY in parts or Part.BLOCKING in parts:
            self._show_overlay(now)
        if Part.PARTICIPANTS in parts:
            self.query_one(ParticipantsTable).show(m.participants, now)
            self._show_room(now)
        if Part.DIAGNOSTICS in parts and self.active_tab == DIAGNOSTICS_TAB.id:
            self.show_diagnostics(now)
        if Part.REQUESTS in parts and self.active_tab == REQUESTS_TAB.id:
            self._show_requests()
        if Part.LINK in parts and self.active_tab == LINK_TAB.id:
            self.query_one(LinkView).show(m.link, now)
        if Part.LINK in parts and self.active_tab == TURNS_TAB.id:
            self.query_one(TurnsView).show(m.link.turns)

    def tick(self, now: float) -> None:
        """Time-driven repaint: durations, countdowns, flashes, level meters."""
        if not self.ready:
            return
        m = self.model
        self.query_one(StatusBar).show(m, now)
        self.query_one(AudioMeters).show(
            m.audio, m.audio_warning, no_mic=m.mic_missing, no_speaker=m.speaker_missing
        )
        if self.read_only:
            self._show_input_hint()
        if m.retry is not None:
            self.query_one(RetryOverlay).show(m.retry, now)
        if m.idle is not None:
            self.query_one(IdleBanner).show(m.idle, now)
        if m.participants:
            self.query_one(ParticipantsTable).show(m.participants, now)
            self._show_room(now)

    def _show_room(self, now: float) -> None:
        """A multi-character room shows its room table instead of the participants table."""
        active = self.model.room.active
        for widget, shown in (
            (self.query_one(ParticipantsTable), not active),
            (self.query_one(RoomTable), active),
        ):
            widget.display = shown
            widget.set_class(shown, "participants-view")
        if active:
            self.apply_saved_volumes()
            self.query_one(RoomTable).show(self.model, now)

    def show_diagnostics(self, now: float) -> None:
        if not self.ready:
            return
        data = merged(self.model, self.diagnostics_source, now)
        self.query_one(DiagnosticsPanel).show(data, reveal_token=self.token_revealed)

    def _show_requests(self) -> None:
        """Filled only while its tab is shown: a hidden table's new rows still cost a layout
        pass of the screen, and every turn adds or updates a request."""
        self.query_one(RequestsPanel).show(self.model.requests, self.model.context_budget)

    def _show_input_hint(self) -> None:
        hint = self.query_one("#input-hint", TextLine)
        if self.read_only:
            hint.show(replay_hint(getattr(self.app, "replay_progress", None)))
            return
        reason = self.model.input_block_reason()
        hint.set_class(reason is not None, "-blocked")
        hint.show(self.model.input_hint())

    def flash_input_hint(self, text: str) -> None:
        hint = self.query_one("#input-hint", TextLine)
        hint.add_class("-blocked")
        hint.show(text)

    def _show_filter(self) -> None:
        errors = self.query_one(ErrorList)
        self.query_one("#error-filter", Static).update(
            filter_text(self.model.error_counts, len(self.model.errors), errors.category)
        )
        width = errors.size.width or max(0, self.size.width - 2)
        self.query_one("#error-header", Static).update(header_text(width))

    def _show_overlay(self, now: float) -> None:
        m = self.model
        blocking = m.blocking if not m.blocking_dismissed else None
        retry = m.retry if blocking is None else None
        retry_widget = self.query_one(RetryOverlay)
        blocking_widget = self.query_one(BlockingBanner)
        retry_widget.display = retry is not None
        blocking_widget.display = blocking is not None
        retry_widget.show(retry, now)
        blocking_widget.show(blocking)

    # --- events from children ------------------------------------------------------------------

    def on_error_list_highlighted(self, message: ErrorList.Highlighted) -> None:
        self.query_one(ErrorDetail).show(message.error)

    def on_error_list_filter_changed(self, message: ErrorList.FilterChanged) -> None:
        self._show_filter()
        self.query_one(ErrorDetail).show(self.query_one(ErrorList).selected)

    def on_error_list_width_changed(self, message: ErrorList.WidthChanged) -> None:
        self._show_filter()

    def show_tab(self, tab: str) -> None:
        """Show a tab of `registry.TABS` and focus its main widget (unless that is disabled,
        as the message input is when replaying)."""
        self.query_one(TabbedContent).active = tab
        target = self.query(TABS_BY_ID[tab].focus)
        if target and not target.first().disabled:
            target.first().focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        tab = event.pane.id or ""
        if tab == DIAGNOSTICS_TAB.id:
            self.show_diagnostics(self.app_now())
        elif tab == LINK_TAB.id:
            self.query_one(LinkView).show(self.model.link, self.app_now())
        elif tab == TURNS_TAB.id:
            self.query_one(TurnsView).show(self.model.link.turns)
        elif tab == REQUESTS_TAB.id:
            self._show_requests()
        self.app.refresh_bindings()

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active
