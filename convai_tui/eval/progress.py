"""Progress while an eval runs, on stderr: one line redrawn in place on a terminal; plain lines
(one per finished session) otherwise, so a CI log stays readable."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from convai_tui.eval.results import TurnResult
from convai_tui.eval.summary import percentile

REDRAW_EVERY_S = 0.2


class Progress:
    def __init__(self, out: TextIO | None = None, *, live: bool | None = None) -> None:
        self._out = out or sys.stderr
        self._live = self._out.isatty() if live is None else live
        self._sessions = 0
        self._turns_per_session = 0
        self.running = 0
        self.done = 0
        self.passed = 0
        self.failed = 0
        self._totals: list[float] = []
        self._drawn_at = 0.0

    def begin(self, sessions: int, turns_per_session: int) -> None:
        self._sessions = sessions
        self._turns_per_session = turns_per_session
        self._show(force=True)

    def session_started(self) -> None:
        self.running += 1
        self._show()

    def session_done(self) -> None:
        self.running -= 1
        self.done += 1
        if self._live:
            self._show(force=True)
        else:
            self._out.write(self.line() + "\n")
            self._out.flush()

    def turn_done(self, turn: TurnResult) -> None:
        if turn.klass == "pass":
            self.passed += 1
        else:
            self.failed += 1
        if turn.total_ms is not None:
            self._totals.append(turn.total_ms)
        self._show()

    def end(self) -> None:
        if self._live:
            self._show(force=True)
            self._out.write("\n")
            self._out.flush()

    def line(self) -> str:
        p50 = percentile(self._totals, 50)
        shown = "–" if p50 is None else f"{p50:.0f} ms"
        return (
            f"eval: sessions {self.running} running, {self.done}/{self._sessions} done · "
            f"turns {self.passed} passed, {self.failed} failed "
            f"of {self._sessions * self._turns_per_session} · p50 {shown}"
        )

    def _show(self, *, force: bool = False) -> None:
        if not self._live:
            return
        now = time.monotonic()
        if not force and now - self._drawn_at < REDRAW_EVERY_S:
            return
        self._drawn_at = now
        self._out.write("\r\x1b[2K" + self.line())
        self._out.flush()
