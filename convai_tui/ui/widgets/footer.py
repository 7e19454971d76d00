"""The key footer: Textual's `Footer`, rebuilt only when the keys it shows change, and without
the keys it leaves behind each time it does."""

from __future__ import annotations

from collections.abc import Hashable

from textual.widgets import Footer


class KeysFooter(Footer):
    """Textual's footer rebuilds all its keys on every request to refresh the bindings: a
    batch of events that touches the errors, the state or the reply asks for one, so a busy
    session rebuilt it tens of times a second, each time restyling every key and leaving a few
    thousand objects for the garbage collector. This one rebuilds when what it would show
    differs from what it shows.

    Each key also data-binds `compact` to the footer, and Textual drops such a watcher only
    when the watched value changes, which `compact` never does: every removed key, with its
    styles and caches, stayed alive for the whole session. Re-announcing `compact` after a
    rebuild makes Textual prune the watchers of the keys it closed."""

    def __init__(self, *, id: str | None = None, compact: bool = False) -> None:
        super().__init__(id=id, compact=compact)
        self._shown: Hashable = None

    def shown_keys(self) -> Hashable:
        """Everything `Footer.compose` reads; None until the bindings are ready."""
        if not self._bindings_ready:
            return None
        app = self.app
        palette_key = app.COMMAND_PALETTE_BINDING
        keys = tuple(
            (
                key,
                active.binding,
                active.enabled,
                active.tooltip,
                app.get_key_display(active.binding),
            )
            for key, active in self.screen.active_bindings.items()
            if active.binding.show or key == palette_key
        )
        flags = (self.compact, self.show_command_palette, self.combine_groups)
        return flags, app.ENABLE_COMMAND_PALETTE, keys

    async def recompose(self) -> None:
        if not self.is_attached:
            return
        shown = self.shown_keys()
        if shown is not None and shown == self._shown:
            return
        await super().recompose()
        self._shown = shown
        self.mutate_reactive(Footer.compact)
