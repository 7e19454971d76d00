"""The key footer: rebuilt only when its keys change, a key that comes or goes mounted or
removed alone, and the keys it drops freed."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

ShownKey = tuple[str, str, str, bool, str]
"""key, action, description, enabled, tooltip: what one footer key draws."""


def shown_keys(screen: Screen[Any]) -> tuple[list[ShownKey], list[Binding]]:
    """The keys Textual's footer draws for `screen`, in its order (one per action)."""
    keys: list[ShownKey] = []
    bindings: list[Binding] = []
    actions: set[str] = set()
    for _node, binding, enabled, tooltip in screen.active_bindings.values():
        if binding.show and binding.action not in actions:
            actions.add(binding.action)
            keys.append((binding.key, binding.action, binding.description, enabled, tooltip))
            bindings.append(binding)
    return keys, bindings


def one_apart(old: list[ShownKey], new: list[ShownKey]) -> int | None:
    """Where `new` has one key more or one less than `old`, everything else equal."""
    if abs(len(old) - len(new)) != 1:
        return None
    longer, shorter = (old, new) if len(old) > len(new) else (new, old)
    index = next(
        (i for i, (a, b) in enumerate(zip(shorter, longer, strict=False)) if a != b), len(shorter)
    )
    return index if longer[:index] + longer[index + 1 :] == shorter else None


class KeyFooter(Footer):
    """A `Footer` that rebuilds only when it must.

    Textual's footer recomposes (unmounts and mounts every key, restyles them, lays out the
    screen) on every `refresh_bindings`. The monitor refreshes its bindings on every state
    change, and its Interrupt key shows only while the character replies: twice a turn. Here
    unchanged keys skip the rebuild, and one key shown or hidden is mounted or removed alone.
    The bindings carry no groups, so each key is one child, in the order of its action.

    Each key Textual's footer mounts data-binds `compact` to it, and Textual drops such a
    watcher only when `compact` changes, which it never does here: every key it dropped, with
    its styles and caches, stayed alive for the session (a busy session's full garbage
    collections then scanned thousands of them). Announcing `compact` again after a key goes
    makes Textual prune the watchers of the keys no longer attached."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._composed: list[ShownKey] | None = None
        self._rebuilding = False
        self._patching = False

    def bindings_changed(self, screen: Screen[Any]) -> None:
        keys, bindings = shown_keys(screen)
        if keys == self._composed:
            return
        drawn = self.app.app_focus and self.is_attached and screen is self.screen
        index = None if self._composed is None else one_apart(self._composed, keys)
        if (
            drawn
            and not (self._rebuilding or self._patching)
            and self._composed is not None
            and index is not None
        ):
            self._patch(index, keys, bindings)
            return
        if drawn:
            self._composed = keys  # what the rebuild this schedules draws
            self._rebuilding = True
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        self._rebuilding = False
        await super().recompose()
        self.mutate_reactive(Footer.compact)

    def _patch(self, index: int, keys: list[ShownKey], bindings: list[Binding]) -> None:
        assert self._composed is not None
        added = len(keys) > len(self._composed)
        self._composed = keys
        self.styles.grid_size_columns = len(keys)
        self._patching = True  # until done, the children do not match `_composed`
        if not added:
            self.call_next(self._settle, self.children[index].remove())
            return
        key, action, description, enabled, tooltip = keys[index]
        widget = FooterKey(
            key,
            self.app.get_key_display(bindings[index]),
            description,
            action,
            disabled=not enabled,
            tooltip=tooltip,
        )
        widget.set_reactive(FooterKey.compact, self.compact)  # what `data_bind` keeps in step
        widget.set_class(self.compact, "-compact")
        mounted = (
            self.mount(widget, before=index) if index < len(self.children) else self.mount(widget)
        )
        self.call_next(self._settle, mounted)

    async def _settle(self, change: Awaitable[object]) -> None:
        await change
        self._patching = False
        self.mutate_reactive(Footer.compact)
