"""The monitor's footer draws what Textual's footer draws, without rebuilding every key when
the Interrupt key comes and goes (twice a turn) or when the keys did not change at all."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from convai_tui.ui.widgets.footer import KeyFooter, ShownKey, one_apart


class TwoFooters(App[None]):
    """Textual's footer and ours side by side, fed by the same bindings."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit"),
        Binding("ctrl+x", "interrupt", "Interrupt"),
        Binding("f1", "help", "Help"),
        Binding("ctrl+r", "retry", "Retry", tooltip="Retry now"),
    ]
    CSS = "Footer { dock: none; height: 1; }"

    def __init__(self) -> None:
        super().__init__()
        self.replying = False
        self.retry_enabled = True

    def compose(self) -> ComposeResult:
        yield Footer(id="textual", compact=True)
        yield KeyFooter(id="ours", compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "interrupt":
            return self.replying
        if action == "retry":
            return True if self.retry_enabled else None  # None: shown, disabled
        return True

    def action_interrupt(self) -> None: ...
    def action_help(self) -> None: ...
    def action_retry(self) -> None: ...


def drawn(footer: Footer) -> list[tuple[Any, ...]]:
    return [
        (
            key.key,
            key.description,
            key.disabled,
            sorted(key.classes),
            key.region.x,
            key.region.width,
        )
        for key in footer.query(FooterKey)
    ]


async def test_the_footer_draws_what_textuals_draws_and_patches_a_single_key() -> None:
    app = TwoFooters()
    async with app.run_test(size=(100, 6)) as pilot:
        await pilot.pause()
        ours = app.query_one("#ours", KeyFooter)
        theirs = app.query_one("#textual", Footer)
        rebuilds = 0
        recompose = ours.recompose

        async def counting() -> None:
            nonlocal rebuilds
            rebuilds += 1
            await recompose()

        ours.recompose = counting  # type: ignore[method-assign]

        async def change(**state: bool) -> None:
            for name, value in state.items():
                setattr(app, name, value)
            app.refresh_bindings()
            await pilot.pause()
            await pilot.pause()

        assert drawn(ours) == drawn(theirs) and "ctrl+x" not in [k[0] for k in drawn(ours)]
        for replying in (True, False, True, False):
            await change(replying=replying)
            assert ("ctrl+x" in [k[0] for k in drawn(ours)]) is replying
            assert drawn(ours) == drawn(theirs)
        await change()  # the same keys again
        assert rebuilds == 0
        await change(retry_enabled=False)  # a key changes state: rebuilt like Textual's
        assert drawn(ours) == drawn(theirs)
        assert rebuilds == 1


def key(name: str) -> ShownKey:
    return (name, name, name, True, "")


def test_one_apart_finds_the_single_key_that_came_or_went() -> None:
    a, b, c, d = key("a"), key("b"), key("c"), key("d")
    assert one_apart([a, c], [a, b, c]) == 1
    assert one_apart([a, b, c], [a, c]) == 1
    assert one_apart([a, b], [a, b, c]) == 2
    assert one_apart([b, c], [a, b, c]) == 0
    assert one_apart([a, b], [a, b]) is None
    assert one_apart([a, b], [c, a, d]) is None
    assert one_apart([a, b], [a, b, c, d]) is None
    assert one_apart([a, b], [b, a, c]) is None
