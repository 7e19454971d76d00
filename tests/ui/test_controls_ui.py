"""Session controls in the TUI: the reducer's Requests rows and budget, then Pilot flows against
FakeSession (palette, forms, the Requests tab, the interrupt key, the TTS badge, kill-pipeline)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Select, Static, TabbedContent

from convai_tui.core.api.events import (
    BotActivityChanged,
    Event,
    MessageSent,
    RoomDetailsReceived,
    ServerResponseReceived,
    TurnCompleted,
)
from convai_tui.core.api.port import ControlResult
from convai_tui.core.api.states import SessionState as S
from convai_tui.core.rtvi import controls as c
from convai_tui.ui.app import ConvaiApp
from convai_tui.ui.commands import monitor_commands
from convai_tui.ui.model.reducer import MonitorModel, Part
from convai_tui.ui.screens.controls import ConfirmScreen, ControlForm
from convai_tui.ui.screens.monitor import MonitorScreen
from convai_tui.ui.widgets.requests import RequestsTable
from tests.ui.fake_core import T0, FakeClock, FakeSession, Step
from tests.ui.scenarios import connect_events, request_events, settle, t

SIZE = (110, 32)

# --- the reducer -----------------------------------------------------------------------------------


def folded(events: list[Event]) -> MonitorModel:
    m = MonitorModel(character_id="c")
    m.apply_all(events)
    return m


def test_sent_messages_become_rows_that_acks_complete() -> None:
    m = folded(request_events())
    rows = {k: (r.type, r.summary, r.status) for k, r in m.requests.items()}
    assert rows["m1"] == ("trigger-message", "greet", "success")
    assert rows["m5"] == ("update-dynamic-info", "", "error")
    assert rows["m7"] == ("interrupt-bot", "", "pending")
    unmatched = [r for r in m.requests.values() if r.type == "parse-error"]
    assert len(unmatched) == 1 and unmatched[0].status == "error"
    assert m.context_budget is not None and m.context_budget.remaining_tokens == 4_200
    assert m.context_budget.low
    assert m.tts_enabled is False


def test_budget_is_not_low_at_or_above_5000_and_tts_resets_on_a_new_session() -> None:
    m = folded(
        [
            MessageSent("context-update", "a", "append: x", at=t(1)),
            ServerResponseReceived(
                "context-update",
                "success",
                None,
                {"token_count": 45_000, "max_tokens": 50_000, "remaining_tokens": 5_000},
                "a",
                at=t(1),
            ),
            ServerResponseReceived("tts-toggle", "success", None, {"enabled": False}, at=t(2)),
        ]
    )
    assert m.context_budget is not None and not m.context_budget.low
    assert m.tts_enabled is False
    m.apply(RoomDetailsReceived("s2", None, "r", "ws://x", None, 1.0, at=t(3)))
    assert m.tts_enabled is True


def test_refusals_and_timeouts_are_recorded_by_the_ui() -> None:
    m = MonitorModel()
    refused = m.note_control_result(
        T0, c.tts(False), ControlResult("refused", "Not sent: the session is disconnected.")
    )
    assert Part.REQUESTS in refused
    (row,) = m.requests.values()
    assert (row.type, row.summary, row.status) == ("tts-toggle", "off", "refused")
    # A timeout recorded before the MessageSent event is folded in keeps its status.
    m.note_control_result(T0 + 1, c.interrupt(), ControlResult("timeout", "No ack", None, "x"))
    m.apply(MessageSent("interrupt-bot", "x", "", at=T0))
    assert m.requests["x"].status == "timeout"
    # A late ack still lands.
    m.apply(ServerResponseReceived("interrupt-bot", "success", "late", None, "x", at=T0 + 12))
    assert m.requests["x"].status == "success"


def test_tts_state_from_a_success_ack_without_extras() -> None:
    m = MonitorModel()
    parts = m.note_control_result(T0, c.tts(False), ControlResult("success", None, None, "id"))
    assert Part.STATE in parts and m.tts_enabled is False


# --- Pilot flows ---------------------------------------------------------------------------------------


def make(script: list[Event] | None = None, **kwargs: Any) -> tuple[ConvaiApp, FakeSession]:
    clock = FakeClock(t(10))
    events = connect_events() if script is None else script
    session = FakeSession(script=[Step(e) for e in events], clock=clock, **kwargs)
    return ConvaiApp(session, clock=clock), session


def commands(app: ConvaiApp) -> dict[str, Any]:
    return {name: callback for name, callback, _ in monitor_commands(app)}


def table_rows(app: ConvaiApp) -> list[tuple[str, ...]]:
    return list(app.query_one(RequestsTable).shown.values())


def text_of(widget: Static) -> str:
    return str(widget.render())


async def run_command(pilot: Pilot[Any], app: ConvaiApp, name: str) -> None:
    commands(app)[name]()
    await settle(pilot)


async def test_control_commands_only_while_connected() -> None:
    app, _session = make([])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not [n for n in commands(app) if n.startswith("control:")]
    app, _session = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        names = set(commands(app))
        assert {
            "control: trigger…",
            "control: update context…",
            "control: template keys…",
            "control: tts off",
            "control: interrupt",
            "control: kill pipeline",
            "view: requests",
        } <= names


async def test_trigger_form_sends_and_the_requests_tab_shows_the_ack() -> None:
    app, session = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await run_command(pilot, app, "control: trigger…")
        assert isinstance(app.screen, ControlForm)
        await pilot.press(*"greet")
        await pilot.press("tab", *"Hello there", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, ControlForm)
        assert session.called("send_control") == [
            ("trigger-message", {"trigger_name": "greet", "trigger_message": "Hello there"})
        ]
        sent = [line for line in app.model.transcript if line.text.startswith("trigger sent")]
        assert [(line.role, line.text) for line in sent] == [
            ("system", "trigger sent: greet · Hello there")
        ]
        await pilot.press("f7")
        assert app.query_one(TabbedContent).active == "requests"
        (row,) = table_rows(app)
        assert row[1:] == ("trigger-message", "greet · Hello there", "success", "ok")


async def test_invalid_form_stays_open_and_escape_cancels() -> None:
    app, session = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await run_command(pilot, app, "control: update context…")
        form = app.screen
        assert isinstance(form, ControlForm)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is form
        assert "needs some text" in text_of(form.query_one("#control-form-error", Static))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MonitorScreen) and session.called("send_control") == []


async def test_context_form_with_mode_and_the_budget_line() -> None:
    app, session = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await run_command(pilot, app, "view: requests")  # the budget line updates while shown
        await run_command(pilot, app, "control: update context…")
        form = app.screen
        assert isinstance(form, ControlForm)
        form.query_one("#field-text", Input).value = "the user is a nurse"
        form.query_one("#field-mode", Select).value = "replace"
        form.query_one("#field-run_llm", Select).value = "false"
        form.submit()
        await settle(pilot)
        assert session.called("send_control") == [
            (
                "context-update",
                {"text": "the user is a nurse", "mode": "replace", "run_llm": "false"},
            )
        ]
        budget = app.query_one("#context-budget", Static)
        assert "13/50,000 tokens · 49,987 remaining" in text_of(budget)
        assert not budget.has_class("-low")
        session.publish(
            MessageSent("context-update", "big", "append: …", at=t(11)),
            ServerResponseReceived(
                "context-update",
                "success",
                None,
                {"token_count": 46_000, "max_tokens": 50_000, "remaining_tokens": 4_000},
                "big",
                at=t(11),
            ),
        )
        await settle(pilot)
        assert budget.has_class("-low") and "4,000 remaining · LOW" in text_of(budget)


async def test_template_keys_form() -> None:
    app, session = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await run_command(pilot, app, "control: template keys…")
        await pilot.press(*"city=Paris; mood=calm", "enter")
        await settle(pilot)
        assert session.called("send_control") == [
            ("update-template-keys", {"template_keys": {"city": "Paris", "mood": "calm"}})
        ]


async def test_tts_toggle_shows_in_the_status_bar() -> None:
    app, session = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        badge = app.query_one("#tts-badge", Static)
        assert text_of(badge) == "TTS on" and not badge.has_class("-off")
        await run_command(pilot, app, "control: tts off")
        assert session.called("send_control") == [("tts-toggle", {"enabled": False})]
        assert text_of(badge) == "TTS off" and badge.has_class("-off")
        assert "control: tts on" in commands(app)
        await run_command(pilot, app, "control: tts on")
        assert text_of(badge) == "TTS on"


async def test_stt_toggle_from_the_palette_shows_a_badge_while_muted() -> None:
    app, session = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        badge = app.query_one("#stt-badge", Static)
        assert not badge.display and "control: stt off" in commands(app)
        await run_command(pilot, app, "control: stt off")
        assert session.called("send_control") == [("stt-toggle", {"muted": True})]
        assert badge.display and text_of(badge) == "STT off"
        assert "control: stt on" in commands(app)
        await run_command(pilot, app, "control: stt on")
        assert session.called("send_control")[-1] == ("stt-toggle", {"muted": False})
        assert not badge.display


def test_stt_state_follows_acks_and_resets_on_a_new_session() -> None:
    m = folded([ServerResponseReceived("stt-toggle", "success", None, {"muted": True}, at=t(1))])
    assert m.stt_muted is True
    m.apply(RoomDetailsReceived("s2", None, "r", "ws://x", None, 1.0, at=t(2)))
    assert m.stt_muted is False
    parts = m.note_control_result(T0, c.stt(True), ControlResult("success", None, None, "id"))
    assert Part.STATE in parts and m.stt_muted is True


async def test_interrupt_key_only_while_the_character_replies() -> None:
    app, session = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.focused is app.query_one("#message-input", Input)
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert session.called("send_control") == []
        assert "control.interrupt" not in {
            b.binding.id
            for b in app.active_bindings.values()
            if app.check_action(b.binding.action, ())
        }
        session.publish(BotActivityChanged("speaking", at=t(11)))
        await settle(pilot)
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert session.called("send_control") == [("interrupt-bot", {})]
        session.publish(
            TurnCompleted(1, True, "", at=t(12)), BotActivityChanged("listening", at=t(12))
        )
        await settle(pilot)
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert len(session.called("send_control")) == 1


async def test_refused_and_timed_out_controls_are_rows_with_the_reason() -> None:
    replies = iter(
        [
            ControlResult("refused", "Not sent: the character is not ready yet."),
            ControlResult("timeout", "No acknowledgement within 10 s.", None, "late-1"),
        ]
    )
    app, _session = make(control_reply=lambda _type, _data: next(replies))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await run_command(pilot, app, "control: interrupt")
        await run_command(pilot, app, "control: reset idle timer")
        assert table_rows(app) == []  # filled when its tab is opened, not while hidden
        await run_command(pilot, app, "view: requests")
        rows = table_rows(app)
        assert [r[1:4] for r in rows] == [
            ("interrupt-bot", "—", "refused"),
            ("reset-idle-timer", "—", "timeout"),
        ]
        assert rows[0][4] == "Not sent: the character is not ready yet."


async def test_kill_pipeline_asks_first() -> None:
    app, session = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await run_command(pilot, app, "control: kill pipeline")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert session.called("send_control") == []
        await run_command(pilot, app, "control: kill pipeline")
        await pilot.press("y")
        await settle(pilot)
        assert session.called("send_control") == [("kill-pipeline", {})]


async def test_read_only_has_no_controls() -> None:
    clock = FakeClock(t(10))
    session = FakeSession(clock=clock)
    app = ConvaiApp(session, clock=clock, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        session.publish(*connect_events())
        session.script_done.set()
        await settle(pilot)
        assert app.model.state is S.CONNECTED
        assert not [n for n in commands(app) if n.startswith("control:")]
        app.send_control(c.interrupt())
        await settle(pilot)
        assert session.called("send_control") == []


async def test_an_acks_message_widens_its_column_instead_of_being_cut() -> None:
    from convai_tui.ui.model.views import RequestRow

    app, _session = make()
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        table = app.query_one(RequestsTable)
        row = RequestRow("m1", t(10), "trigger-message", "greet")
        table.show({"m1": row})
        await pilot.pause()
        message = "Trigger message processed by the character after a long while"
        table.show({"m1": RequestRow("m1", t(10), "trigger-message", "greet", "success", message)})
        await pilot.pause()
        widths = {str(c.key.value): c.get_render_width(table) for c in table.columns.values()}
        assert widths["message"] >= len(message)
