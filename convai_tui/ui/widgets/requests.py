"""The Requests tab: every client message sent with its ack, and the context token budget."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable

from convai_tui.ui.formatting import clock_time
from convai_tui.ui.model.reducer import ContextBudget, RequestRow
from convai_tui.ui.widgets.text_line import TextLine

COLUMNS = ("time", "type", "summary", "status", "message")
STATUS_STYLES = {
    "success": "success",
    "error": "error",
    "refused": "error",
    "timeout": "error",
    "processing": "warning",
    "pending": "warning",
}


def budget_text(budget: ContextBudget | None) -> str:
    if budget is None:
        return "context budget: — (shown after a context update is acknowledged)"

    def number(value: int | None) -> str:
        return f"{value:,}" if value is not None else "?"

    low = " · LOW: consider resetting the context" if budget.low else ""
    return (
        f"context budget: {number(budget.token_count)}/{number(budget.max_tokens)} tokens · "
        f"{number(budget.remaining_tokens)} remaining{low}"
    )


class RequestsTable(DataTable[Text]):
    """One row per request, newest last; rows update in place when their ack arrives."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._shown: dict[str, tuple[str, ...]] = {}

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)

    def show(self, rows: dict[str, RequestRow]) -> None:
        for key in [k for k in self._shown if k not in rows]:
            self.remove_row(key)
            del self._shown[key]
        follow = self.row_count == 0 or self.cursor_row >= self.row_count - 1
        added = False
        for key, row in rows.items():
            cells = (
                clock_time(row.at),
                row.type,
                row.summary or "—",
                row.status,
                row.message or "",
            )
            before = self._shown.get(key)
            if before == cells:
                continue
            texts = self._texts(cells)
            if before is None:
                self.add_row(*texts, key=key)
                added = True
            else:
                for column, text in zip(COLUMNS, texts, strict=True):
                    self.update_cell(key, column, text, update_width=True)
            self._shown[key] = cells
        if added and follow:
            self.move_cursor(row=self.row_count - 1)

    def _texts(self, cells: tuple[str, ...]) -> list[Text]:
        texts = [Text(c, no_wrap=True, overflow="ellipsis") for c in cells]
        colour = self.app.theme_variables.get(STATUS_STYLES.get(cells[3], ""), "")
        if colour:
            texts[3].stylize(f"bold {colour}")
        texts[0].stylize("dim")
        return texts

    @property
    def shown(self) -> dict[str, tuple[str, ...]]:
        """The cells of every row as plain text (tests)."""
        return dict(self._shown)


class RequestsPanel(Vertical):
    """The context budget line over the requests table."""

    def compose(self) -> ComposeResult:
        yield TextLine(budget_text(None), id="context-budget")
        yield RequestsTable(id="requests-table")

    def show(self, rows: dict[str, RequestRow], budget: ContextBudget | None) -> None:
        line = self.query_one("#context-budget", TextLine)
        line.show(budget_text(budget))
        line.set_class(budget is not None and budget.low, "-low")
        self.query_one(RequestsTable).show(rows)
