"""The Doctor tab: the same checks as `convai-tui doctor`, run through a callable the CLI
injects (the UI itself never touches the network)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar, Protocol

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from convai_tui.ui.formatting import clock_time
from convai_tui.ui.registry import DOCTOR_BINDINGS

UNAVAILABLE = "Doctor is not available here: start a session with `convai-tui run` to use it."


class CheckRow(Protocol):
    """What the screen needs of a check (doctor.Check has these)."""

    @property
    def name(self) -> str: ...

    @property
    def ok(self) -> bool: ...

    @property
    def detail(self) -> str: ...

    @property
    def fix(self) -> str: ...


RunChecks = Callable[[], Awaitable[Sequence[CheckRow]]]


def checks_table(checks: Sequence[CheckRow]) -> Table:
    table = Table(box=None, expand=True, pad_edge=False)
    table.add_column("", no_wrap=True, width=4)
    table.add_column("check", style="bold", no_wrap=True)
    table.add_column("detail / fix")
    for check in checks:
        mark = Text("ok", style="green") if check.ok else Text("FAIL", style="bold red")
        detail = Text(check.detail)
        if check.fix and not check.ok:
            detail.append(f"\nfix: {check.fix}", style="italic")
        table.add_row(mark, check.name, detail)
    return table


class DoctorPanel(VerticalScroll):
    """The Doctor tab: runs the checks when asked (r), never on its own, and says when they
    last ran (each run makes a real /connect, so showing the tab costs nothing)."""

    BINDINGS: ClassVar[list[BindingType]] = DOCTOR_BINDINGS

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.checks: list[CheckRow] = []
        self.running = False
        self.last_ran: float | None = None
        self.run_key = "r"

    def compose(self) -> ComposeResult:
        yield Static("", id="doctor-summary")
        yield Static("", id="doctor-table")

    def on_mount(self) -> None:
        self._summary(
            UNAVAILABLE
            if self._run_checks() is None
            else f"Not run yet: {self.run_key} runs the network, LiveKit and audio checks "
            "(a real /connect)."
        )

    def _run_checks(self) -> RunChecks | None:
        run: RunChecks | None = getattr(self.app, "run_checks", None)
        return run

    def _now(self) -> float:
        clock = getattr(self.app, "clock", None)
        return float(clock()) if callable(clock) else 0.0

    def _summary(self, text: str) -> None:
        self.query_one("#doctor-summary", Static).update(text)

    def action_rerun(self) -> None:
        if self._run_checks() is None:
            self._summary(UNAVAILABLE)
            return
        if not self.running:
            self.running = True
            self._summary("Running checks… (each takes at most a few seconds)")
            self._run()

    @work(exclusive=True, group="doctor", exit_on_error=False)
    async def _run(self) -> None:
        run = self._run_checks()
        assert run is not None
        try:
            checks = list(await run())
        except Exception as exc:
            self._summary(f"The checks could not run: {type(exc).__name__}: {exc}")
            return
        finally:
            self.running = False
        self.checks = checks
        self.last_ran = self._now()
        failed = sum(1 for c in checks if not c.ok)
        verdict = "all passed" if not failed else f"{failed} failed"
        self._summary(
            f"{len(checks) - failed}/{len(checks)} checks passed ({verdict}) · "
            f"last ran {clock_time(self.last_ran)} · {self.run_key} runs them again"
        )
        self.query_one("#doctor-table", Static).update(checks_table(checks))
