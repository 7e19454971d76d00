"""Small modal forms for the session controls that need text, and a confirmation dialog.

A form validates with the same builders the core and the headless flags use
(core/rtvi/controls.py); an invalid entry is explained in the form, which stays open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from convai_tui.core.rtvi import controls
from convai_tui.core.rtvi.controls import ControlArgumentError, ControlRequest
from convai_tui.ui.registry import CONFIRM_BINDINGS, CONTROL_FORM_BINDINGS

DEFAULT_RUN_LLM = "server default"


@dataclass(frozen=True, slots=True)
class FormField:
    """An Input, or a Select when `choices` is set (the first choice is the default)."""

    name: str
    label: str
    placeholder: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FormSpec:
    title: str
    fields: tuple[FormField, ...]
    build: Callable[[dict[str, str]], ControlRequest]


def _context(values: dict[str, str]) -> ControlRequest:
    run_llm = values.get("run_llm", DEFAULT_RUN_LLM)
    return controls.context_update(
        values.get("text", ""),
        values.get("mode", "append"),
        None if run_llm == DEFAULT_RUN_LLM else run_llm,
    )


def _template_keys(values: dict[str, str]) -> ControlRequest:
    specs = [part for part in values.get("keys", "").split(";") if part.strip()]
    if not specs:
        raise ControlArgumentError("Enter at least one name=value.")
    return controls.parse_template_keys(specs)


FORMS: dict[str, FormSpec] = {
    "trigger": FormSpec(
        "Send a trigger",
        (
            FormField("name", "Trigger name", "as named on the dashboard, e.g. greet"),
            FormField("message", "Message (optional)", "what the trigger says"),
        ),
        lambda v: controls.trigger(v.get("name"), v.get("message")),
    ),
    "context": FormSpec(
        "Update the context",
        (
            FormField("text", "Text", "e.g. the user is a nurse"),
            FormField("mode", "Mode", choices=controls.CONTEXT_MODES),
            FormField(
                "run_llm", "Run the LLM", choices=(DEFAULT_RUN_LLM, *controls.RUN_LLM_VALUES)
            ),
        ),
        _context,
    ),
    "template-keys": FormSpec(
        "Set template keys (replaces them all)",
        (FormField("keys", "name=value; name=value", "e.g. city=Paris; mood=calm"),),
        _template_keys,
    ),
    "dynamic-info": FormSpec(
        "Update dynamic info",
        (FormField("text", "Text", "e.g. it is raining"),),
        lambda v: controls.dynamic_info(v.get("text", "")),
    ),
}


class ControlForm(ModalScreen[ControlRequest | None]):
    """Enter or Send submits; escape cancels. Dismisses with the request to send, or None."""

    BINDINGS: ClassVar[list[BindingType]] = CONTROL_FORM_BINDINGS

    def __init__(self, kind: str) -> None:
        super().__init__(id="control-form")
        self.kind = kind
        self.spec = FORMS[kind]

    def compose(self) -> ComposeResult:
        with Vertical(id="control-form-body"):
            yield Static(self.spec.title, id="control-form-title")
            for spec in self.spec.fields:
                yield Label(spec.label)
                if spec.choices:
                    yield Select(
                        [(c, c) for c in spec.choices],
                        value=spec.choices[0],
                        allow_blank=False,
                        id=f"field-{spec.name}",
                    )
                else:
                    yield Input(placeholder=spec.placeholder, id=f"field-{spec.name}")
            yield Static("", id="control-form-error")
            with Horizontal(id="control-form-buttons"):
                yield Button("Send", variant="primary", id="control-form-send")
                yield Button("Cancel", id="control-form-cancel")

    def on_mount(self) -> None:
        if self.app.is_headless:
            for field in self.query(Input):
                field.cursor_blink = False
        first = self.query(Input)
        if first:
            first.first().focus()

    def values(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for spec in self.spec.fields:
            widget = self.query_one(f"#field-{spec.name}")
            if isinstance(widget, Input):
                out[spec.name] = widget.value
            elif isinstance(widget, Select):
                out[spec.name] = str(widget.value)
        return out

    def submit(self) -> None:
        try:
            request = self.spec.build(self.values())
        except ControlArgumentError as exc:
            self.query_one("#control-form-error", Static).update(str(exc))
            return
        self.dismiss(request)

    @on(Input.Submitted)
    def _submit_on_enter(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    @on(Button.Pressed, "#control-form-send")
    def _on_send(self) -> None:
        self.submit()

    @on(Button.Pressed, "#control-form-cancel")
    def _on_cancel(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; y or the confirm button says yes, n or escape says no."""

    BINDINGS: ClassVar[list[BindingType]] = CONFIRM_BINDINGS

    def __init__(self, question: str, confirm_label: str) -> None:
        super().__init__(id="confirm")
        self.question = question
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-body"):
            yield Static(self.question, id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.confirm_label} (y)", variant="error", id="confirm-yes")
                yield Button("Cancel (n)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed)
    def _on_button(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
